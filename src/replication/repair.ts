// Repair: makes replicas identical to the primary where verify found them different. Each differing
// replica is taken out of reads and its applier paused while it is fixed (no second writer on its
// collections, Chroma's index bug needs that): missing tenants and databases created, extra databases and
// collections dropped, missing collections copied, and a collection whose metadata or configuration differs
// copied afresh (Chroma's modify merges metadata keys and cannot change most configuration fields); records
// that differ deleted and re-added from the primary (an upsert would merge metadata keys), missing ones
// added, extra ones deleted. A diverged replica is refilled by copy instead. Then the nodes are verified again.
import type { ClusterNode } from '../cluster/node.js';
import type { ReplicationStore } from '../store/types.js';
import { copyOneCollection } from './copy.js';
import type { NodeLifecycle } from './lifecycle.js';
import { hasDifferences, Reader, verifyCluster, type CollectionDiff, type NodeVerification, type Verification, type VerifyDeps } from './verify.js';

const PAGE = 500;

export interface RepairDeps extends VerifyDeps {
  store: ReplicationStore;
  lifecycle: NodeLifecycle;
}

export interface NodeRepair {
  node: string;
  action: 'none' | 'repaired' | 'resync' | 'skipped';
  reason: string | null;
  databasesCreated: number;
  databasesDropped: number;
  collectionsCreated: number;
  collectionsDropped: number;
  recordsWritten: number;
  recordsDeleted: number;
}

export interface RepairResult {
  before: Verification;
  repairs: NodeRepair[];
  /** Verification of the repaired nodes afterwards (null when nothing needed repair). */
  after: Verification | null;
}

export async function repairCluster(deps: RepairDeps): Promise<RepairResult> {
  const { cluster, lifecycle } = deps;
  const diverged = cluster.nodes.filter((n) => n !== cluster.primary && n.syncState === 'diverged');
  const before = await verifyCluster(deps);
  const repairs: NodeRepair[] = [];
  const repaired: ClusterNode[] = [];
  for (const v of before.nodes) {
    const r: NodeRepair = {
      node: v.node.name,
      action: 'none',
      reason: null,
      databasesCreated: 0,
      databasesDropped: 0,
      collectionsCreated: 0,
      collectionsDropped: 0,
      recordsWritten: 0,
      recordsDeleted: 0,
    };
    repairs.push(r);
    if (diverged.includes(v.node)) {
      lifecycle.requestResync(v.node, `repair: the node diverged (${v.node.divergedReason ?? 'unknown entry'})`);
      Object.assign(r, { action: 'resync', reason: 'diverged: refilled by copy' });
      continue;
    }
    if (v.unavailable) {
      Object.assign(r, { action: 'skipped', reason: v.unavailable });
      continue;
    }
    if (!hasDifferences(v)) continue;
    const done = await lifecycle.whilePaused(v.node, 'being repaired', () => repairNode(deps, before.primary, v, r));
    if (!done) Object.assign(r, { action: 'skipped', reason: `${v.node.name} is busy (identity check or refill under way)` });
    else {
      r.action = 'repaired';
      repaired.push(v.node);
    }
  }
  const after = repaired.length > 0 ? await verifyCluster(deps, repaired) : null;
  return { before, repairs, after };
}

async function repairNode(deps: RepairDeps, primary: ClusterNode, v: NodeVerification, r: NodeRepair): Promise<void> {
  const { catalog, store, timeoutMs } = deps;
  const node = v.node;
  const io = new Reader(timeoutMs, { signal: deps.signal });
  for (const tenant of v.missingTenants) await send(node, 'POST', '/api/v2/tenants', { name: tenant }, deps, [200, 409]);
  for (const d of v.missingDatabases) {
    await send(node, 'POST', `/api/v2/tenants/${enc(d.tenant)}/databases`, { name: d.database }, deps, [200, 409]);
    r.databasesCreated++;
  }
  for (const d of v.extraDatabases) {
    await send(node, 'DELETE', dbPath(d.tenant, d.database), undefined, deps, [200, 404]);
    r.databasesDropped++;
  }
  for (const extra of v.extraCollections) {
    await send(node, 'DELETE', `${dbPath(extra.tenant, extra.database)}/collections/${enc(extra.name)}`, undefined, deps, [200, 404]);
    r.collectionsDropped++;
  }
  for (const c of v.missingCollections) {
    await copyOneCollection(primary, node, c, { catalog, store, timeoutMs, signal: deps.signal });
    r.collectionsCreated++;
  }
  for (const d of v.differing) {
    if (d.metadataDiffers || d.configurationDiffers) {
      await copyOneCollection(primary, node, d.collection, { catalog, store, timeoutMs, signal: deps.signal });
      r.collectionsCreated++;
      r.collectionsDropped++;
    } else await repairRecords(io, primary, node, d, r, deps);
  }
}

async function repairRecords(io: Reader, primary: ClusterNode, node: ClusterNode, d: CollectionDiff, r: NodeRepair, deps: RepairDeps): Promise<void> {
  const { catalog } = deps;
  const c = d.collection;
  const base = `${dbPath(c.tenant, c.database)}/collections`;
  const nodePath = `${base}/${enc(catalog.localId(node.id, c.stableId)!)}`;
  const remove = [...d.extra, ...d.different];
  for (let i = 0; i < remove.length; i += PAGE) {
    await send(node, 'POST', `${nodePath}/delete`, { ids: remove.slice(i, i + PAGE) }, deps, [200]);
  }
  r.recordsDeleted += d.extra.length;
  const fetch = [...d.missing, ...d.different];
  if (fetch.length === 0) return;
  const primaryPath = `${base}/${enc(catalog.localId(primary.id, c.stableId)!)}`;
  for await (const page of io.records(primary, primaryPath, fetch)) {
    if (page.ids.length === 0) continue;
    const body: Record<string, unknown> = { ids: page.ids, embeddings: page.embeddings };
    if (page.documents?.some((x) => x !== null)) body.documents = page.documents;
    if (page.metadatas?.some((x) => x !== null)) body.metadatas = page.metadatas;
    if (page.uris?.some((x) => x !== null)) body.uris = page.uris;
    await send(node, 'POST', `${nodePath}/add`, body, deps, [200, 201]);
    r.recordsWritten += page.ids.length;
  }
}

async function send(node: ClusterNode, method: string, path: string, body: unknown, { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal }, ok: number[]): Promise<void> {
  const res = await node.client.requestJson({ method, path, body: body === undefined ? null : Buffer.from(JSON.stringify(body)), timeoutMs, signal });
  if (!ok.includes(res.status)) throw new Error(`${node.name}: ${method} ${path} answered ${res.status}: ${res.text.slice(0, 200)}`);
}

const enc = encodeURIComponent;
const dbPath = (tenant: string, database: string) => `/api/v2/tenants/${enc(tenant)}/databases/${enc(database)}`;
