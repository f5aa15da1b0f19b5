// Verify: is every node identical to the primary? Collection by collection, each node's records are read
// (ids first, then pages by id, so concurrent deletes cannot shift a page) and reduced to one digest per
// record over its embedding (float32 bytes, whether the node answers arrays or base64), document and
// metadata (keys sorted); digests are compared, naming missing, extra and different records. It runs
// against log positions: a collection is compared only once both nodes have applied its last committed
// write, and a difference counts only if no write to that collection landed during the comparison
// (otherwise it is compared again), so concurrent writes are not reported as differences.
import { createHash } from 'node:crypto';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { CollectionRecord } from '../store/types.js';
import type { Catalog } from './catalog.js';
import type { ReplicationLog } from './log.js';
import { MARKER_TENANT } from './identity.js';

const PAGE = 500;
const ATTEMPTS = 3;
const EXAMPLES = 5;

export interface VerifyDeps {
  cluster: Cluster;
  catalog: Catalog;
  log: ReplicationLog;
  timeoutMs: number;
  /** How long a node may take to reach the position a comparison needs. */
  settleTimeoutMs?: number;
}

export interface RecordDiff {
  missing: string[];
  extra: string[];
  different: string[];
}

export interface CollectionDiff extends RecordDiff {
  collection: CollectionRecord;
  primaryCount: number;
  nodeCount: number;
  metadataDiffers: boolean;
}

export interface NodeVerification {
  node: ClusterNode;
  /** Why the node could not be compared (down, being refilled, not at the position). */
  unavailable: string | null;
  missingCollections: CollectionRecord[];
  /** Collections on the node that the catalog does not know: [tenant, database, name, local id]. */
  extraCollections: Array<{ tenant: string; database: string; name: string; localId: string }>;
  differing: CollectionDiff[];
  collectionsCompared: number;
  recordsCompared: number;
}

export interface Verification {
  position: number;
  primary: ClusterNode;
  nodes: NodeVerification[];
  identical: boolean;
  durationMs: number;
}

/** The report as JSON (HTTP API and CLI): counts and a few example ids per differing collection. */
export function verificationReport(v: Verification) {
  return {
    identical: v.identical,
    position: v.position,
    primary: v.primary.name,
    durationMs: Math.round(v.durationMs),
    nodes: v.nodes.map((n) => ({
      node: n.node.name,
      role: n.node.role,
      identical: isIdentical(n),
      unavailable: n.unavailable,
      collectionsCompared: n.collectionsCompared,
      recordsCompared: n.recordsCompared,
      missingCollections: n.missingCollections.map((c) => `${c.tenant}/${c.database}/${c.name}`),
      extraCollections: n.extraCollections.map((c) => `${c.tenant}/${c.database}/${c.name}`),
      collections: n.differing.map((d) => ({
        collection: `${d.collection.tenant}/${d.collection.database}/${d.collection.name}`,
        id: d.collection.stableId,
        primaryCount: d.primaryCount,
        nodeCount: d.nodeCount,
        missing: d.missing.length,
        extra: d.extra.length,
        different: d.different.length,
        metadataDiffers: d.metadataDiffers,
        examples: [...d.missing, ...d.extra, ...d.different].slice(0, EXAMPLES),
      })),
    })),
  };
}

const isIdentical = (n: NodeVerification) =>
  n.unavailable === null && n.missingCollections.length === 0 && n.extraCollections.length === 0 && n.differing.length === 0;

export async function verifyCluster(deps: VerifyDeps, only?: ClusterNode[]): Promise<Verification> {
  const started = performance.now();
  const { cluster, log } = deps;
  const primary = cluster.primary;
  const position = log.committedHead;
  const nodes: NodeVerification[] = [];
  for (const node of only ?? cluster.nodes.filter((n) => n !== primary)) {
    nodes.push(await verifyNode(deps, primary, node, position));
  }
  return { position, primary, nodes, identical: nodes.every(isIdentical), durationMs: performance.now() - started };
}

async function verifyNode(deps: VerifyDeps, primary: ClusterNode, node: ClusterNode, position: number): Promise<NodeVerification> {
  const { catalog, timeoutMs } = deps;
  const result: NodeVerification = { node, unavailable: null, missingCollections: [], extraCollections: [], differing: [], collectionsCompared: 0, recordsCompared: 0 };
  const ready = (n: ClusterNode) => n.isUp && n.isMember && n.syncState !== 'diverged';
  if (!ready(primary)) return { ...result, unavailable: `the primary ${primary.name} is ${primary.isUp ? primary.lifecycle : 'down'}` };
  if (!ready(node)) return { ...result, unavailable: `${node.name} is ${!node.isUp ? 'down' : node.syncState === 'diverged' ? 'diverged' : node.lifecycle}` };
  if (!(await settle(deps, [primary, node], position))) return { ...result, unavailable: `${node.name} did not reach log position ${position}` };

  const io = new Reader(timeoutMs);
  for (const c of catalog.live()) {
    const primaryId = catalog.localId(primary.id, c.stableId);
    if (!primaryId) continue; // the primary does not hold it either: nothing to compare against
    if (!catalog.localId(node.id, c.stableId)) {
      result.missingCollections.push(c);
      continue;
    }
    const diff = await compareCollection(deps, io, primary, node, c);
    result.collectionsCompared++;
    result.recordsCompared += diff.primaryCount;
    if (diff.missing.length + diff.extra.length + diff.different.length > 0 || diff.metadataDiffers) result.differing.push(diff);
  }
  result.extraCollections = await unknownCollections(io, catalog, node);
  return result;
}

/**
 * Compares one collection once both nodes have applied its last committed write. Records that differ are
 * then compared again, alone, after both nodes have applied everything logged so far (a write being decided
 * by the primary during the read is on the primary before it counts as committed); what still differs after
 * a few such rounds is reported.
 */
async function compareCollection(deps: VerifyDeps, io: Reader, primary: ClusterNode, node: ClusterNode, c: CollectionRecord): Promise<CollectionDiff> {
  const { log, catalog } = deps;
  const primaryId = catalog.localId(primary.id, c.stableId)!;
  const nodeId = catalog.localId(node.id, c.stableId)!;
  await settle(deps, [primary, node], log.requiredFor(c.stableId));
  const [p, n] = await Promise.all([io.collection(primary, c, primaryId), io.collection(node, c, nodeId)]);
  let records = diffDigests(p.digests, n.digests);
  let metadataDiffers = p.metadata !== n.metadata;
  for (let round = 1; round <= ATTEMPTS && (count(records) > 0 || metadataDiffers); round++) {
    await settle(deps, [primary, node], log.head);
    const ids = [...records.missing, ...records.extra, ...records.different];
    const [pd, nd] = await Promise.all([io.collection(primary, c, primaryId, ids), io.collection(node, c, nodeId, ids)]);
    records = diffDigests(pd.digests, nd.digests);
    metadataDiffers = pd.metadata !== nd.metadata;
  }
  return { collection: c, ...records, primaryCount: p.digests.size, nodeCount: n.digests.size, metadataDiffers };
}

const count = (d: RecordDiff) => d.missing.length + d.extra.length + d.different.length;

/** Waits until every node has applied up to `position`; false if one does not within the deadline. */
async function settle(deps: VerifyDeps, nodes: ClusterNode[], position: number): Promise<boolean> {
  const deadline = Date.now() + (deps.settleTimeoutMs ?? 30_000);
  while (nodes.some((n) => n.appliedSeq < position)) {
    if (Date.now() > deadline || nodes.some((n) => !n.isUp)) return false;
    await deps.log.changed.wait(100);
  }
  return true;
}

/** Records on one side only, and records whose digests differ. */
export function diffDigests(primary: Map<string, string>, node: Map<string, string>): RecordDiff {
  const missing: string[] = [];
  const different: string[] = [];
  for (const [id, digest] of primary) {
    const other = node.get(id);
    if (other === undefined) missing.push(id);
    else if (other !== digest) different.push(id);
  }
  const extra = [...node.keys()].filter((id) => !primary.has(id));
  return { missing, extra, different };
}

/** One record's digest: float32-exact embedding, document, metadata with keys in order. */
export function recordDigest(embedding: unknown, document: unknown, metadata: unknown, uri?: unknown): string {
  const h = createHash('sha256');
  if (typeof embedding === 'string') h.update(Buffer.from(embedding, 'base64'));
  else if (Array.isArray(embedding)) h.update(Buffer.from(new Float32Array(embedding as number[]).buffer));
  h.update('\u0000');
  h.update(JSON.stringify(document ?? null));
  h.update('\u0000');
  h.update(canonicalJson(metadata ?? null));
  h.update('\u0000');
  h.update(JSON.stringify(uri ?? null));
  return h.digest('base64');
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Collections a node holds (in the tenants the catalog knows) that the catalog does not map for it. */
async function unknownCollections(io: Reader, catalog: Catalog, node: ClusterNode) {
  const out: NodeVerification['extraCollections'] = [];
  const tenants = new Set(['default_tenant', ...catalog.live().map((c) => c.tenant)]);
  for (const tenant of tenants) {
    if (tenant === MARKER_TENANT) continue;
    const dbs = await io.json<Array<{ name: string }>>(node, 'GET', `/api/v2/tenants/${enc(tenant)}/databases`).catch(() => []);
    for (const db of dbs) {
      for (let offset = 0; ; offset += 100) {
        const page = await io.json<Array<{ id: string; name: string }>>(node, 'GET', `/api/v2/tenants/${enc(tenant)}/databases/${enc(db.name)}/collections?limit=100&offset=${offset}`);
        for (const c of page) if (!catalog.stableId(node.id, c.id)) out.push({ tenant, database: db.name, name: c.name, localId: c.id });
        if (page.length < 100) break;
      }
    }
  }
  return out;
}

/** Reads a node's collections for comparison and repair. */
export class Reader {
  constructor(private readonly timeoutMs: number) {}

  async json<T>(node: ClusterNode, method: string, path: string, body?: unknown): Promise<T> {
    const r = await node.client.requestJson({ method, path, body: body === undefined ? null : Buffer.from(JSON.stringify(body)), timeoutMs: this.timeoutMs });
    if (r.status !== 200) throw new Error(`${node.name}: ${method} ${path} answered ${r.status}: ${r.text.slice(0, 200)}`);
    return JSON.parse(r.text) as T;
  }

  /** Digest of every record (or of the given ids) and the canonical collection metadata. */
  async collection(node: ClusterNode, c: CollectionRecord, localId: string, ids?: string[]): Promise<{ digests: Map<string, string>; metadata: string }> {
    const base = `/api/v2/tenants/${enc(c.tenant)}/databases/${enc(c.database)}/collections`;
    const described = await this.json<{ metadata: unknown }>(node, 'GET', `${base}/${enc(c.name)}`);
    const digests = new Map<string, string>();
    for await (const page of this.records(node, `${base}/${enc(localId)}`, ids)) {
      page.ids.forEach((id, i) => digests.set(id, recordDigest(page.embeddings?.[i], page.documents?.[i], page.metadatas?.[i], page.uris?.[i])));
    }
    return { digests, metadata: canonicalJson(described.metadata ?? null) };
  }

  /** Every record of a collection, in pages; or only the given ids. */
  async *records(node: ClusterNode, collectionPath: string, ids?: string[]) {
    const all = ids ?? (await this.json<{ ids: string[] }>(node, 'POST', `${collectionPath}/get`, { include: [] })).ids;
    for (let i = 0; i < all.length; i += PAGE) {
      yield await this.json<RecordPage>(node, 'POST', `${collectionPath}/get`, {
        ids: all.slice(i, i + PAGE),
        include: ['embeddings', 'documents', 'metadatas', 'uris'],
      });
    }
  }
}

export interface RecordPage {
  ids: string[];
  embeddings: unknown[] | null;
  documents: Array<string | null> | null;
  metadatas: Array<Record<string, unknown> | null> | null;
  uris: Array<string | null> | null;
}

const enc = encodeURIComponent;
