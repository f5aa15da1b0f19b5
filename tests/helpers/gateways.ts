// Several gateways on one PostgreSQL log: a client that sends to whichever gateway is up (as a load balancer
// would), and what the log says a collection should hold. Used by tests/replication/two-gateways.test.ts and
// rolling-deploy.test.ts.
import { request as httpRequest } from 'node:http';
import pg from 'pg';
import type { RecordRow } from './replication.js';

export interface Answer {
  status: number;
  text: string;
  json: any;
}

/** One request on a connection of its own (no keep-alive), as a load balancer's fresh connection to a backend. */
function exchange(base: string, method: string, path: string, body: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = httpRequest(`${base}${path}`, { method, agent: false, headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Sends each request to the next gateway in turn; a gateway that refuses the connection (stopped, or not yet
 * listening) is skipped for the next one, as a load balancer's connect failure is retried elsewhere. Any other
 * failure, and every answer, is the client's: the caller decides whether it is an error.
 */
export class LoadBalancer {
  private readonly backends: string[] = [];
  private turn = 0;
  /** Connections refused and retried on another gateway. */
  refused = 0;

  add(url: string): void {
    this.backends.push(url);
  }

  remove(url: string): void {
    const i = this.backends.indexOf(url);
    if (i >= 0) this.backends.splice(i, 1);
  }

  async send(method: string, path: string, body?: unknown): Promise<Answer> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const backends = [...this.backends];
      const base = backends[this.turn++ % backends.length]!;
      try {
        return await exchange(base, method, path, body);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ECONNREFUSED' || Date.now() > deadline) throw err;
        this.refused++;
      }
    }
  }
}

/** The collection's committed record writes in log order, replayed as Chroma applies them (add keeps an existing id). */
export async function replayLog(databaseUrl: string, collectionId: string): Promise<RecordRow[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const rows = (await db.query(`SELECT op, request_body FROM log_entries WHERE collection_id = $1 AND state = 'committed' AND op IN ('add', 'upsert', 'update', 'delete') ORDER BY seq`, [collectionId])).rows;
    const records = new Map<string, RecordRow>();
    for (const r of rows) {
      const b = JSON.parse(Buffer.from(r.request_body).toString('utf8'));
      (b.ids as string[]).forEach((id, i) => {
        const row = { id, embedding: b.embeddings?.[i] ?? null, document: b.documents?.[i] ?? null, metadata: null };
        if (r.op === 'delete') records.delete(id);
        else if (r.op === 'upsert' || (r.op === 'add' && !records.has(id))) records.set(id, row);
      });
    }
    return [...records.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  } finally {
    await db.end();
  }
}

/** Request bodies of the collection's committed entries, as stored: to show an acknowledged write is in the log. */
export async function committedBodies(databaseUrl: string, collectionId: string): Promise<string[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const rows = (await db.query(`SELECT request_body FROM log_entries WHERE collection_id = $1 AND state = 'committed' AND request_body IS NOT NULL`, [collectionId])).rows;
    return rows.map((r) => Buffer.from(r.request_body).toString('utf8'));
  } finally {
    await db.end();
  }
}

/** The applier lease row as PostgreSQL holds it: who holds it and until when (PostgreSQL's clock, ms). */
export async function leaseRow(databaseUrl: string): Promise<{ holder: string; expiresAt: number } | null> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const r = await client.query(`SELECT holder, expires_at FROM applier_lease WHERE name = 'applier'`);
    const row = r.rows[0] as { holder: string; expires_at: string } | undefined;
    return row ? { holder: row.holder, expiresAt: Number(row.expires_at) } : null;
  } finally {
    await client.end();
  }
}
