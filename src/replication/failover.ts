// Decides who is primary. Failover: the primary is down, so the healthy replica with the highest
// priority among the most caught-up takes the role; its applier replays the rest of the committed log
// before it applies (and answers) any waiting write. Switchover (failback): a healthy node with a higher
// priority than the primary, holding every committed write, takes the role back between two writes.
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { Logger } from '../log/logger.js';
import type { ReplicationStore } from '../store/types.js';
import type { ReplicationLog } from './log.js';
import type { Mutex } from '../util/signal.js';

export interface FailoverDeps {
  cluster: Cluster;
  log: ReplicationLog;
  store: ReplicationStore;
  events: ClusterEventBus;
  logger: Logger;
  primaryLane: Mutex;
}

const TICK_MS = 100;
/** Entries behind the most caught-up candidate that still count as "most caught-up". */
const CAUGHT_UP_SLACK = 100;
/** Longest pause of writes a switchover may cause while the new primary applies the last entries. */
const SWITCHOVER_CATCHUP_MS = 2_000;

export class FailoverCoordinator {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly deps: FailoverDeps) {}

  start(): void {
    this.deps.events.on('node-health', () => void this.evaluate());
    this.deps.events.on('node-diverged', () => void this.evaluate());
    this.deps.events.on('node-lifecycle', () => void this.evaluate());
    this.timer = setInterval(() => void this.evaluate(), TICK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Restores the primary chosen before a restart, if that node is still configured. */
  async restore(stored: Map<string, string>): Promise<void> {
    const { cluster } = this.deps;
    const node = cluster.byId(stored.get('primary') ?? '');
    if (node) cluster.setPrimary(node);
    cluster.epoch = Number(stored.get('epoch') ?? cluster.epoch);
    cluster.failoverCount = Number(stored.get('failover_count') ?? 0);
    const last = stored.get('last_failover');
    cluster.lastFailover = last ? JSON.parse(last) : null;
  }

  async evaluate(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { cluster, log } = this.deps;
      const primary = cluster.primary;
      // Only members hold their data for sure (replication/lifecycle.ts); an up primary still being checked is waited for.
      const usable = (n: ClusterNode) => n.isUp && n.syncState !== 'diverged' && n.isMember;
      if (!usable(primary)) {
        if (primary.health === 'unknown' || (primary.isUp && primary.lifecycle === 'unverified')) return; // wait for a verdict
        const candidates = cluster.nodes.filter((n) => n !== primary && usable(n));
        if (candidates.length === 0) return;
        // Replicas trail the primary by a few entries all the time; within that slack priority decides.
        const best = Math.max(...candidates.map((n) => n.appliedSeq));
        const chosen = candidates.filter((n) => n.appliedSeq >= best - CAUGHT_UP_SLACK).sort((a, b) => b.priority - a.priority)[0]!;
        const reason = primary.syncState === 'diverged' ? `primary ${primary.name} diverged` : primary.isUp ? `primary ${primary.name}: ${primary.lifecycleReason ?? primary.lifecycle}` : `primary ${primary.name} is down: ${primary.lastError ?? 'failed checks'}`;
        await this.promote(chosen, 'failover', reason);
        return;
      }
      const preferred = cluster.nodes
        .filter((n) => n !== primary && usable(n) && n.priority > primary.priority)
        .sort((a, b) => b.priority - a.priority)[0];
      if (preferred && preferred.appliedSeq >= log.committedHead - CAUGHT_UP_SLACK) {
        await this.promote(preferred, 'switchover', `${preferred.name} has priority ${preferred.priority} and holds every committed write`);
      }
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'failover evaluation failed');
    } finally {
      this.busy = false;
    }
  }

  private async promote(node: ClusterNode, kind: 'failover' | 'switchover', reason: string): Promise<void> {
    const { cluster, log, store, events, logger, primaryLane } = this.deps;
    await primaryLane.run(async () => {
      // Between two writes now: re-check, since the world may have moved while we waited for the lane.
      if (!node.isUp || cluster.primary === node) return;
      if (kind === 'switchover') {
        // No write is applied while we hold the lane: let the node apply the last few, bounded.
        const deadline = Date.now() + SWITCHOVER_CATCHUP_MS;
        while (node.isUp && node.appliedSeq < log.committedHead && Date.now() < deadline) await log.changed.wait(50);
        if (!node.isUp || node.appliedSeq < log.committedHead || !cluster.primary.isUp) return;
      }
      const from = cluster.primary;
      cluster.setPrimary(node);
      cluster.failoverCount++;
      cluster.lastFailover = { at: Date.now(), from: from.name, to: node.name, reason, kind };
      await store.setClusterValue('primary', node.id);
      await store.setClusterValue('epoch', String(cluster.epoch));
      await store.setClusterValue('failover_count', String(cluster.failoverCount));
      await store.setClusterValue('last_failover', JSON.stringify(cluster.lastFailover));
      logger.warn({ from: from.name, to: node.name, reason, kind, epoch: cluster.epoch }, `${kind}: ${node.name} is now primary`);
      events.emit('failover', { from: from.name, to: node.name, reason, at: cluster.lastFailover.at, kind });
    });
    log.changed.notify();
  }
}
