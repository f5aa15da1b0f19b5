// The one place where role changes are decided, in the manner of Patroni's ha.py cycle: a pure function
// from what the gateway observes (node health and positions, priorities, the roles recorded in the store,
// whether this gateway holds the applier lease, the clock) to one action and a sentence saying why.
// Every branch returns its reason. The failover coordinator only gathers observations and executes actions.

export interface NodeView {
  id: string;
  name: string;
  health: 'unknown' | 'up' | 'down';
  syncState: 'syncing' | 'in-sync' | 'diverged';
  /** Whether the node's identity is established (replication/lifecycle.ts): only members hold their data for sure. */
  lifecycle: 'unverified' | 'member' | 'resync' | 'foreign';
  /** Why a node is not a member (wiped, another cluster's, ...). */
  lifecycleReason?: string | null;
  appliedSeq: number;
  priority: number;
  lastError: string | null;
}

export interface Observations {
  /** Injected clock (ms). */
  now: number;
  nodes: NodeView[];
  /** The primary and epoch this gateway currently routes writes by. */
  primaryId: string;
  epoch: number;
  /** The primary and epoch last read from the store: the cluster's authority on roles. */
  stored: { primaryId: string | null; epoch: number };
  committedHead: number;
  /** Whether this gateway holds the applier lease, and until when (ms) it is valid without renewal. */
  lease: { held: boolean; holder: string | null; expiresAt: number; graceUntil?: number };
  /** When a switchover to this node last failed to complete (it could not catch up in time). */
  lastSkippedSwitchover: { nodeId: string; at: number } | null;
  /**
   * The node an operator switched over to (POST /admin/switchover): it counts as the highest priority, so an
   * automatic failback to the configured primary does not undo the operator's choice.
   */
  preferredPrimaryId?: string | null;
}

export type Decision =
  | { action: 'none'; reason: string }
  /** Adopt the roles recorded in the store: another gateway promoted, this gateway's view is stale. */
  | { action: 'follow'; primaryId: string; epoch: number; reason: string }
  | { action: 'failover'; to: string; reason: string }
  | { action: 'switchover'; to: string; reason: string };

/** Entries behind the most caught-up candidate that still count as "most caught-up". */
export const CAUGHT_UP_SLACK = 100;
/** A promotion is not started with less lease left than this: it must complete while the lease is valid. */
export const LEASE_SAFETY_MS = 1_000;
/** After a switchover could not complete, the same node is not tried again for this long. */
export const SWITCHOVER_BACKOFF_MS = 5_000;

const usable = (n: NodeView) => n.health === 'up' && n.syncState !== 'diverged' && n.lifecycle === 'member';

export function decide(observed: Observations): Decision {
  const o = withOperatorPreference(observed);
  const byId = (id: string | null) => o.nodes.find((n) => n.id === id);

  if (o.stored.epoch > o.epoch) {
    const recorded = byId(o.stored.primaryId);
    if (!recorded) {
      return { action: 'none', reason: `the store records epoch ${o.stored.epoch} with primary ${o.stored.primaryId ?? 'none'}, which is not a configured node; keeping epoch ${o.epoch}` };
    }
    return {
      action: 'follow',
      primaryId: recorded.id,
      epoch: o.stored.epoch,
      reason: `the store records epoch ${o.stored.epoch} with primary ${recorded.name}, newer than this gateway's epoch ${o.epoch}: following it`,
    };
  }

  if (!o.lease.held && o.lease.graceUntil !== undefined) {
    return { action: 'none', reason: `this gateway took the applier lease over after it expired and changes no role for ${Math.max(0, o.lease.graceUntil - o.now)} ms, until the old holder's requests are surely over` };
  }
  if (!o.lease.held) {
    return { action: 'none', reason: `this gateway does not hold the applier lease (${o.lease.holder ? `held by ${o.lease.holder}` : 'unheld'}); only the leaseholder changes roles` };
  }
  const leaseLeft = o.lease.expiresAt - o.now;
  if (leaseLeft < LEASE_SAFETY_MS) {
    return { action: 'none', reason: `the applier lease expires in ${Math.max(0, leaseLeft)} ms, too soon to change roles safely` };
  }

  const primary = byId(o.primaryId);
  if (!primary) return { action: 'none', reason: `primary ${o.primaryId} is not a configured node` };

  if (!usable(primary)) {
    if (primary.health === 'unknown') return { action: 'none', reason: `primary ${primary.name} has not been probed yet: waiting for a verdict` };
    if (primary.health === 'up' && primary.lifecycle === 'unverified') {
      return { action: 'none', reason: `primary ${primary.name} is up and its identity is being checked: waiting for a verdict` };
    }
    const why =
      primary.syncState === 'diverged'
        ? `primary ${primary.name} diverged`
        : primary.health === 'up'
          ? `primary ${primary.name} is up but not a member (${primary.lifecycleReason ?? primary.lifecycle})`
          : `primary ${primary.name} is down: ${primary.lastError ?? 'failed checks'}`;
    const candidates = o.nodes.filter((n) => n !== primary && usable(n));
    if (candidates.length === 0) return { action: 'none', reason: `${why}, and no replica is up, a member and not diverged to take over` };
    // Replicas trail the primary by a few entries all the time; within that slack priority decides.
    const best = Math.max(...candidates.map((n) => n.appliedSeq));
    const chosen = candidates
      .filter((n) => n.appliedSeq >= best - CAUGHT_UP_SLACK)
      .sort((a, b) => b.priority - a.priority || b.appliedSeq - a.appliedSeq || a.name.localeCompare(b.name))[0]!;
    return {
      action: 'failover',
      to: chosen.id,
      reason: `${why}; ${chosen.name} (priority ${chosen.priority}, position ${chosen.appliedSeq}) has the highest priority among the most caught-up replicas`,
    };
  }

  const preferred = o.nodes
    .filter((n) => n !== primary && usable(n) && n.priority > primary.priority)
    .sort((a, b) => b.priority - a.priority || b.appliedSeq - a.appliedSeq)[0];
  if (!preferred) return { action: 'none', reason: `primary ${primary.name} is healthy and no usable node has a higher priority` };
  const behind = o.committedHead - preferred.appliedSeq;
  if (behind > CAUGHT_UP_SLACK) {
    return { action: 'none', reason: `${preferred.name} has a higher priority than ${primary.name} but is ${behind} entries behind: waiting for it to catch up` };
  }
  const skipped = o.lastSkippedSwitchover;
  if (skipped && skipped.nodeId === preferred.id && o.now - skipped.at < SWITCHOVER_BACKOFF_MS) {
    return { action: 'none', reason: `a switchover to ${preferred.name} could not complete ${o.now - skipped.at} ms ago: retrying after ${SWITCHOVER_BACKOFF_MS} ms` };
  }
  return {
    action: 'switchover',
    to: preferred.id,
    reason: `${preferred.name} has priority ${preferred.priority} (above ${primary.name}'s ${primary.priority}) and is ${Math.max(0, behind)} entries short of the committed head`,
  };
}

/** The operator's choice outranks every configured priority (it is shown as such in the reasons). */
function withOperatorPreference(o: Observations): Observations {
  const preferred = o.preferredPrimaryId;
  if (!preferred || !o.nodes.some((n) => n.id === preferred)) return o;
  const top = Math.max(...o.nodes.map((n) => n.priority)) + 1;
  return { ...o, nodes: o.nodes.map((n) => (n.id === preferred ? { ...n, priority: top } : n)) };
}

/** What decideSwitchover needs to know about a node beyond the failover's view of it. */
export interface SwitchoverNodeView extends NodeView {
  drained: boolean;
}

export interface SwitchoverRequest {
  /** The node the operator named (its name, or its URL without credentials). */
  target: string;
  nodes: SwitchoverNodeView[];
  primaryId: string;
  committedHead: number;
  lease: { held: boolean; holder: string | null };
}

export type SwitchoverDecision =
  | { action: 'switchover'; to: string; reason: string }
  | { action: 'refuse'; status: 404 | 409; reason: string };

/**
 * Whether a planned switchover to the named node may start (POST /admin/switchover). It is refused, with
 * the reason, unless this gateway holds the lease and the target is a healthy, in-sync (or at most
 * CAUGHT_UP_SLACK entries short), undrained member other than the primary; executing it then waits, with
 * writes held, until the target has applied every committed entry.
 */
export function decideSwitchover(r: SwitchoverRequest): SwitchoverDecision {
  const refuse = (reason: string, status: 404 | 409 = 409): SwitchoverDecision => ({ action: 'refuse', status, reason });
  const target = r.nodes.find((n) => n.name === r.target || n.id === r.target);
  if (!target) return refuse(`no node named ${r.target}; nodes: ${r.nodes.map((n) => n.name).join(', ')}`, 404);
  if (!r.lease.held) {
    return refuse(`this gateway does not hold the applier lease (${r.lease.holder ? `held by ${r.lease.holder}` : 'unheld'}): ask the leaseholder, only it changes roles`);
  }
  const primary = r.nodes.find((n) => n.id === r.primaryId);
  if (target.id === r.primaryId) return refuse(`${target.name} is already the primary`);
  if (target.health !== 'up') return refuse(`${target.name} is ${target.health === 'down' ? `down: ${target.lastError ?? 'failed checks'}` : 'not probed yet'}`);
  if (target.syncState === 'diverged') return refuse(`${target.name} diverged: repair or resync it first`);
  if (target.lifecycle !== 'member') return refuse(`${target.name} is not a member yet (${target.lifecycle}${target.lifecycleReason ? `: ${target.lifecycleReason}` : ''})`);
  if (target.drained) return refuse(`${target.name} is drained: undrain it first`);
  if (!primary || primary.health !== 'up') return refuse(`the primary ${primary?.name ?? r.primaryId} is not up: automatic failover handles that, not a planned switchover`);
  const behind = r.committedHead - target.appliedSeq;
  if (behind > CAUGHT_UP_SLACK) return refuse(`${target.name} is ${behind} entries behind the committed head (at most ${CAUGHT_UP_SLACK}): wait until it is in sync`);
  return {
    action: 'switchover',
    to: target.id,
    reason: `planned switchover from ${primary.name} to ${target.name} requested by an operator (${Math.max(0, behind)} entries short of the committed head)`,
  };
}
