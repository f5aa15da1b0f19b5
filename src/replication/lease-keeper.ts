// Keeps this gateway's claim on the applier lease: tries to take it at start, renews it well inside its
// period, and gives it up on a clean shutdown so a successor need not wait for it to expire. The lease is
// valid locally until (time the renewal was sent + TTL): never later than the store's own expiry, so this
// gateway stops applying before any other gateway can take over. With SQLite the same code runs against
// the local file, where the single gateway always holds it.
import type { Logger } from '../log/logger.js';
import type { ReplicationStore } from '../store/types.js';
import type { ApplierLease, LeaseView } from './lease.js';

export interface LeaseTiming {
  ttlMs: number;
  renewMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { ttlMs: 5_000, renewMs: 1_000 };

export class LeaseKeeper implements ApplierLease {
  private expiresAt = 0;
  private holder: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lapse: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private wasHeld = false;
  private sawOther = false;
  private readonly listeners: Array<(held: boolean) => void> = [];

  constructor(
    private readonly store: ReplicationStore,
    readonly gatewayId: string,
    private readonly logger: Logger,
    private readonly timing: LeaseTiming = DEFAULT_LEASE_TIMING,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Tries once to take the lease (so a lone gateway starts as leaseholder), then renews on a timer. */
  async start(): Promise<void> {
    await this.renew();
    this.timer = setInterval(() => void this.renew(), this.timing.renewMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.lapse) clearTimeout(this.lapse);
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
    return this.clock() < this.expiresAt;
  }

  sharedWithOthers(): boolean {
    return this.sawOther;
  }

  view(): LeaseView {
    const held = this.isHeld();
    return { held, holder: held ? this.gatewayId : this.holder, expiresAt: held ? this.expiresAt : 0 };
  }

  private renew(): Promise<void> {
    this.renewing ??= this.attempt().finally(() => (this.renewing = null));
    return this.renewing;
  }

  private async attempt(): Promise<void> {
    const sentAt = this.clock();
    try {
      const { holder, expiresInMs } = await this.store.acquireLease(this.gatewayId, this.timing.ttlMs);
      this.holder = holder || null;
      if (holder && holder !== this.gatewayId) this.sawOther = true;
      this.expiresAt = holder === this.gatewayId ? sentAt + this.timing.ttlMs : 0;
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

  /** Reports a change of holding, including a lease that lapsed between two renewals. */
  private check(): void {
    const held = this.isHeld();
    if (held === this.wasHeld) return;
    this.wasHeld = held;
    this.logger.warn({ gateway: this.gatewayId, holder: this.holder }, held ? 'took the applier lease' : 'lost the applier lease');
    for (const l of this.listeners) l(held);
  }
}
