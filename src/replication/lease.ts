// The applier lease: which gateway may apply the log and change roles. Exactly one gateway at a time holds
// it; the others accept requests, append writes and route reads, but run no appliers and promote nothing.
// This interface is what the appliers and the failover coordinator see; the store-backed implementation
// lives in lease-keeper.ts.

export interface LeaseView {
  held: boolean;
  /** Id of the gateway holding the lease, when known. */
  holder: string | null;
  /** Until when (local clock, ms) this gateway's lease is valid without a renewal; 0 when not held. */
  expiresAt: number;
  /** This gateway took the lease over after it expired elsewhere and sends nothing until then (local clock, ms). */
  graceUntil?: number;
}

export interface ApplierLease {
  /** This gateway's id as written in the lease row. */
  readonly gatewayId: string;
  view(): LeaseView;
  /** True while this gateway holds an unexpired lease. */
  isHeld(): boolean;
  /** Carried by every request sent under the lease: aborted when the hold ends (already, when not held). */
  sendSignal(): AbortSignal;
  /** Whether another gateway has ever been seen holding the lease: the log is shared. */
  sharedWithOthers(): boolean;
}
