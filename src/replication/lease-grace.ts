// When a leaseholder's requests to the nodes must end, and how long a gateway that just took the applier
// lease waits before it sends anything. The holder counts its lease as ending at (time its last successful
// renewal was sent + LEASE_PERIOD − safety margin): never later than the store's own expiry, which the store
// computed from a later moment, less a margin for a late timer or a drifting clock. Every request it sends
// under the lease carries the lease's abort signal (lease-keeper.ts), so at that moment each one is aborted
// and nothing new starts: nothing of the old holder is left on the wire at the store's expiry. What can remain
// is a request the node had already received and is still processing; a new holder that took an expired
// lease therefore waits a short drain margin after the store's expiry (a lease given up on a clean shutdown
// had stopped sending and is used at once). Both margins are 1 s, or a fifth of the period if that is
// shorter: a Chroma write takes milliseconds to tens of milliseconds, and the renewal interval (at most a
// third of the period) stays well inside the holder's shortened lease. A write aborted at the lease's end
// may still have been applied by the node: the applier marks it in doubt like any other unknown outcome and
// the next holder reads it back before deciding it again.

/** The holder's safety margin before the store's expiry and the new holder's drain margin after it, in ms. */
export interface LeaseMargins {
  safetyMs: number;
  drainMs: number;
}

export function leaseMargins(periodMs: number): LeaseMargins {
  const margin = Math.min(1_000, Math.round(periodMs / 5));
  return { safetyMs: margin, drainMs: margin };
}

export interface TakeoverFacts {
  /** The lease this gateway took: free or given up ('released'), expired under another gateway, or already ours. */
  took: 'released' | 'expired' | 'ours';
  /** For 'expired': how long ago (store clock) the predecessor's lease expired. */
  expiredAgoMs?: number;
  /** How long after its lease expired at the store a predecessor's request may still be processed by a node. */
  drainMs: number;
}

export interface TakeoverGrace {
  waitMs: number;
  reason: string;
}

export function takeoverGrace(facts: TakeoverFacts): TakeoverGrace {
  if (facts.took === 'ours') return { waitMs: 0, reason: 'renewed this gateway\'s own lease' };
  if (facts.took === 'released') {
    return { waitMs: 0, reason: 'the lease was free or given up on a clean shutdown: its holder had stopped sending' };
  }
  const ago = Math.max(0, facts.expiredAgoMs ?? 0);
  const waitMs = Math.max(0, facts.drainMs - ago);
  if (waitMs === 0) {
    return { waitMs, reason: `the predecessor's lease expired ${ago} ms ago, beyond the ${facts.drainMs} ms a node may still be processing its last request: nothing of it can still be in flight` };
  }
  return {
    waitMs,
    reason: `the predecessor's lease expired ${ago} ms ago (its requests were aborted before that) and a node may still be processing its last one for ${facts.drainMs} ms: waiting ${waitMs} ms before sending`,
  };
}
