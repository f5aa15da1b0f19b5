// Fills a node by copy from an in-sync source: tenants and databases, then every live collection
// (metadata and configuration) and its records, page by page (ids, embeddings, documents, metadata, uris).
// The caller notes the source's log position first and lets the node follow the log from there, so
// writes that land during the copy are re-applied afterwards (harmless: upsert, update and delete are
// idempotent, an add of an existing id is ignored). Each collection is created afresh on the target (a
// namesake left there, from an older disk or an interrupted copy, is dropped first), so records go in with
// `add`, which Chroma takes about half again as fast as `upsert` (measured). One request at a time per
// target collection: Chroma's index must never see two writes to one collection in flight
// (docs/chroma-notes.md). Records are read by id, after listing the ids once, so a delete during the copy
// cannot shift an offset and skip a record.
import type { ClusterNode } from '../cluster/node.js';
import type { CollectionRecord, ReplicationStore } from '../store/types.js';
import type { Catalog } from './catalog.js';

// Chroma's add costs about half as much CPU per record in batches of 2,000 as in batches of 500 (0.39 vs
// ~0.6 CPU-ms per 384-d record, measured), and the target's add is what bounds a copy. 2,000 stays well under
// the max_batch_size Chroma 1.0.x announces (5,461) and keeps a page of 384-d records around 4 MB.
const PAGE = 2_000;

export interface CopyProgress {
  node: string;
  source: string;
  /** The source's log position the copy is consistent with (the node follows the log from here). */
  fromPosition: number;
  startedAt: number;
  collectionsTotal: number;
  collectionsCopied: number;
  recordsTotal: number;
  recordsCopied: number;
}

export interface CopyDeps {
  catalog: Catalog;
  store: ReplicationStore;
  timeoutMs: number;
  /** Called after every page, for /status, /metrics and logs. */
  onProgress?: (p: CopyProgress) => void;
  signal?: AbortSignal;
}

interface RecordPage {
  ids: string[];
  embeddings: unknown[] | null;
  documents: Array<string | null> | null;
  metadatas: Array<Record<string, unknown> | null> | null;
  uris: Array<string | null> | null;
}

/** Records copied per second and seconds left, from a progress snapshot. */
export function copyRate(p: CopyProgress, now = Date.now()): { perSecond: number; etaSeconds: number | null } {
  const seconds = Math.max(0.001, (now - p.startedAt) / 1000);
  const perSecond = p.recordsCopied / seconds;
  const left = Math.max(0, p.recordsTotal - p.recordsCopied);
  return { perSecond: Math.round(perSecond), etaSeconds: perSecond > 0 ? Math.round(left / perSecond) : left === 0 ? 0 : null };
}

export async function copyNode(source: ClusterNode, target: ClusterNode, fromPosition: number, deps: CopyDeps): Promise<CopyProgress> {
  const { catalog } = deps;
  const collections = catalog.live().filter((c) => catalog.localId(source.id, c.stableId) !== undefined);
  const progress: CopyProgress = {
    node: target.name,
    source: source.name,
    fromPosition,
    startedAt: Date.now(),
    collectionsTotal: collections.length,
    collectionsCopied: 0,
    recordsTotal: 0,
    recordsCopied: 0,
  };
  const io = new NodeIo(deps);
  await copyDatabases(io, source, target, new Set(['default_tenant', ...collections.map((c) => c.tenant)]));
  for (const c of collections) {
    const n = await io.json<number>(source, 'GET', `${recordsPath(c, catalog.localId(source.id, c.stableId)!)}/count`);
    progress.recordsTotal += n;
  }
  deps.onProgress?.(progress);
  for (const c of collections) {
    await copyCollection(io, source, target, c, progress);
    progress.collectionsCopied++;
    deps.onProgress?.(progress);
  }
  return progress;
}

async function copyDatabases(io: NodeIo, source: ClusterNode, target: ClusterNode, tenants: Set<string>): Promise<void> {
  for (const tenant of tenants) {
    await io.send(target, 'POST', '/api/v2/tenants', { name: tenant }, [200, 409]);
    const dbs = await io.json<Array<{ name: string }>>(source, 'GET', `/api/v2/tenants/${enc(tenant)}/databases`);
    for (const db of dbs) await io.send(target, 'POST', `/api/v2/tenants/${enc(tenant)}/databases`, { name: db.name }, [200, 409]);
  }
}

/** Copies one collection afresh onto a node (also used by repair for a collection the node lacks). */
export async function copyOneCollection(source: ClusterNode, target: ClusterNode, c: CollectionRecord, deps: CopyDeps): Promise<void> {
  const progress: CopyProgress = { node: target.name, source: source.name, fromPosition: 0, startedAt: Date.now(), collectionsTotal: 1, collectionsCopied: 0, recordsTotal: 0, recordsCopied: 0 };
  await copyCollection(new NodeIo(deps), source, target, c, progress);
}

async function copyCollection(io: NodeIo, source: ClusterNode, target: ClusterNode, c: CollectionRecord, progress: CopyProgress): Promise<void> {
  const { catalog, store } = io.deps;
  const sourceId = catalog.localId(source.id, c.stableId)!;
  const found = await io.send(source, 'GET', `${collectionsPath(c)}/${enc(c.name)}`, undefined, [200, 404]);
  const described = JSON.parse(found) as { id?: string; metadata: unknown; configuration_json?: unknown };
  // Deleted on the source since the list was taken: its delete is in the log after the copy's position.
  if (described.id !== sourceId) return;
  await io.send(target, 'DELETE', `${collectionsPath(c)}/${enc(c.name)}`, undefined, [200, 404]);
  const created = await io.json<{ id: string }>(target, 'POST', collectionsPath(c), {
    name: c.name,
    metadata: described.metadata ?? undefined,
    configuration: described.configuration_json ?? undefined,
  });
  const mapping = { mappings: [{ stableId: c.stableId, nodeId: target.id, localId: created.id }] };
  await store.saveCatalog(mapping);
  catalog.apply(mapping);

  const all = await io.json<{ ids: string[] }>(source, 'POST', `${recordsPath(c, sourceId)}/get`, { include: [] });
  const pages: string[][] = [];
  for (let i = 0; i < all.ids.length; i += PAGE) pages.push(all.ids.slice(i, i + PAGE));
  const read = (ids: string[]) =>
    io.json<RecordPage>(source, 'POST', `${recordsPath(c, sourceId)}/get`, { ids, include: ['embeddings', 'documents', 'metadatas', 'uris'] });
  // Reading page k+1 from the source overlaps writing page k to the target; writes stay one at a time.
  let next = pages.length > 0 ? read(pages[0]!) : null;
  for (let i = 0; i < pages.length; i++) {
    const page = await next!;
    next = i + 1 < pages.length ? read(pages[i + 1]!) : null;
    next?.catch(() => undefined); // awaited on the next turn; an early failure must not go unhandled meanwhile
    if (page.ids.length > 0) await io.send(target, 'POST', `${recordsPath(c, created.id)}/add`, addBody(page), [200, 201]);
    progress.recordsCopied += pages[i]!.length;
    io.deps.onProgress?.(progress);
  }
}

/** The page as an add body; embeddings as base64 float32, which is exact and the cheapest for Chroma to parse. */
function addBody(page: RecordPage): Record<string, unknown> {
  const body: Record<string, unknown> = { ids: page.ids };
  if (page.embeddings) body.embeddings = page.embeddings.map(toBase64);
  if (page.documents && page.documents.some((d) => d !== null)) body.documents = page.documents;
  if (page.metadatas && page.metadatas.some((m) => m !== null)) body.metadatas = page.metadatas;
  if (page.uris && page.uris.some((u) => u !== null)) body.uris = page.uris;
  return body;
}

function toBase64(e: unknown): unknown {
  if (!Array.isArray(e)) return e; // already base64 (a newer server may answer so)
  return Buffer.from(new Float32Array(e as number[]).buffer).toString('base64');
}

class NodeIo {
  constructor(readonly deps: CopyDeps) {}

  async send(node: ClusterNode, method: string, path: string, body: unknown, okStatuses: number[]): Promise<string> {
    const r = await node.client.requestJson({
      method,
      path,
      body: body === undefined ? null : Buffer.from(JSON.stringify(body)),
      timeoutMs: this.deps.timeoutMs,
      signal: this.deps.signal,
    });
    if (!okStatuses.includes(r.status)) throw new Error(`${node.name}: ${method} ${path} answered ${r.status}: ${r.text.slice(0, 200)}`);
    return r.text;
  }

  async json<T>(node: ClusterNode, method: string, path: string, body?: unknown): Promise<T> {
    return JSON.parse(await this.send(node, method, path, body, [200])) as T;
  }
}

const enc = encodeURIComponent;
const collectionsPath = (c: CollectionRecord) => `/api/v2/tenants/${enc(c.tenant)}/databases/${enc(c.database)}/collections`;
const recordsPath = (c: CollectionRecord, localId: string) => `${collectionsPath(c)}/${enc(localId)}`;
