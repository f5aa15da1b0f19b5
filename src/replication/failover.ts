// Executes role decisions. On every tick and health change it gathers observations (nodes, the roles the
// store records, the lease), asks decide.ts what to do, and carries the action out: a promotion is one
// store transaction that checks and increments the epoch (so of two gateways racing, one wins and the other
// follows); a switchover first lets the new primary apply the last entries, between two writes.
import type { Cluster, FailoverRecord } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { Logger } from '../log/logger.js';
import type { ClusterRoles, ReplicationStore } from '../store/types.js';
import type { ReplicationLog } from './log.js';
import type { ApplierLease } from './lease.js';
import type { Mutex } from '../util/signal.js';
import { decide, decideSwitchover, type Decision, type Observations, type SwitchoverNodeView } from './decide.js';
import { errors } from '../errors/catalogue.js';

export interface FailoverDeps {
  cluster: Cluster;
  log: ReplicationLog;
  store: ReplicationStore;
  events: ClusterEventBus;
  logger: Logger;
  primaryLane: Mutex;
  lease: ApplierLease;
  clock?: () => number;
}

/** The last decision, and the last one that was not 'none', as /status shows them. */
export interface DecisionRecord {
  at: number;
  action: Decision['action'];
  target: string | null;
  reason: string;
}

const TICK_MS = 100;
/**
 * Longest pause of writes a switchover may cause while the new primary applies the last entries (it is at
 * most CAUGHT_UP_SLACK entries short, merged into a few requests). Kept well under a second, so no write
 * waits over a second through a failback; a node that cannot make it is tried again later.
 */
const SWITCHOVER_CATCHUP_MS = 500;
/** Longest hold of new writes a planned switchover may cause while its target applies the last entries. */
const PLANNED_SWITCHOVER_HOLD_MS = 2_000;

/** What a planned switchover did: the answer of POST /admin/switchover. */
export interface SwitchoverResult {
  from: string;
  to: string;
  epoch: number;
  /** How long new writes were held (the primary lane taken), ms. */
  writePauseMs: number;
  reason: string;
}

export class FailoverCoordinator {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private again = false;
  private lastSkippedSwitchover: Observations['lastSkippedSwitchover'] = null;
  /** A planned switchover is under way (one at a time). */
  private switching = false;
  lastDecision: DecisionRecord | null = null;
  lastAction: DecisionRecord | null = null;

  constructor(private readonly deps: FailoverDeps) {}

  private now(): number {
    return (this.deps.clock ?? Date.now)();
  }

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

  /** Takes the roles recorded in the store, if the recorded primary is still configured. */
  restore(roles: ClusterRoles): void {
    const { cluster } = this.deps;
    cluster.setPrimary(cluster.byId(roles.primaryId ?? '') ?? cluster.primary, roles.epoch);
    this.adoptRecord(roles);
  }

  /** Decides once and executes the decision. Concurrent calls coalesce into one more run. */
  async evaluate(): Promise<void> {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.again = false;
        await this.cycle();
      } while (this.again);
    } catch (err) {
      this.deps.logger.error({ err: (err as Error).message }, 'failover evaluation failed');
    } finally {
      this.busy = false;
    }
  }

  private async cycle(): Promise<void> {
    const { cluster, log, store, lease } = this.deps;
    const stored = await store.readRoles();
    const decision = decide({
      now: this.now(),
      nodes: cluster.nodes.map(nodeView),
      primaryId: cluster.primary.id,
      epoch: cluster.epoch,
      stored: { primaryId: stored.primaryId, epoch: stored.epoch },
      committedHead: log.committedHead,
      lease: lease.view(),
      lastSkippedSwitchover: this.lastSkippedSwitchover,
      preferredPrimaryId: cluster.lastFailover?.preferredPrimary ?? null,
    });
    const record: DecisionRecord = {
      at: this.now(),
      action: decision.action,
      target: decision.action === 'none' ? null : (cluster.byId(decision.action === 'follow' ? decision.primaryId : decision.to)?.name ?? null),
      reason: decision.reason,
    };
    this.lastDecision = record;
    if (decision.action === 'none') return;
    this.lastAction = record;
    if (decision.action === 'follow') this.follow(stored, decision.reason);
    else await this.promote(cluster.byId(decision.to)!, decision.action, decision.reason, cluster.epoch);
  }

  /**
   * A planned switchover an operator asked for: judged by decideSwitchover (refused with 404/409 and the
   * reason), then, holding the primary lane so no new write is decided, waits until the target has applied
   * every committed entry (at most PLANNED_SWITCHOVER_HOLD_MS), promotes it with the same epoch transaction a
   * failover uses, and records it as the operator's preferred primary. Writes resume when the lane is released.
   */
  async switchover(targetName: string): Promise<SwitchoverResult> {
    const { cluster, log, logger, primaryLane, lease } = this.deps;
    const judge = () => {
      const v = lease.view();
      return decideSwitchover({
        target: targetName,
        nodes: cluster.nodes.map(nodeView),
        primaryId: cluster.primary.id,
        committedHead: log.committedHead,
        lease: { held: v.held, holder: v.holder },
      });
    };
    if (this.switching) throw errors.conflict('a planned switchover is already under way');
    const first = judge();
    if (first.action === 'refuse') throw first.status === 404 ? errors.notFound(first.reason) : errors.conflict(first.reason);
    // Set before asking for the lane: a spot check of the target queued behind us would never get it.
    cluster.catchingUp = cluster.byId(first.to)!;
    this.switching = true;
    const result = await primaryLane.run(async (): Promise<SwitchoverResult & { heldAt: number }> => {
      const heldAt = performance.now();
      // Between two writes now, and none is decided until we let go: the world may have moved while we waited.
      const decision = judge();
      if (decision.action === 'refuse') throw decision.status === 404 ? errors.notFound(decision.reason) : errors.conflict(decision.reason);
      const node = cluster.byId(decision.to)!;
      if (node !== cluster.catchingUp) throw errors.conflict(`the nodes changed while the switchover waited for the write lane: abandoned, ask again`);
      const deadline = heldAt + PLANNED_SWITCHOVER_HOLD_MS;
      while (node.isUp && node.isMember && node.appliedSeq < log.committedHead && performance.now() < deadline) await log.changed.wait(20);
      if (node.appliedSeq < log.committedHead) {
        throw errors.conflict(
          `${node.name} did not apply the last ${log.committedHead - node.appliedSeq} committed entries within ${PLANNED_SWITCHOVER_HOLD_MS} ms (writes were held meanwhile): switchover abandoned, ${cluster.primary.name} stays primary`,
        );
      }
      if (!node.isUp || !node.isMember || !cluster.primary.isUp) throw errors.conflict(`${node.name} or the primary changed state during the switchover: abandoned`);
      const from = cluster.primary.name;
      const done = await this.promoteNow(node, 'switchover', decision.reason, node.id, () => Math.round(performance.now() - heldAt));
      if (!done) throw errors.conflict(`another gateway changed roles first (epoch ${cluster.epoch}): switchover abandoned`);
      return { from, to: node.name, epoch: cluster.epoch, writePauseMs: 0, reason: decision.reason, heldAt };
    }).finally(() => {
      cluster.catchingUp = null;
      this.switching = false;
    }).then(({ heldAt, ...r }) => {
      // The lane is released: the pause is over. The record in the store has the pause up to the promotion's
      // transaction (it is written by it); this gateway's /status shows the whole of it.
      const whole = { ...r, writePauseMs: Math.round(performance.now() - heldAt) };
      if (cluster.lastFailover?.kind === 'switchover' && cluster.lastFailover.to === whole.to) cluster.lastFailover.writePauseMs = whole.writePauseMs;
      return whole;
    });
    log.changed.notify();
    logger.warn(result, `planned switchover done: ${result.to} is primary; writes were held ${result.writePauseMs} ms`);
    return result;
  }

  /** Routes by the roles another gateway recorded: this gateway's view was stale. */
  private follow(roles: ClusterRoles, reason: string): void {
    const { cluster, events, logger, log } = this.deps;
    const node = cluster.byId(roles.primaryId ?? '');
    if (!node) return;
    const from = cluster.primary;
    cluster.setPrimary(node, roles.epoch);
    this.adoptRecord(roles);
    if (from !== node) {
      logger.warn({ from: from.name, to: node.name, epoch: roles.epoch, reason }, `following the store: ${node.name} is primary`);
      events.emit('failover', { from: from.name, to: node.name, reason, at: this.now(), kind: cluster.lastFailover?.kind ?? 'failover' });
    }
    log.changed.notify();
  }

  private adoptRecord(roles: ClusterRoles): void {
    const { cluster } = this.deps;
    cluster.failoverCount = roles.failoverCount;
    cluster.lastFailover = roles.lastFailover ? JSON.parse(roles.lastFailover) : null;
  }

  private async promote(node: ClusterNode, kind: 'failover' | 'switchover', reason: string, decidedAtEpoch: number): Promise<void> {
    const { cluster, log, primaryLane, lease } = this.deps;
    const waitsForNode = kind === 'switchover' && cluster.catchingUp === null;
    if (waitsForNode) cluster.catchingUp = node;
    await primaryLane.run(async () => {
      // Between two writes now: re-check, since the world may have moved while we waited for the lane (a
      // planned switchover in between changed the epoch: this decision was made on the roles before it).
      if (!node.isUp || cluster.primary === node || !lease.isHeld() || cluster.epoch !== decidedAtEpoch) return;
      if (kind === 'switchover') {
        // No write is applied while we hold the lane: let the node apply the last few, bounded.
        const deadline = Date.now() + SWITCHOVER_CATCHUP_MS;
        while (node.isUp && node.appliedSeq < log.committedHead && Date.now() < deadline) await log.changed.wait(50);
        if (!node.isUp || node.appliedSeq < log.committedHead || !cluster.primary.isUp) {
          this.lastSkippedSwitchover = { nodeId: node.id, at: this.now() };
          return;
        }
      }
      await this.promoteNow(node, kind, reason, cluster.lastFailover?.preferredPrimary ?? null);
    }).finally(() => {
      if (waitsForNode) cluster.catchingUp = null;
    });
    log.changed.notify();
  }

  /** The epoch transaction, under the primary lane. False when another gateway promoted first (then followed). */
  private async promoteNow(node: ClusterNode, kind: 'failover' | 'switchover', reason: string, preferredPrimary: string | null, pauseMs?: () => number): Promise<boolean> {
    const { cluster, store, events, logger } = this.deps;
    const from = cluster.primary;
    const at = this.now();
    const lastFailover: FailoverRecord = { at, from: from.name, to: node.name, reason, kind, preferredPrimary };
    if (pauseMs) lastFailover.writePauseMs = pauseMs();
    const result = await store.promote({ expectedEpoch: cluster.epoch, primaryId: node.id, lastFailover: JSON.stringify(lastFailover) });
    if (!result.promoted) {
      logger.warn({ to: node.name, epoch: cluster.epoch, stored: result.roles.epoch }, `${kind} lost the race: the store holds a newer epoch`);
      this.follow(result.roles, `a ${kind} to ${node.name} found epoch ${result.roles.epoch} already recorded`);
      return false;
    }
    cluster.setPrimary(node, result.roles.epoch);
    this.adoptRecord(result.roles);
    logger.warn({ from: from.name, to: node.name, reason, kind, epoch: cluster.epoch }, `${kind}: ${node.name} is now primary`);
    events.emit('failover', { from: from.name, to: node.name, reason, at, kind });
    return true;
  }
}

/** What the decisions (decide.ts) see of a node: a snapshot, so a decision is a function of its inputs. */
function nodeView(n: ClusterNode): SwitchoverNodeView {
  return {
    id: n.id,
    name: n.name,
    health: n.health,
    syncState: n.syncState,
    lifecycle: n.lifecycle,
    lifecycleReason: n.lifecycleReason,
    appliedSeq: n.appliedSeq,
    priority: n.priority,
    lastError: n.lastError,
    drained: n.drained,
  };
}
