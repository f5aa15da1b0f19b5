// The maintenance slot: one verify, repair, backup or anti-entropy pass at a time on a gateway, since each
// reads every record of the nodes (and repair pauses replicas). A job that finds the slot taken is refused at
// once with what is running and for how long (the admin API answers 409): waiting behind a pass of unknown
// length would hold an HTTP request open, and the background pass simply tries again at its next interval.
import { errors } from '../errors/catalogue.js';

export class MaintenanceSlot {
  private current: { what: string; since: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** What holds the slot, if anything. */
  get running(): { what: string; since: number } | null {
    return this.current;
  }

  /** Runs `fn` holding the slot; throws CHA_MAINTENANCE_BUSY (409) when another job holds it. */
  async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const held = this.current;
    if (held) throw errors.maintenanceBusy(held.what, Math.round((this.now() - held.since) / 1000));
    this.current = { what, since: this.now() };
    try {
      return await fn();
    } finally {
      this.current = null;
    }
  }
}
