// Helpers for backup and restore tests and the backup benchmark: running the compiled CLI, filling a
// collection through the gateway in large batches, and one digest per record of everything a node holds
// (verify's canonical digests: float32 embedding bytes, document, metadata with sorted keys, uri).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, cliEnv, http } from './cluster.js';
import { seedRecord } from './lifecycle.js';
import { canonicalJson, recordDigest } from '../../src/replication/verify.js';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `chroma-ha ARGS` as a user would; never throws on a non-zero exit. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return run(process.execPath, [CLI, ...args], { env: cliEnv(env), maxBuffer: 64 * 1024 * 1024 }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

const dbPath = (database: string) => `/api/v2/tenants/default_tenant/databases/${encodeURIComponent(database)}`;

/** Creates a collection through the gateway and adds seedRecord(name, 0..records-1), `batch` records per add. */
export async function fillThroughGateway(
  base: string,
  database: string,
  name: string,
  records: number,
  dimensions: number,
  options: { metadata?: Record<string, unknown>; batch?: number; uris?: boolean } = {},
): Promise<string> {
  if (database !== 'default_database') {
    const db = await http(base, 'POST', '/api/v2/tenants/default_tenant/databases', { name: database });
    if (db.status !== 200 && db.status !== 409) throw new Error(`create database ${database}: ${db.status} ${db.text}`);
  }
  const created = await http(base, 'POST', `${dbPath(database)}/collections`, { name, ...(options.metadata ? { metadata: options.metadata } : {}) });
  if (created.status !== 200) throw new Error(`create ${name}: ${created.status} ${created.text}`);
  const batch = options.batch ?? 1_000;
  for (let start = 0; start < records; start += batch) {
    const recs = Array.from({ length: Math.min(batch, records - start) }, (_, k) => seedRecord(name, start + k, dimensions));
    const r = await http(base, 'POST', `${dbPath(database)}/collections/${created.json.id}/add`, {
      ids: recs.map((x) => x.id),
      // base64 float32, as the JS client sends them: a quarter of the JSON to parse.
      embeddings: recs.map((x) => Buffer.from(new Float32Array(x.embedding).buffer).toString('base64')),
      documents: recs.map((x) => x.document),
      metadatas: recs.map((x) => x.metadata),
      ...(options.uris ? { uris: recs.map((x) => `s3://bucket/${x.id}`) } : {}),
    });
    if (r.status !== 201) throw new Error(`add to ${name}: ${r.status} ${r.text}`);
  }
  return created.json.id as string;
}

export interface CollectionDigests {
  metadata: string;
  records: Map<string, string>;
}

/** Every collection of the given databases on a node (name -> canonical metadata and per-record digests). */
export async function nodeDigests(nodeUrl: string, databases: string[]): Promise<Map<string, CollectionDigests>> {
  const out = new Map<string, CollectionDigests>();
  for (const db of databases) {
    const listed = await http(nodeUrl, 'GET', `${dbPath(db)}/collections?limit=100`);
    if (listed.status !== 200) throw new Error(`list ${db} on ${nodeUrl}: ${listed.status} ${listed.text}`);
    for (const c of listed.json as Array<{ id: string; name: string; metadata: unknown }>) {
      const path = `${dbPath(db)}/collections/${c.id}`;
      const ids = (await http(nodeUrl, 'POST', `${path}/get`, { include: [] })).json.ids as string[];
      const records = new Map<string, string>();
      for (let i = 0; i < ids.length; i += 1_000) {
        const page = (await http(nodeUrl, 'POST', `${path}/get`, { ids: ids.slice(i, i + 1_000), include: ['embeddings', 'documents', 'metadatas', 'uris'] })).json;
        page.ids.forEach((id: string, k: number) => records.set(id, recordDigest(page.embeddings?.[k], page.documents?.[k], page.metadatas?.[k], page.uris?.[k])));
      }
      out.set(`${db}/${c.name}`, { metadata: canonicalJson(c.metadata ?? null), records });
    }
  }
  return out;
}
