// The gateway's own answers about itself: GET /health (can it serve?) and GET /status (everything an
// operator or the monitor needs: nodes, roles, health, replication positions and lag, failovers).
// URLs are shown without credentials; no secret appears here.
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { ReplicationLog } from '../replication/log.js';
import type { ReplicationStore } from '../store/types.js';
import type { DecisionRecord } from '../replication/failover.js';
import type { ApplierLease } from '../replication/lease.js';
import type { NodeLifecycle } from '../replication/lifecycle.js';
import type { LogCompactor } from '../replication/compaction.js';
import type { AntiEntropy } from '../replication/anti-entropy.js';
import { redactUrl } from '../log/redact.js';
import type { MemberChange } from './members.js';
import { VERSION } from '../version.js';
import type { DecisionStatus, GatewayStatus } from '../status/schema.js';

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export function gatewayHealth(cluster: Cluster): { status: HealthStatus; code: number } {
  // A node serves only once its identity is checked (replication/lifecycle.ts): up alone is not enough.
  const up = cluster.nodes.filter((n) => n.isUp && n.isMember);
  if (up.length === 0) return { status: 'unhealthy', code: 503 };
  const allGood = up.length === cluster.nodes.length && cluster.primary.isUp && cluster.nodes.every((n) => n.syncState !== 'diverged');
  return { status: allGood ? 'healthy' : 'degraded', code: 200 };
}

/** in-sync, syncing, diverged, or, for a node that is not a member, unverified, resync or foreign. */
export function syncStateOf(node: ClusterNode, log: ReplicationLog): ClusterNode['syncState'] | Exclude<ClusterNode['lifecycle'], 'member'> {
  if (node.syncState === 'diverged') return 'diverged';
  if (node.lifecycle !== 'member') return node.lifecycle;
  return node.appliedSeq >= log.committedHead ? 'in-sync' : 'syncing';
}

const decisionJson = (d: DecisionRecord | null): DecisionStatus | null => d && { ...d, at: new Date(d.at).toISOString() };

/** What /status reports beyond nodes and the log; absent for callers that only need those (metrics). */
export interface StatusSources {
  /** Who decides roles here, and the applier lease. */
  control?: { roles: { lastDecision: DecisionRecord | null; lastAction: DecisionRecord | null }; lease: ApplierLease };
  lifecycle?: NodeLifecycle;
  compactor?: LogCompactor;
  antiEntropy?: AntiEntropy;
  members?: { recentChanges(): MemberChange[] };
}

export async function gatewayStatus(
  cluster: Cluster,
  log: ReplicationLog,
  store: ReplicationStore,
  startedAt: number,
  { control, lifecycle, compactor, antiEntropy, members }: StatusSources = {},
): Promise<GatewayStatus> {
  const leaseView = control?.lease.view();
  const health = gatewayHealth(cluster);
  let storeReachable = true;
  let logStats: { head: number; entries: number; bytes: number; oldest: number | null } | null = null;
  try {
    logStats = await store.stats();
  } catch {
    storeReachable = false;
  }
  const nodes = await Promise.all(
    cluster.nodes.map(async (n) => {
      const lagEntries = Math.max(0, log.committedHead - n.appliedSeq);
      let lagSeconds = 0;
      if (lagEntries > 0 && storeReachable) {
        const next = await store.firstCommittedAfter(n.appliedSeq).catch(() => null);
        if (next) lagSeconds = Math.max(0, (Date.now() - next.createdAt) / 1000);
      }
      return {
        name: n.name,
        url: redactUrl(n.config.url),
        role: n.role,
        priority: n.priority,
        health: n.health,
        healthSince: new Date(n.healthSince).toISOString(),
        consecutiveFailures: n.consecutiveFailures,
        consecutiveSuccesses: n.consecutiveSuccesses,
        lastCheck: n.lastCheckAt ? new Date(n.lastCheckAt).toISOString() : null,
        latencyMs: n.lastLatencyMs,
        lastError: n.lastError ? redactUrl(n.lastError) : null,
        appliedPosition: n.appliedSeq,
        lagEntries,
        lagSeconds: Math.round(lagSeconds * 1000) / 1000,
        syncState: syncStateOf(n, log),
        divergedReason: n.divergedReason,
        lifecycleReason: n.lifecycleReason,
        drained: n.drained,
        /** A refill by copy under way: records copied and total, rate, ETA, the log position it started from. */
        copy: lifecycle?.copyStatus(n) ?? null,
        inFlight: n.inFlight,
      };
    }),
  );
  return {
    status: health.status,
    version: VERSION,
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    primary: cluster.primary.name,
    epoch: cluster.epoch,
    failovers: { count: cluster.failoverCount, last: cluster.lastFailover },
    /** The failover coordinator's last decision (usually 'none') and its last action, each with its reason. */
    decision: control && { last: decisionJson(control.roles.lastDecision), lastAction: decisionJson(control.roles.lastAction) },
    lease: control &&
      leaseView && {
        gateway: control.lease.gatewayId,
        held: leaseView.held,
        holder: leaseView.holder,
        expiresAt: leaseView.held ? new Date(leaseView.expiresAt).toISOString() : null,
        // Taken over from an expired lease: the predecessor's requests may still be in flight until then.
        graceUntil: leaseView.graceUntil ? new Date(leaseView.graceUntil).toISOString() : null,
      },
    nodes,
    antiEntropy: antiEntropy && antiEntropyJson(antiEntropy),
    membership: members && { changes: members.recentChanges() },
    log: {
      store: store.kind,
      storeReachable,
      head: logStats?.head ?? log.head,
      committedHead: log.committedHead,
      entries: logStats?.entries ?? null,
      bytes: logStats?.bytes ?? null,
      /** Oldest entry still stored, and the compaction point (entries up to it may be gone). */
      oldestRetained: logStats?.oldest ?? null,
      truncatedThrough: compactor?.truncatedThrough ?? 0,
      pendingWrites: log.pendingCount,
    },
  };
}

/** The background verify-and-repair: its interval, whether a pass runs now, and the last pass's outcome. */
function antiEntropyJson(a: AntiEntropy): NonNullable<GatewayStatus['antiEntropy']> {
  const { last, ...rest } = a.status();
  return {
    ...rest,
    last: last && {
      ...last,
      startedAt: new Date(last.startedAt).toISOString(),
      finishedAt: new Date(last.finishedAt).toISOString(),
      durationMs: last.finishedAt - last.startedAt,
    },
  };
}
