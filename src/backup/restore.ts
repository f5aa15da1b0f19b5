// Restore: loads a backup file into an EMPTY cluster through the gateway's normal API, so the log carries
// every write to every node. Tenants and databases first, then each collection (metadata, configuration)
// and its records, one `add` per records chunk. Chunks are read one at a time and each is verified before
// it is used, so a truncated or corrupted file stops the restore at the first bad chunk, and the report
// says exactly what was loaded before it (every add counted only once the gateway acknowledged it).
import type { Readable } from 'node:stream';
import { readBackup, BackupBroken } from './reader.js';
import type { CollectionChunk, HeaderChunk, RecordsChunk } from './format.js';

export interface RestoreOptions {
  url: string;
  /** Sent as `X-Chroma-Token` when the gateway authenticates clients (CLIENT_AUTH_CREDENTIALS). */
  clientToken?: string;
  onProgress?: (p: { records: number; total: number; collections: number }) => void;
}

export interface RestoredCollection {
  collection: string;
  id: string;
  records: number;
  expected: number;
}

export interface RestoreReport {
  position: number | null;
  source: string | null;
  databasesCreated: number;
  collections: RestoredCollection[];
  records: number;
  complete: boolean;
}

/** The restore stopped: a broken file, a non-empty target, or an answer the gateway refused. */
export class RestoreFailed extends Error {
  constructor(
    message: string,
    readonly report: RestoreReport,
  ) {
    super(message);
  }
}

/** The gateway could not be reached at all (exit code 2). */
export class GatewayUnreachable extends RestoreFailed {}

export async function restoreBackup(file: Readable, opts: RestoreOptions): Promise<RestoreReport> {
  const report: RestoreReport = { position: null, source: null, databasesCreated: 0, collections: [], records: 0, complete: false };
  const api = new GatewayApi(opts, report);
  /** Collections created so far, by their ordinal in the file, with the path of their record routes. */
  const created = new Map<number, { restored: RestoredCollection; path: string }>();
  let header: HeaderChunk | null = null;
  try {
    for await (const chunk of readBackup(file)) {
      if (chunk.t === 'header') {
        header = chunk;
        report.position = chunk.position;
        report.source = chunk.source;
        await refuseNonEmpty(api, chunk);
        await createDatabases(api, chunk, report);
      } else if (chunk.t === 'collection') {
        created.set(chunk.n, await createCollection(api, chunk, report));
      } else if (chunk.t === 'records') {
        const target = created.get(chunk.collection);
        if (!target) throw new RestoreFailed(`records chunk for unknown collection ${chunk.collection}`, report);
        await api.call('POST', `${target.path}/add`, addBody(chunk), [200, 201]);
        target.restored.records += chunk.ids.length;
        report.records += chunk.ids.length;
        opts.onProgress?.({ records: report.records, total: header!.records, collections: report.collections.length });
      } else {
        report.complete = report.records === chunk.records && report.collections.length === chunk.collections;
        if (!report.complete) throw new RestoreFailed(`the end chunk promises ${chunk.records} records in ${chunk.collections} collections, the file held ${report.records} in ${report.collections.length}`, report);
      }
    }
  } catch (err) {
    if (err instanceof BackupBroken) throw new RestoreFailed(`restore stopped: ${err.message}`, report);
    throw err;
  }
  return report;
}

/** Refuses when any collection exists in a tenant the backup uses (or the default tenant). */
async function refuseNonEmpty(api: GatewayApi, header: HeaderChunk): Promise<void> {
  const tenants = new Set(['default_tenant', ...header.databases.map((d) => d.tenant)]);
  const occupied: string[] = [];
  for (const tenant of tenants) {
    const t = await api.call('GET', `/api/v2/tenants/${enc(tenant)}`, undefined, [200, 404]);
    if (t.status === 404) continue;
    const dbs = (await api.call('GET', `/api/v2/tenants/${enc(tenant)}/databases`, undefined, [200])).json as Array<{ name: string }>;
    for (const db of dbs) {
      const n = (await api.call('GET', `/api/v2/tenants/${enc(tenant)}/databases/${enc(db.name)}/collections_count`, undefined, [200])).json as number;
      if (n > 0) occupied.push(`${tenant}/${db.name} holds ${n} collection(s)`);
    }
  }
  if (occupied.length > 0) {
    throw new RestoreFailed(`the target cluster is not empty (${occupied.join('; ')}): restore loads only into an empty cluster, nothing was written`, api.report);
  }
}

async function createDatabases(api: GatewayApi, header: HeaderChunk, report: RestoreReport): Promise<void> {
  for (const tenant of new Set(header.databases.map((d) => d.tenant))) await api.call('POST', '/api/v2/tenants', { name: tenant }, [200, 409]);
  for (const db of header.databases) {
    const r = await api.call('POST', `/api/v2/tenants/${enc(db.tenant)}/databases`, { name: db.name }, [200, 409]);
    if (r.status === 200) report.databasesCreated++;
  }
}

async function createCollection(api: GatewayApi, c: CollectionChunk, report: RestoreReport): Promise<{ restored: RestoredCollection; path: string }> {
  const body: Record<string, unknown> = { name: c.name };
  if (c.metadata) body.metadata = c.metadata;
  if (c.configuration) body.configuration = c.configuration;
  const collections = `/api/v2/tenants/${enc(c.tenant)}/databases/${enc(c.database)}/collections`;
  const id = ((await api.call('POST', collections, body, [200])).json as { id: string }).id;
  const restored = { collection: `${c.tenant}/${c.database}/${c.name}`, id, records: 0, expected: c.records };
  report.collections.push(restored);
  return { restored, path: `${collections}/${enc(id)}` };
}

function addBody(c: RecordsChunk): Record<string, unknown> {
  const body: Record<string, unknown> = { ids: c.ids };
  if (c.embeddings) body.embeddings = c.embeddings;
  if (c.documents?.some((d) => d !== null)) body.documents = c.documents;
  if (c.metadatas?.some((m) => m !== null)) body.metadatas = c.metadatas;
  if (c.uris?.some((u) => u !== null)) body.uris = c.uris;
  return body;
}

class GatewayApi {
  constructor(
    private readonly opts: RestoreOptions,
    readonly report: RestoreReport,
  ) {}

  async call(method: string, path: string, body: unknown, ok: number[]): Promise<{ status: number; json: unknown }> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.opts.url), {
        method,
        headers: { 'content-type': 'application/json', ...(this.opts.clientToken ? { 'x-chroma-token': this.opts.clientToken } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new GatewayUnreachable(`cannot reach the gateway at ${this.opts.url}: ${String((err as Error).cause ?? (err as Error).message)}`, this.report);
    }
    const text = await res.text();
    if (!ok.includes(res.status)) throw new RestoreFailed(`the gateway refused ${method} ${decodeURIComponent(path)}: ${res.status} ${text.slice(0, 300)}`, this.report);
    return { status: res.status, json: text ? (JSON.parse(text) as unknown) : null };
  }
}

const enc = encodeURIComponent;
