// Keeps this gateway's claim on the applier lease: tries to take it at start, renews it well inside its
// period, and gives it up on a clean shutdown so a successor need not wait for it to expire. The lease is
// valid locally until (time the renewal was sent + TTL − safety margin, lease-grace.ts): before the store's
// own expiry, so this gateway stops applying, and its requests under the lease are aborted (sendSignal),
// before any other gateway can take over. With SQLite the same code runs against
// the local file, where the single gateway always holds it. A lease taken over after it expired under
// another gateway counts as held only once that gateway's requests are surely over (lease-grace.ts).
import type { Logger } from '../log/logger.js';
import type { ReplicationStore } from '../store/types.js';
import type { ApplierLease, LeaseView } from './lease.js';
import { leaseMargins, takeoverGrace, type LeaseMargins } from './lease-grace.js';

/** LEASE_PERIOD and LEASE_RENEW_INTERVAL (src/config/settings.ts), in ms. */
export interface LeaseTiming {
  ttlMs: number;
  renewMs: number;
}

export class LeaseKeeper implements ApplierLease {
  private expiresAt = 0;
  /** Taken over from an expired lease: not held (nothing is sent) before this time. */
  private activeFrom = 0;
  private graceTimer: NodeJS.Timeout | null = null;
  private lastTakeover: { at: number; waitMs: number; reason: string } | null = null;
  private holder: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lapse: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private wasHeld = false;
  private sawOther = false;
  private readonly listeners: Array<(held: boolean) => void> = [];
  /** Aborted when this gateway's hold of the lease ends; a new one for each hold. */
  private term = abortedController();
  private readonly margins: LeaseMargins;

  constructor(
    private readonly store: ReplicationStore,
    readonly gatewayId: string,
    private readonly logger: Logger,
    private readonly timing: LeaseTiming,
    private readonly clock: () => number = Date.now,
  ) {
    this.margins = leaseMargins(timing.ttlMs);
  }

  /** Tries once to take the lease (so a lone gateway starts as leaseholder), then renews on a timer. */
  async start(): Promise<void> {
    await this.renew();
    this.timer = setInterval(() => void this.renew(), this.timing.renewMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.lapse) clearTimeout(this.lapse);
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.timer = null;
    await this.renewing;
    if (this.expiresAt > 0) await this.store.releaseLease(this.gatewayId).catch(() => undefined);
    this.expiresAt = 0;
    this.check();
  }

  /** Called with true when this gateway gains the lease, false when it loses it (or it lapses). */
  onChange(listener: (held: boolean) => void): void {
    this.listeners.push(listener);
  }

  isHeld(): boolean {
    const now = this.clock();
    return now < this.expiresAt && now >= this.activeFrom;
  }

  /**
   * The signal every request sent under the lease carries: aborted the moment this gateway's hold ends (at the
   * latest its local lease end), so none of them is on the wire when the store lets another gateway take over.
   * Already aborted when the lease is not held, so a request that would start too late is never sent.
   */
  sendSignal(): AbortSignal {
    this.check();
    return this.term.signal;
  }

  /** The last time this gateway took the lease from another one, how long it waited before sending, and why. */
  takeover(): { at: number; waitMs: number; reason: string } | null {
    return this.lastTakeover;
  }

  sharedWithOthers(): boolean {
    return this.sawOther;
  }

  view(): LeaseView {
    const held = this.isHeld();
    const graceUntil = !held && this.clock() < this.activeFrom && this.activeFrom < this.expiresAt ? this.activeFrom : undefined;
    return { held, holder: held ? this.gatewayId : this.holder, expiresAt: held ? this.expiresAt : 0, ...(graceUntil ? { graceUntil } : {}) };
  }

  private renew(): Promise<void> {
    this.renewing ??= this.attempt().finally(() => (this.renewing = null));
    return this.renewing;
  }

  private async attempt(): Promise<void> {
    const sentAt = this.clock();
    try {
      const { holder, expiresInMs, expiredPredecessor } = await this.store.acquireLease(this.gatewayId, this.timing.ttlMs);
      this.holder = holder || null;
      if (holder && holder !== this.gatewayId) this.sawOther = true;
      const tookNow = holder === this.gatewayId && this.expiresAt <= sentAt;
      this.expiresAt = holder === this.gatewayId ? sentAt + this.timing.ttlMs - this.margins.safetyMs : 0;
      if (tookNow) this.beginHolding(this.clock(), expiredPredecessor);
      if (this.lapse) clearTimeout(this.lapse);
      if (this.expiresAt > 0) {
        // Tell the appliers the moment the lease lapses, should no renewal get through before then.
        this.lapse = setTimeout(() => this.check(), Math.max(0, this.expiresAt - this.clock()) + 1);
      } else {
        // Someone else holds it: try again just after it would expire, rather than up to a renewal period later.
        this.lapse = expiresInMs < this.timing.renewMs ? setTimeout(() => void this.renew(), Math.max(0, expiresInMs) + 10) : null;
      }
      this.lapse?.unref();
    } catch (err) {
      // The store is unreachable: the lease lapses on its own at expiresAt, as it does for the others.
      this.logger.warn({ err: (err as Error).message }, 'could not renew the applier lease');
    }
    this.check();
  }

  /**
   * Took the lease (it was not ours a moment ago): sends nothing until the predecessor's requests are over.
   * The wait counts from when the store's answer arrived, not from when the request left: the store measured
   * how long ago the old lease expired at some moment in between, so this never starts early.
   */
  private beginHolding(receivedAt: number, predecessor: { holder: string; expiredAgoMs: number } | undefined): void {
    if (predecessor) this.sawOther = true;
    const { drainMs } = this.margins;
    const grace = takeoverGrace(predecessor ? { took: 'expired', expiredAgoMs: predecessor.expiredAgoMs, drainMs } : { took: 'released', drainMs });
    this.activeFrom = receivedAt + grace.waitMs;
    if (predecessor || grace.waitMs > 0) {
      this.lastTakeover = { at: receivedAt, waitMs: grace.waitMs, reason: grace.reason };
      this.logger.warn({ gateway: this.gatewayId, predecessor: predecessor?.holder, waitMs: grace.waitMs }, `took the applier lease over: ${grace.reason}`);
    }
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.graceTimer = grace.waitMs > 0 ? setTimeout(() => this.check(), Math.max(0, this.activeFrom - this.clock()) + 1) : null;
    this.graceTimer?.unref();
  }

  /** Reports a change of holding, including a lease that lapsed between two renewals. */
  private check(): void {
    const held = this.isHeld();
    if (held === this.wasHeld) return;
    this.wasHeld = held;
    if (held) this.term = new AbortController();
    else this.term.abort(new Error('the applier lease is no longer held'));
    this.logger.warn({ gateway: this.gatewayId, holder: this.holder }, held ? 'took the applier lease' : 'lost the applier lease');
    for (const l of this.listeners) l(held);
  }
}

function abortedController(): AbortController {
  const c = new AbortController();
  c.abort(new Error('the applier lease is not held'));
  return c;
}
