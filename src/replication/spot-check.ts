// Sampled comparison of a replica with the primary at the same log position: catches a node that applied
// every entry yet holds different records (Chroma's index bug when it strikes anyway, for instance through
// data written before the gateway; or anything else that makes a node drift). After a replica applies a
// collection's latest committed write, at most once per interval per node, the records that write touched
// plus a random page of the collection are read from both nodes and compared, with the count.
//
// Lock: the comparison holds the primary's write lane, so the primary applies nothing meanwhile and both
// nodes are read at exactly the position the replica just reached. It costs a few small reads (~5-10 ms of
// paused writes) per check.
import type { ClusterNode } from '../cluster/node.js';
import type { Cluster } from '../cluster/cluster.js';
import type { LogEntry } from '../store/types.js';
import type { Mutex } from '../util/signal.js';
import type { Catalog } from './catalog.js';
import type { ReplicationLog } from './log.js';
// Metadata keys come back in hash order: records compare as key-sorted JSON.
import { canonicalJson } from './verify.js';

export interface SpotCheckDeps {
  cluster: Cluster;
  log: ReplicationLog;
  catalog: Catalog;
  primaryLane: Mutex;
  /** Least time between two checks of one node; 0 disables checking. */
  intervalMs: number;
  timeoutMs: number;
  /** Injected for tests; defaults to Date.now and Math.random. */
  now?: () => number;
  random?: () => number;
}

/** Records compared per check at most (touched ones first, then a random page). */
const SAMPLE = 50;
const RECORD_OPS = new Set(['add', 'upsert', 'update', 'delete']);

interface Row {
  id: string;
  embedding: unknown;
  document: unknown;
  metadata: unknown;
  uri: unknown;
}

export class SpotChecker {
  private readonly lastCheck = new Map<ClusterNode, number>();

  constructor(private readonly deps: SpotCheckDeps) {}

  /**
   * Called by a replica's applier right after it applied `entry` (possibly a merged run). Returns a sentence
   * describing how the node differs from the primary, or null (no difference, check not due, or not comparable
   * now). A failed read is no evidence of anything: it returns null.
   */
  async afterApply(node: ClusterNode, entry: LogEntry): Promise<string | null> {
    const { cluster, log, intervalMs, primaryLane } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    if (intervalMs <= 0 || !RECORD_OPS.has(entry.op) || !entry.collectionId) return null;
    if (now - (this.lastCheck.get(node) ?? -Infinity) < intervalMs) return null;
    // Only when the replica holds the collection's latest committed write: otherwise the primary is ahead.
    if (log.requiredFor(entry.collectionId) !== entry.seq) return null;
    // A switchover holds the lane until this node caught up: waiting for the lane here would stall both.
    if (cluster.catchingUp === node) return null;
    this.lastCheck.set(node, now);
    const release = await primaryLane.lock();
    try {
      const primary = cluster.primary;
      // An entry the primary may have applied without a recorded outcome would make it look ahead.
      if (primary === node || !primary.isUp || log.requiredFor(entry.collectionId) !== entry.seq || log.hasUnsettledWrites) return null;
      return await this.compare(primary, node, entry);
    } catch {
      return null;
    } finally {
      release();
    }
  }

  private async compare(primary: ClusterNode, node: ClusterNode, entry: LogEntry): Promise<string | null> {
    const { catalog } = this.deps;
    const stableId = entry.collectionId!;
    const onPrimary = catalog.localId(primary.id, stableId);
    const onNode = catalog.localId(node.id, stableId);
    if (!onPrimary || !onNode || !entry.tenant || !entry.database) return null;
    const base = `/api/v2/tenants/${encodeURIComponent(entry.tenant)}/databases/${encodeURIComponent(entry.database)}/collections/`;
    const [primaryCount, nodeCount] = await Promise.all([this.count(primary, base + onPrimary), this.count(node, base + onNode)]);
    const name = catalog.get(stableId)?.name ?? stableId;
    if (primaryCount === null || nodeCount === null) return null;
    if (primaryCount !== nodeCount) return `collection ${name} holds ${nodeCount} records, the primary ${primaryCount}`;
    const ids = new Set(touchedIds(entry).slice(0, SAMPLE));
    if (ids.size < SAMPLE && primaryCount > 0) {
      const limit = SAMPLE - ids.size;
      const offset = Math.floor((this.deps.random ?? Math.random)() * Math.max(0, primaryCount - limit + 1));
      const page = await this.read(primary, base + onPrimary, { limit, offset, include: [] });
      for (const row of page ?? []) ids.add(row.id);
    }
    if (ids.size === 0) return null;
    const query = { ids: [...ids], include: ['embeddings', 'documents', 'metadatas', 'uris'] };
    const [expected, actual] = await Promise.all([this.read(primary, base + onPrimary, query), this.read(node, base + onNode, query)]);
    if (!expected || !actual) return null;
    const want = new Map(expected.map((r) => [r.id, canonicalJson(r)]));
    const got = new Map(actual.map((r) => [r.id, canonicalJson(r)]));
    const differing = [...ids].filter((id) => want.get(id) !== got.get(id));
    if (differing.length === 0) return null;
    return `collection ${name}: ${differing.length} of ${ids.size} sampled records differ from the primary (${differing.slice(0, 5).join(', ')}${differing.length > 5 ? ', ...' : ''})`;
  }

  private async count(node: ClusterNode, path: string): Promise<number | null> {
    const r = await node.client.requestJson({ method: 'GET', path: `${path}/count`, timeoutMs: this.deps.timeoutMs });
    const n = r.status === 200 ? Number(r.text) : NaN;
    return Number.isInteger(n) ? n : null;
  }

  private async read(node: ClusterNode, path: string, query: Record<string, unknown>): Promise<Row[] | null> {
    const r = await node.client.requestJson({ method: 'POST', path: `${path}/get`, body: Buffer.from(JSON.stringify(query)), timeoutMs: this.deps.timeoutMs });
    if (r.status !== 200) return null;
    const a = JSON.parse(r.text) as Record<string, unknown[] | null>;
    return (a.ids as string[]).map((id, i) => ({
      id,
      embedding: a.embeddings?.[i] ?? null,
      document: a.documents?.[i] ?? null,
      metadata: a.metadatas?.[i] ?? null,
      uri: a.uris?.[i] ?? null,
    }));
  }
}

/** The record ids an entry names (a delete by filter names none). */
function touchedIds(entry: LogEntry): string[] {
  try {
    const ids = JSON.parse(entry.body?.toString('utf8') ?? 'null')?.ids;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string') : [];
  } catch {
    return [];
  }
}
