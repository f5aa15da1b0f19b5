// Verify: is every node identical to the primary? Collection by collection, each node's records are read
// (ids first, then pages by id, so concurrent deletes cannot shift a page) and reduced to one digest per
// record over its embedding (float32 bytes, whether the node answers arrays or base64), document and
// metadata (keys sorted); digests are compared, naming missing, extra and different records. It runs
// against log positions: a collection is compared only once both nodes have applied its last committed
// write, and a difference counts only if no write to that collection landed during the comparison
// (otherwise it is compared again), so concurrent writes are not reported as differences. Beyond records,
// it compares what holds them: every known tenant and its databases (missing or extra on the node), and
// each collection's metadata and configuration. Load is bounded: one request at a time per node, pages of
// 100 records, and at most VERIFY_RECORDS_PER_SECOND records read (pacer.ts).
import { createHash } from 'node:crypto';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { CollectionRecord } from '../store/types.js';
import type { Catalog } from './catalog.js';
import type { ReplicationLog } from './log.js';
import { MARKER_TENANT } from './identity.js';
import { RecordPacer } from './pacer.js';
import type { KnownTenants } from './tenants.js';

/** Records per read while verifying: small enough that a page never holds a node busy for long. */
const VERIFY_PAGE = 100;
const ATTEMPTS = 3;
const EXAMPLES = 5;

export interface VerifyDeps {
  cluster: Cluster;
  catalog: Catalog;
  log: ReplicationLog;
  timeoutMs: number;
  /** How long a node may take to reach the position a comparison needs. */
  settleTimeoutMs?: number;
  /** The tenants to compare (default: default_tenant and the catalog's). */
  tenants?: KnownTenants;
  /** Most records read per second, over all nodes (0 or absent: no limit). */
  recordsPerSecond?: number;
  /** Stops the comparison (gateway shutdown). */
  signal?: AbortSignal;
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
  configurationDiffers: boolean;
}

export interface NodeVerification {
  node: ClusterNode;
  /** Why the node could not be compared (down, being refilled, not at the position). */
  unavailable: string | null;
  /** Tenants the primary holds and the node lacks. */
  missingTenants: string[];
  /** Databases (tenant/database) on one side only. */
  missingDatabases: Array<{ tenant: string; database: string }>;
  extraDatabases: Array<{ tenant: string; database: string }>;
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
      missingTenants: n.missingTenants,
      missingDatabases: n.missingDatabases.map((d) => `${d.tenant}/${d.database}`),
      extraDatabases: n.extraDatabases.map((d) => `${d.tenant}/${d.database}`),
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
        configurationDiffers: d.configurationDiffers,
        examples: [...d.missing, ...d.extra, ...d.different].slice(0, EXAMPLES),
      })),
    })),
  };
}

/** True when verify found something to repair on the node. */
export const hasDifferences = (n: NodeVerification) =>
  n.missingTenants.length + n.missingDatabases.length + n.extraDatabases.length + n.missingCollections.length + n.extraCollections.length + n.differing.length > 0;

const isIdentical = (n: NodeVerification) => n.unavailable === null && !hasDifferences(n);

export async function verifyCluster(deps: VerifyDeps, only?: ClusterNode[]): Promise<Verification> {
  const started = performance.now();
  const { cluster, log } = deps;
  const primary = cluster.primary;
  const position = log.committedHead;
  const nodes: NodeVerification[] = [];
  const tenants = deps.tenants ? await deps.tenants.list() : ['default_tenant', ...new Set(deps.catalog.live().map((c) => c.tenant))];
  // One pacer for the whole run: the rate bounds what the run reads from all nodes together.
  const io = new Reader(deps.timeoutMs, { pageSize: VERIFY_PAGE, pacer: new RecordPacer(deps.recordsPerSecond ?? 0), signal: deps.signal });
  for (const node of only ?? cluster.nodes.filter((n) => n !== primary)) {
    nodes.push(await verifyNode(deps, io, [...new Set(tenants)], primary, node, position));
  }
  return { position, primary, nodes, identical: nodes.every(isIdentical), durationMs: performance.now() - started };
}

async function verifyNode(deps: VerifyDeps, io: Reader, tenants: string[], primary: ClusterNode, node: ClusterNode, position: number): Promise<NodeVerification> {
  const { catalog } = deps;
  const result: NodeVerification = {
    node,
    unavailable: null,
    missingTenants: [],
    missingDatabases: [],
    extraDatabases: [],
    missingCollections: [],
    extraCollections: [],
    differing: [],
    collectionsCompared: 0,
    recordsCompared: 0,
  };
  const ready = (n: ClusterNode) => n.isUp && n.isMember && n.syncState !== 'diverged';
  if (!ready(primary)) return { ...result, unavailable: `the primary ${primary.name} is ${primary.isUp ? primary.lifecycle : 'down'}` };
  if (!ready(node)) return { ...result, unavailable: `${node.name} is ${!node.isUp ? 'down' : node.syncState === 'diverged' ? 'diverged' : node.lifecycle}` };
  if (!(await settle(deps, [primary, node], position))) return { ...result, unavailable: `${node.name} did not reach log position ${position}` };

  let nodeDatabases = await compareDatabases(io, tenants, primary, node, result);
  // A database created or deleted through the gateway during the comparison may be on the primary only for now:
  // compared again once both nodes have applied everything logged so far; what still differs is reported.
  for (let round = 1; round <= ATTEMPTS && result.missingTenants.length + result.missingDatabases.length + result.extraDatabases.length > 0; round++) {
    await settle(deps, [primary, node], deps.log.head);
    Object.assign(result, { missingTenants: [], missingDatabases: [], extraDatabases: [] });
    nodeDatabases = await compareDatabases(io, tenants, primary, node, result);
  }
  for (const c of catalog.live()) {
    const primaryId = catalog.localId(primary.id, c.stableId);
    if (!primaryId) continue; // the primary does not hold it either: nothing to compare against
    const nodeId = catalog.localId(node.id, c.stableId);
    // Unmapped, or gone from the node (its database dropped, the collection deleted or recreated behind the gateway's back).
    if (!nodeId || !nodeDatabases.has(`${c.tenant}/${c.database}`) || (await io.describe(node, c))?.id !== nodeId) {
      result.missingCollections.push(c);
      continue;
    }
    const diff = await compareCollection(deps, io, primary, node, c);
    result.collectionsCompared++;
    result.recordsCompared += diff.primaryCount;
    if (diff.missing.length + diff.extra.length + diff.different.length > 0 || diff.metadataDiffers || diff.configurationDiffers) result.differing.push(diff);
  }
  result.extraCollections = await unknownCollections(io, catalog, node, nodeDatabases);
  return result;
}

/**
 * Tenants and databases the primary holds that the node lacks, and databases only the node holds. Returns
 * the node's databases (tenant/database) that the primary holds too, the ones whose collections are compared.
 */
async function compareDatabases(io: Reader, tenants: string[], primary: ClusterNode, node: ClusterNode, result: NodeVerification): Promise<Set<string>> {
  const shared = new Set<string>();
  for (const tenant of tenants) {
    if (tenant === MARKER_TENANT) continue;
    const onPrimary = await io.databases(primary, tenant);
    if (onPrimary === null) continue; // not on the primary (a reset): nothing the node should hold
    const onNode = await io.databases(node, tenant);
    if (onNode === null) result.missingTenants.push(tenant);
    for (const database of onPrimary) {
      if (onNode?.includes(database)) shared.add(`${tenant}/${database}`);
      else result.missingDatabases.push({ tenant, database });
    }
    for (const database of onNode ?? []) if (!onPrimary.includes(database)) result.extraDatabases.push({ tenant, database });
  }
  return shared;
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
  // The two nodes are read side by side, each one request at a time.
  const [p, n] = await Promise.all([io.collection(primary, c, primaryId), io.collection(node, c, nodeId)]);
  let records = diffDigests(p.digests, n.digests);
  let metadataDiffers = p.metadata !== n.metadata;
  let configurationDiffers = p.configuration !== n.configuration;
  for (let round = 1; round <= ATTEMPTS && (count(records) > 0 || metadataDiffers || configurationDiffers); round++) {
    await settle(deps, [primary, node], log.head);
    const ids = [...records.missing, ...records.extra, ...records.different];
    const [pd, nd] = await Promise.all([io.collection(primary, c, primaryId, ids), io.collection(node, c, nodeId, ids)]);
    records = diffDigests(pd.digests, nd.digests);
    metadataDiffers = pd.metadata !== nd.metadata;
    configurationDiffers = pd.configuration !== nd.configuration;
  }
  return { collection: c, ...records, primaryCount: p.digests.size, nodeCount: n.digests.size, metadataDiffers, configurationDiffers };
}

const count = (d: RecordDiff) => d.missing.length + d.extra.length + d.different.length;

/** Waits until every node has applied up to `position`; false if one does not within the deadline. */
async function settle(deps: VerifyDeps, nodes: ClusterNode[], position: number): Promise<boolean> {
  const deadline = Date.now() + (deps.settleTimeoutMs ?? 30_000);
  while (nodes.some((n) => n.appliedSeq < position)) {
    if (Date.now() > deadline || nodes.some((n) => !n.isUp) || deps.signal?.aborted) return false;
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

/** Collections the node holds, in the databases it shares with the primary, that the catalog does not map for it. */
async function unknownCollections(io: Reader, catalog: Catalog, node: ClusterNode, databases: Set<string>) {
  const out: NodeVerification['extraCollections'] = [];
  for (const key of databases) {
    const [tenant, database] = key.split('/') as [string, string];
    for (let offset = 0; ; offset += 100) {
      const page = await io.json<Array<{ id: string; name: string }>>(node, 'GET', `/api/v2/tenants/${enc(tenant)}/databases/${enc(database)}/collections?limit=100&offset=${offset}`);
      for (const c of page) if (!catalog.stableId(node.id, c.id)) out.push({ tenant, database, name: c.name, localId: c.id });
      if (page.length < 100) break;
    }
  }
  return out;
}

export interface ReaderOptions {
  /** Records per read (default 500, what backup uses). */
  pageSize?: number;
  pacer?: RecordPacer;
  signal?: AbortSignal;
}

/** Reads a node's collections for comparison, repair and backup. */
export class Reader {
  private readonly pageSize: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly options: ReaderOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 500;
  }

  async json<T>(node: ClusterNode, method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(node, method, path, body);
    if (r.status !== 200) throw new Error(`${node.name}: ${method} ${path} answered ${r.status}: ${r.text.slice(0, 200)}`);
    return JSON.parse(r.text) as T;
  }

  /** The collection by name on the node, or null when the node has no collection of that name. */
  async describe(node: ClusterNode, c: CollectionRecord): Promise<{ id: string; metadata: unknown; configuration_json?: unknown } | null> {
    const r = await this.request(node, 'GET', `${collectionsPath(c)}/${enc(c.name)}`);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`${node.name}: GET collection ${c.name} answered ${r.status}: ${r.text.slice(0, 200)}`);
    return JSON.parse(r.text) as { id: string; metadata: unknown; configuration_json?: unknown };
  }

  /** A tenant's database names on the node, or null when the node lacks the tenant. */
  async databases(node: ClusterNode, tenant: string): Promise<string[] | null> {
    // Chroma lists no databases, with 200, for a tenant it does not have: ask for the tenant itself first.
    const t = await this.request(node, 'GET', `/api/v2/tenants/${enc(tenant)}`);
    if (t.status === 404) return null;
    if (t.status !== 200) throw new Error(`${node.name}: GET tenant ${tenant} answered ${t.status}: ${t.text.slice(0, 200)}`);
    return (await this.json<Array<{ name: string }>>(node, 'GET', `/api/v2/tenants/${enc(tenant)}/databases`)).map((d) => d.name);
  }

  /** Digest of every record (or of the given ids), and the canonical collection metadata and configuration. */
  async collection(
    node: ClusterNode,
    c: CollectionRecord,
    localId: string,
    ids?: string[],
  ): Promise<{ digests: Map<string, string>; metadata: string; configuration: string }> {
    const described = await this.describe(node, c);
    if (!described) throw new Error(`${node.name}: collection ${c.tenant}/${c.database}/${c.name} is gone`);
    const digests = new Map<string, string>();
    for await (const page of this.records(node, `${collectionsPath(c)}/${enc(localId)}`, ids)) {
      page.ids.forEach((id, i) => digests.set(id, recordDigest(page.embeddings?.[i], page.documents?.[i], page.metadatas?.[i], page.uris?.[i])));
    }
    return { digests, metadata: canonicalJson(described.metadata ?? null), configuration: canonicalJson(described.configuration_json ?? null) };
  }

  /** Every record of a collection, in pages; or only the given ids. */
  async *records(node: ClusterNode, collectionPath: string, ids?: string[]) {
    const all = ids ?? (await this.json<{ ids: string[] }>(node, 'POST', `${collectionPath}/get`, { include: [] })).ids;
    for (let i = 0; i < all.length; i += this.pageSize) {
      const slice = all.slice(i, i + this.pageSize);
      await this.options.pacer?.take(slice.length);
      yield await this.json<RecordPage>(node, 'POST', `${collectionPath}/get`, { ids: slice, include: ['embeddings', 'documents', 'metadatas', 'uris'] });
    }
  }

  private request(node: ClusterNode, method: string, path: string, body?: unknown) {
    return node.client.requestJson({
      method,
      path,
      body: body === undefined ? null : Buffer.from(JSON.stringify(body)),
      timeoutMs: this.timeoutMs,
      signal: this.options.signal,
    });
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
const collectionsPath = (c: CollectionRecord) => `/api/v2/tenants/${enc(c.tenant)}/databases/${enc(c.database)}/collections`;
