// Node lifecycle: checks every node's identity marker when it comes up (and every second while it is a
// member, which also catches a restart the health checks missed) before it serves a read or takes a write,
// and refills by copy, online, a node that is new, wiped, restored from an older copy or taken over from
// an adopted primary. A node is a member (applied to, read from, promotable) only once it is known to hold
// its data; until then it is unverified or in resync. Progress of a refill is in /status and /metrics.
import { randomUUID } from 'node:crypto';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { Logger } from '../log/logger.js';
import type { ReplicationStore } from '../store/types.js';
import type { Catalog } from './catalog.js';
import type { ReplicationLog } from './log.js';
import type { Adopter } from './adopt.js';
import { copyNode, copyRate, type CopyProgress } from './copy.js';
import { deleteMarker, judgeIdentity, readMarker, readMarkerAt, updateMarker, writeMarker, type Marker } from './identity.js';
import { sleep } from '../util/signal.js';

export interface LifecycleDeps {
  cluster: Cluster;
  catalog: Catalog;
  log: ReplicationLog;
  store: ReplicationStore;
  adopter: Adopter;
  events: ClusterEventBus;
  logger: Logger;
  timeoutMs: number;
  /** Resolves once the node's applier has finished what it was doing (it sends nothing to a non-member). */
  applierIdle: (node: ClusterNode) => Promise<void>;
  /** How often members' markers are re-read and their positions recorded. */
  checkIntervalMs?: number;
  /** Entries up to here may have been deleted by log compaction. */
  truncatedThrough?: () => number;
  /**
   * True while this gateway holds the applier lease. Only then does it check markers, write them and refill
   * nodes; a gateway without the lease mirrors the lifecycle the leaseholder publishes in the store.
   */
  isActive?: () => boolean;
  /** Aborted when this gateway's hold of the lease ends: a refill copy's writes end with the lease (lease-grace.ts). */
  leaseSignal?: () => AbortSignal;
}

const PUBLISHED = 'lifecycle:';
const LIFECYCLES = new Set<ClusterNode['lifecycle']>(['unverified', 'member', 'resync', 'foreign']);

const CLUSTER_ID = 'cluster_id';

const incarnationKey = (nodeId: string) => `incarnation:${nodeId}`;

export class NodeLifecycle {
  private clusterId: string | null = null;
  private readonly incarnations = new Map<string, string>();
  /** Position last written to each member's marker (in this run). */
  private readonly markerPositions = new Map<string, number>();
  private readonly busy = new Set<string>();
  /** Members paused by whilePaused (repair, a backup's pin): they resume from their position. */
  private readonly paused = new Set<string>();
  private readonly resyncing = new Set<string>();
  readonly copies = new Map<string, CopyProgress>();
  /** Aborts a node's refill under way (the node was removed at run time). */
  private readonly refills = new Map<string, AbortController>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly abort = new AbortController();
  private wasActive = true;

  constructor(private readonly deps: LifecycleDeps) {}

  load(stored: Map<string, string>): void {
    this.clusterId = stored.get(CLUSTER_ID) ?? null;
    for (const [k, v] of stored) if (k.startsWith('incarnation:')) this.incarnations.set(k.slice('incarnation:'.length), v);
  }

  start(): void {
    this.deps.events.on('node-health', ({ node: name, to }) => {
      const node = this.deps.cluster.nodes.find((n) => n.name === name);
      if (!node) return;
      // A node that was away may come back as anything: it is checked again before it serves.
      if (to === 'down' && node.lifecycle === 'member') this.setLifecycle(node, 'unverified', 'down since its last check');
      if (to === 'up' && this.active()) void this.check(node);
    });
    this.timer = setInterval(() => void this.tick(), this.deps.checkIntervalMs ?? 1_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    while (this.busy.size > 0 || this.resyncing.size > 0) await sleep(20);
  }

  /** Refills a node by copy whatever its marker says (admin action, or a node behind the retained log). */
  requestResync(node: ClusterNode, reason: string): void {
    this.startResync(node, reason);
  }

  /**
   * Runs `fn` with a member node out of reads and its applier idle (repair writes to it alone), then puts it
   * back. False, without running `fn`, when the node is not a member or its identity is being checked.
   */
  async whilePaused(node: ClusterNode, reason: string, fn: () => Promise<void>): Promise<boolean> {
    // An identity check or marker checkpoint takes milliseconds: wait for it rather than give up.
    const deadline = Date.now() + 10_000;
    while (this.busy.has(node.id) && Date.now() < deadline) await sleep(20);
    if (this.busy.has(node.id) || this.resyncing.has(node.id) || !node.isMember) return false;
    this.busy.add(node.id);
    this.paused.add(node.id);
    try {
      this.setLifecycle(node, 'resync', reason);
      await this.deps.applierIdle(node);
      await fn();
      return true;
    } finally {
      // Back to the log where it left off; a node that went away meanwhile is checked again when back.
      this.setLifecycle(node, node.isUp ? 'member' : 'unverified', null);
      this.paused.delete(node.id);
      this.busy.delete(node.id);
    }
  }

  /** The position a member's marker vouches for: what it holds even after a restart (log compaction keeps the rest). */
  vouchedPosition(node: ClusterNode): number | null {
    return node.isMember || this.isPaused(node) ? (this.markerPositions.get(node.id) ?? null) : null;
  }

  /**
   * A node removed at run time: published as unverified, so a gateway that mirrors lifecycles does not take
   * it for a member if it is added again (it is checked afresh then), and its marker position is forgotten.
   */
  forget(node: ClusterNode): void {
    this.refills.get(node.id)?.abort(new Error('removed from the cluster'));
    this.markerPositions.delete(node.id);
    this.setLifecycle(node, 'unverified', 'removed from the cluster');
  }

  /** Paused by whilePaused: it will follow the log from where it stopped, so log compaction must keep that. */
  isPaused(node: ClusterNode): boolean {
    return this.paused.has(node.id);
  }

  /** Copy progress with rate and ETA, for /status and /metrics. */
  copyStatus(node: ClusterNode): (CopyProgress & { recordsPerSecond: number; etaSeconds: number | null }) | null {
    const p = this.copies.get(node.id);
    if (!p) return null;
    const { perSecond, etaSeconds } = copyRate(p);
    return { ...p, recordsPerSecond: perSecond, etaSeconds };
  }

  private active(): boolean {
    return this.deps.isActive?.() ?? true;
  }

  private async tick(): Promise<void> {
    const active = this.active();
    if (active !== this.wasActive) {
      this.wasActive = active;
      // Another gateway may have stamped nodes or set the cluster id while this one followed: start from the store.
      if (active) await this.deps.store.readClusterValues().then((v) => this.load(v), () => undefined);
    }
    if (!active) return this.mirror();
    for (const node of this.deps.cluster.nodes) {
      if (!node.isUp || this.busy.has(node.id)) continue;
      if (node.lifecycle === 'unverified') void this.check(node);
      else if (node.lifecycle === 'member') void this.checkpoint(node);
    }
  }

  /** Decides what an up node is: member, refill, or foreign. Runs at most once at a time per node. */
  async check(node: ClusterNode): Promise<void> {
    if (this.stopped || this.busy.has(node.id) || this.resyncing.has(node.id) || node.lifecycle === 'foreign') return;
    this.busy.add(node.id);
    try {
      if (node.lifecycle === 'member') this.setLifecycle(node, 'unverified', 'checking its identity');
      const primary = this.deps.cluster.primary;
      const isPrimary = node === primary;
      // The primary is checked first (it settles the cluster id and is the source of any refill); it re-runs the rest.
      if (!isPrimary && (this.clusterId === null || (primary.isUp && primary.lifecycle === 'unverified'))) return;
      const marker = await readMarker(node, this.deps.timeoutMs);
      if (this.clusterId === null) {
        // A gateway with a new store takes the cluster id of the primary it finds (a lost store is not a new cluster).
        this.clusterId = marker?.clusterId ?? randomUUID();
        await this.deps.store.setClusterValue(CLUSTER_ID, this.clusterId);
      }
      const storedIncarnation = this.incarnations.get(node.id) ?? null;
      let verdict = judgeIdentity({ clusterId: this.clusterId, nodeId: node.id, storedIncarnation, marker, isPrimary });
      if (verdict.kind === 'resync' && !marker && storedIncarnation && (await this.resetSinceMarker(node))) {
        verdict = { kind: 'stamp' }; // a reset through the gateway removed the marker with everything else
      }
      if (verdict.kind === 'resync' && !marker && storedIncarnation === null && (await this.replayable(node))) {
        // An empty node in a cluster whose whole history is in the log: it replays the log from the start.
        const unmap = { mappings: this.deps.catalog.unmapAll(node.id) };
        await this.deps.store.saveCatalog(unmap);
        this.deps.catalog.apply(unmap);
        node.appliedSeq = 0;
        verdict = { kind: 'stamp' };
      }
      switch (verdict.kind) {
        case 'member':
          if (Math.min(verdict.position, node.appliedSeq) < (this.deps.truncatedThrough?.() ?? 0)) {
            this.startResync(node, `behind the retained log (it holds up to ${Math.min(verdict.position, node.appliedSeq)}; entries up to ${this.deps.truncatedThrough!()} were compacted)`);
            break;
          }
          // Entries after the marker's position may be missing (a disk restored from an older copy): re-apply them.
          if (verdict.position < node.appliedSeq) {
            this.deps.logger.info({ node: node.name, from: node.appliedSeq, to: verdict.position }, 're-applying the log from the node\'s marker position');
            node.appliedSeq = verdict.position;
          }
          this.markerPositions.set(node.id, verdict.position);
          this.setLifecycle(node, 'member', null);
          break;
        case 'stamp':
          await this.stamp(node, storedIncarnation || marker?.incarnation || randomUUID());
          this.setLifecycle(node, 'member', null);
          break;
      }
      if (isPrimary) {
        // The other nodes' checks wait for the primary's (the cluster id, the source of a refill): run them now.
        for (const n of this.deps.cluster.nodes) if (n !== node && n.isUp && n.lifecycle === 'unverified') setImmediate(() => void this.check(n));
      }
      switch (verdict.kind) {
        case 'resync':
          this.startResync(node, verdict.reason);
          break;
        case 'foreign':
          this.setLifecycle(node, 'foreign', verdict.reason);
          this.deps.logger.error({ node: node.name, reason: verdict.reason }, 'node left out: it belongs to another cluster');
          break;
      }
    } catch (err) {
      this.deps.logger.warn({ node: node.name, err: (err as Error).message }, 'identity check failed; retrying');
      // Soon, not at the next tick: a failover may be waiting for this node (the primary died under the check).
      if (!this.stopped) setTimeout(() => void this.check(node), 100).unref();
    } finally {
      this.busy.delete(node.id);
    }
  }

  /** Re-reads a member's marker (a node restarted empty between two health checks is caught here) and records its position. */
  private async checkpoint(node: ClusterNode): Promise<void> {
    this.busy.add(node.id);
    try {
      const position = node.appliedSeq;
      const found = await readMarkerAt(node, this.deps.timeoutMs);
      const marker = found?.marker ?? null;
      // A marker behind the position last written to it: the disk was put back to an older copy between two probes.
      const wentBack = marker !== null && marker.position < (this.markerPositions.get(node.id) ?? 0);
      if (!marker || wentBack || marker.incarnation !== this.incarnations.get(node.id) || marker.nodeId !== node.id) {
        if (!marker && (await this.resetSinceMarker(node))) {
          await this.stamp(node, this.incarnations.get(node.id)!);
          return;
        }
        this.setLifecycle(node, 'unverified', 'its identity marker changed');
        this.busy.delete(node.id);
        await this.check(node);
        return;
      }
      if (position > marker.position && node.lifecycle === 'member') {
        await updateMarker(node, found!.collectionId, { ...marker, position }, this.deps.timeoutMs);
        this.markerPositions.set(node.id, position);
      }
    } catch (err) {
      this.deps.logger.debug({ node: node.name, err: (err as Error).message }, 'marker checkpoint failed');
    } finally {
      this.busy.delete(node.id);
    }
  }

  /**
   * True for an empty node when the log holds the cluster's whole history (nothing compacted, nothing adopted
   * from the primary): replaying it from the start rebuilds everything, with no copy.
   */
  private async replayable(node: ClusterNode): Promise<boolean> {
    const { cluster, catalog, adopter, timeoutMs } = this.deps;
    const primary = cluster.primary;
    if (primary === node || (this.deps.truncatedThrough?.() ?? 0) > 0) return false;
    // With the primary gone, what the catalog knows is all there is (the node may then be promoted).
    if (primary.isUp && primary.isMember) await adopter.adopt(primary, ['default_tenant'], true);
    else if (primary.isUp) return false;
    if (catalog.live().some((c) => c.origin === 'adopted')) return false;
    const r = await node.client.requestJson({ method: 'GET', path: '/api/v2/tenants/default_tenant/databases', timeoutMs });
    if (r.status !== 200) return false;
    const dbs = JSON.parse(r.text) as Array<{ name: string }>;
    if (dbs.some((d) => d.name !== 'default_database')) return false;
    const c = await node.client.requestJson({ method: 'GET', path: '/api/v2/tenants/default_tenant/databases/default_database/collections_count', timeoutMs });
    return c.status === 200 && Number(c.text) === 0;
  }

  /** True when the node applied a reset after its marker was last written in this run (a reset wipes the marker too). */
  private async resetSinceMarker(node: ClusterNode): Promise<boolean> {
    const from = this.markerPositions.get(node.id);
    if (from === undefined) return false;
    for (let after = from; after < node.appliedSeq; ) {
      const entries = await this.deps.store.readAfter(after, 500);
      if (entries.length === 0) return false;
      for (const e of entries) {
        if (e.seq > node.appliedSeq) return false;
        if (e.op === 'reset' && e.state === 'committed') return true;
      }
      after = entries[entries.length - 1]!.seq;
    }
    return false;
  }

  private async stamp(node: ClusterNode, incarnation: string): Promise<void> {
    const marker: Marker = { clusterId: this.clusterId!, nodeId: node.id, incarnation, position: node.appliedSeq };
    await writeMarker(node, marker, this.deps.timeoutMs);
    await this.deps.store.setClusterValue(incarnationKey(node.id), incarnation);
    this.incarnations.set(node.id, incarnation);
    this.markerPositions.set(node.id, marker.position);
  }

  private startResync(node: ClusterNode, reason: string): void {
    if (this.stopped || this.resyncing.has(node.id)) return;
    this.resyncing.add(node.id);
    this.setLifecycle(node, 'resync', reason);
    this.deps.logger.warn({ node: node.name, reason }, `node ${node.name} will be refilled by copy`);
    void this.resyncLoop(node).finally(() => this.resyncing.delete(node.id));
  }

  private async resyncLoop(node: ClusterNode): Promise<void> {
    const { cluster, log } = this.deps;
    for (let attempt = 1; !this.stopped; attempt++) {
      // A node removed at run time (gateway/members.ts) is refilled no more.
      if (!cluster.nodes.includes(node)) return;
      const source = cluster.primary;
      // The source is the primary: it holds every committed entry up to its position, by definition.
      if (!node.isUp || source === node || !source.isUp || !source.isMember) {
        await log.changed.wait(200);
        continue;
      }
      try {
        await this.resync(node, source);
        return;
      } catch (err) {
        if (this.stopped) return;
        this.copies.delete(node.id);
        this.deps.logger.warn({ node: node.name, source: source.name, attempt, err: (err as Error).message }, 'refill by copy failed; starting again');
        await sleep(Math.min(250 * attempt, 5_000));
      }
    }
  }

  private async resync(node: ClusterNode, source: ClusterNode): Promise<void> {
    const { catalog, store, log, logger, adopter, timeoutMs } = this.deps;
    await this.deps.applierIdle(node);
    // From here until the new marker is written the node can never pass for complete, even across a gateway crash.
    await store.setClusterValue(incarnationKey(node.id), '');
    this.incarnations.set(node.id, '');
    await deleteMarker(node, timeoutMs);
    const unmap = { mappings: catalog.unmapAll(node.id) };
    await store.saveCatalog(unmap);
    catalog.apply(unmap);
    // Whatever the primary held before the gateway is copied too.
    await adopter.adopt(source, ['default_tenant', ...new Set(catalog.live().map((c) => c.tenant))], true);
    const fromPosition = source.appliedSeq;
    logger.info({ node: node.name, source: source.name, fromPosition }, `refilling ${node.name} by copy from ${source.name}`);
    let lastLog = 0;
    const refill = new AbortController();
    this.refills.set(node.id, refill);
    const done = await copyNode(source, node, fromPosition, {
      catalog,
      store,
      timeoutMs,
      signal: AbortSignal.any([this.abort.signal, refill.signal, ...(this.deps.leaseSignal ? [this.deps.leaseSignal()] : [])]),
      onProgress: (p) => {
        this.copies.set(node.id, p);
        if (Date.now() - lastLog >= 5_000) {
          lastLog = Date.now();
          const { perSecond, etaSeconds } = copyRate(p);
          logger.info({ node: node.name, recordsCopied: p.recordsCopied, recordsTotal: p.recordsTotal, recordsPerSecond: perSecond, etaSeconds }, 'copy progress');
        }
      },
    }).finally(() => this.refills.delete(node.id));
    // Removed while the last page was copied: it is no member of anything, and must not be published as one.
    if (!this.deps.cluster.nodes.includes(node)) return;
    node.appliedSeq = fromPosition;
    await store.advancePosition(node.id, fromPosition);
    await this.stamp(node, randomUUID());
    node.syncState = 'syncing';
    node.divergedReason = null;
    this.copies.delete(node.id);
    const { perSecond } = copyRate(done);
    logger.info(
      { node: node.name, collections: done.collectionsCopied, records: done.recordsCopied, recordsPerSecond: perSecond, seconds: (Date.now() - done.startedAt) / 1000 },
      `${node.name} refilled; following the log from position ${fromPosition}`,
    );
    this.setLifecycle(node, 'member', null);
  }

  /** Without the lease: take each node's lifecycle from what the leaseholder published. */
  private async mirror(): Promise<void> {
    const values = await this.deps.store.readClusterValues().catch(() => null);
    if (!values) return;
    this.load(values);
    for (const node of this.deps.cluster.nodes) {
      const [to, ...reason] = (values.get(PUBLISHED + node.id) ?? '').split(':');
      if (LIFECYCLES.has(to as ClusterNode['lifecycle'])) this.setLifecycle(node, to as ClusterNode['lifecycle'], reason.join(':') || null, false);
    }
  }

  private setLifecycle(node: ClusterNode, to: ClusterNode['lifecycle'], reason: string | null, publish = true): void {
    const from = node.lifecycle;
    node.lifecycle = to;
    node.lifecycleReason = reason;
    this.deps.log.changed.notify();
    if (from === to) return;
    this.deps.events.emit('node-lifecycle', { node: node.name, from, to, reason, at: Date.now() });
    // Gateways without the lease route reads by it (see mirror).
    if (publish && this.active()) void this.deps.store.setClusterValue(PUBLISHED + node.id, `${to}:${reason ?? ''}`).catch(() => undefined);
  }
}
