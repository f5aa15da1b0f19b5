// How long a gateway that just took the applier lease waits before it sends anything to a node. A lease
// given up on a clean shutdown means its holder had stopped sending: start at once. A lease that expired
// means its holder may have been killed, frozen or cut off with requests on the wire. Every request a holder
// sends is bounded by one lease period (applier.ts: its time limit is at most the period, and it is aborted
// when the lease lapses) and is sent only while the lease is valid, so the last one ends at most one period
// after the lease expired: the new holder waits out what is left of that bound, and two gateways' writes can
// never be in flight on one node at once.

export interface TakeoverFacts {
  /** The lease this gateway took: free or given up ('released'), expired under another gateway, or already ours. */
  took: 'released' | 'expired' | 'ours';
  /** For 'expired': how long ago (store clock) the predecessor's lease expired. */
  expiredAgoMs?: number;
  /** How long after its lease expired a predecessor's request may still be in flight: the lease period. */
  sendBoundMs: number;
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
  const waitMs = Math.max(0, facts.sendBoundMs - ago);
  if (waitMs === 0) {
    return { waitMs, reason: `the predecessor's lease expired ${ago} ms ago, beyond its ${facts.sendBoundMs} ms send bound: nothing of it can still be in flight` };
  }
  return {
    waitMs,
    reason: `the predecessor's lease expired ${ago} ms ago and its requests may stay in flight for ${facts.sendBoundMs} ms after that: waiting ${waitMs} ms before sending`,
  };
}
