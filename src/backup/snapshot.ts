// A consistent snapshot of the cluster, streamed as a backup file (format.ts) while the cluster keeps
// serving. One in-sync replica is pinned: it waits until it holds every write committed when the backup
// was asked for, then its applier is paused (lifecycle.whilePaused: out of reads, promotion and apply), so
// its content is exactly the log up to one position, and every record is read from it alone. Writes go on
// on the primary and the other replicas; the pinned node catches up from the log when released. It is
// released when the file is done, when the client goes away, when the client stops reading for the stall
// timeout (a dead client cannot pin it forever), and when the primary goes down (so it can take over).
// The primary is never pinned: pausing it would stop writes; with no in-sync replica the backup is refused.
import type { Writable } from 'node:stream';
import type { ClusterNode } from '../cluster/node.js';
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../log/logger.js';
import type { Catalog } from '../replication/catalog.js';
import type { ReplicationLog } from '../replication/log.js';
import type { NodeLifecycle } from '../replication/lifecycle.js';
import { MARKER_TENANT } from '../replication/identity.js';
import { Reader } from '../replication/verify.js';
import { HttpError } from '../errors/catalogue.js';
import { BackupWriter } from './writer.js';
import { embeddingToBase64, FORMAT_NAME, FORMAT_VERSION, RECORDS_PER_CHUNK, type CollectionChunk } from './format.js';

/** How long the chosen replica may take to apply what was committed when the backup was asked for. */
const CATCH_UP_TIMEOUT_MS = 30_000;

export interface SnapshotDeps {
  cluster: Cluster;
  catalog: Catalog;
  log: ReplicationLog;
  lifecycle: NodeLifecycle;
  logger: Logger;
  timeoutMs: number;
  /** How long the client may read nothing before the backup is abandoned and the node released. */
  stallTimeoutMs: number;
  /** Only the gateway holding the applier lease can pause an applier. */
  leaseHeld: () => boolean;
}

/** Where the snapshot goes: told the position before the first byte (to set headers), then written to. */
export interface SnapshotSink {
  open(info: { position: number; source: string }): Writable;
  signal: AbortSignal;
}

export interface SnapshotResult {
  position: number;
  source: string;
  collections: number;
  records: number;
  checksum: string;
  durationMs: number;
}

/** The replica to pin, or why there is none. Pure. */
export function pickSnapshotSource(cluster: Pick<Cluster, 'nodes' | 'primary'>): ClusterNode | string {
  const candidates = cluster.nodes
    .filter((n) => n !== cluster.primary && n.isUp && n.isMember && n.syncState !== 'diverged')
    .sort((a, b) => Number(b.syncState === 'in-sync') - Number(a.syncState === 'in-sync') || b.appliedSeq - a.appliedSeq);
  if (candidates.length > 0) return candidates[0]!;
  const replicas = cluster.nodes.filter((n) => n !== cluster.primary);
  return replicas.length === 0
    ? 'the cluster has no replica: a consistent backup pins a replica at a log position, and pausing the primary instead would stop every write. Add a replica, or stop the gateway and copy the primary\'s data directory'
    : `no replica can be pinned (${replicas.map((n) => `${n.name}: ${!n.isUp ? 'down' : n.syncState === 'diverged' ? 'diverged' : n.lifecycle}`).join(', ')})`;
}

export async function streamSnapshot(deps: SnapshotDeps, sink: SnapshotSink): Promise<SnapshotResult> {
  const { cluster, log, lifecycle, logger } = deps;
  if (!deps.leaseHeld()) throw new HttpError(409, 'ConflictError', 'this gateway does not hold the applier lease: ask the gateway that does (see /status)');
  const source = pickSnapshotSource(cluster);
  if (typeof source === 'string') throw new HttpError(409, 'ConflictError', `cannot take a consistent backup: ${source}`);
  const wanted = log.committedHead;
  const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
  while (source.appliedSeq < wanted) {
    if (Date.now() > deadline || !source.isUp) {
      throw new HttpError(409, 'ConflictError', `cannot take a consistent backup: ${source.name} did not reach log position ${wanted} in time`);
    }
    await log.changed.wait(100);
  }
  let result: SnapshotResult | null = null;
  const pinned = await lifecycle.whilePaused(source, 'pinned for a backup', async () => {
    result = await snapshotFrom(deps, source, sink);
  });
  if (!pinned) throw new HttpError(409, 'ConflictError', `cannot take a consistent backup: ${source.name} is busy (identity check, refill or repair)`);
  logger.info({ ...result!, durationMs: Math.round(result!.durationMs) }, 'backup finished; the pinned node follows the log again');
  return result!;
}

async function snapshotFrom(deps: SnapshotDeps, node: ClusterNode, sink: SnapshotSink): Promise<SnapshotResult> {
  const started = performance.now();
  const position = node.appliedSeq;
  const io = new Reader(deps.timeoutMs);
  deps.logger.info({ node: node.name, position }, `backup: ${node.name} pinned at log position ${position}`);
  const { databases, collections } = await listContent(deps, io, node);
  const writer = new BackupWriter(sink.open({ position, source: node.name }), deps.stallTimeoutMs, sink.signal);
  const primary = deps.cluster.primary;
  // Released at once if the primary fails: the pinned replica may be the one to take over.
  const guard = () => {
    if (!primary.isUp || deps.cluster.primary !== primary) throw new Error('the primary went down or changed: the pinned replica was released for failover');
  };
  try {
    await writer.write({
      t: 'header',
      format: FORMAT_NAME,
      version: FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      position,
      source: node.name,
      databases,
      collections: collections.length,
      records: collections.reduce((s, c) => s + c.records, 0),
    });
    let records = 0;
    for (const c of collections) {
      guard();
      const { localId, ...chunk } = c;
      await writer.write(chunk);
      let first = 0;
      for await (const page of io.records(node, `${collectionsPath(c.tenant, c.database)}/${enc(localId)}`)) {
        for (let i = 0; i < page.ids.length; i += RECORDS_PER_CHUNK) {
          const slice = <T>(a: T[] | null) => a?.slice(i, i + RECORDS_PER_CHUNK) ?? null;
          await writer.write({
            t: 'records',
            collection: c.n,
            first,
            ids: page.ids.slice(i, i + RECORDS_PER_CHUNK),
            embeddings: slice(page.embeddings)?.map(embeddingToBase64) ?? null,
            documents: slice(page.documents),
            metadatas: slice(page.metadatas),
            uris: slice(page.uris),
          });
          first += Math.min(RECORDS_PER_CHUNK, page.ids.length - i);
        }
        guard();
      }
      records += first;
    }
    await writer.write({ t: 'end', collections: collections.length, records });
    await writer.finish();
    return { position, source: node.name, collections: collections.length, records, checksum: writer.checksum, durationMs: performance.now() - started };
  } catch (err) {
    writer.destroy();
    throw err;
  }
}

type Listed = CollectionChunk & { localId: string };

/** Every database and collection the node holds (in the tenants the catalog knows), with record counts. */
async function listContent(deps: SnapshotDeps, io: Reader, node: ClusterNode) {
  const { catalog } = deps;
  const tenants = [...new Set(['default_tenant', ...catalog.live().map((c) => c.tenant)])].filter((t) => t !== MARKER_TENANT).sort();
  const databases: Array<{ tenant: string; name: string }> = [];
  const collections: Listed[] = [];
  for (const tenant of tenants) {
    const dbs = await io.json<Array<{ name: string }>>(node, 'GET', `/api/v2/tenants/${enc(tenant)}/databases`).catch(() => null);
    // A tenant whose only collections were created after the pinned position does not exist on the node yet.
    for (const db of (dbs ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      databases.push({ tenant, name: db.name });
      const found: Array<{ id: string; name: string; metadata: Record<string, unknown> | null; configuration_json?: Record<string, unknown> | null }> = [];
      for (let offset = 0; ; offset += 100) {
        const page = await io.json<typeof found>(node, 'GET', `${collectionsPath(tenant, db.name)}?limit=100&offset=${offset}`);
        found.push(...page);
        if (page.length < 100) break;
      }
      for (const c of found.sort((a, b) => a.name.localeCompare(b.name))) {
        const stableId = catalog.stableId(node.id, c.id);
        // Not made through the gateway (verify reports it as extra): not part of the cluster's content.
        if (stableId === undefined) continue;
        const count = await io.json<number>(node, 'GET', `${collectionsPath(tenant, db.name)}/${enc(c.id)}/count`);
        collections.push({
          t: 'collection',
          n: collections.length + 1,
          tenant,
          database: db.name,
          name: c.name,
          id: stableId,
          metadata: c.metadata ?? null,
          configuration: c.configuration_json ?? null,
          records: count,
          localId: c.id,
        });
      }
    }
  }
  return { databases, collections };
}

const enc = encodeURIComponent;
const collectionsPath = (tenant: string, database: string) => `/api/v2/tenants/${enc(tenant)}/databases/${enc(database)}/collections`;
