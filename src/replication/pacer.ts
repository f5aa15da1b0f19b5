// Paces verify's reads to VERIFY_RECORDS_PER_SECOND: a token bucket holding at most one second of records,
// so a long verify averages the rate and never bursts more than a second's worth after an idle spell.
// The clock is injected (pure decision in `delayFor`, unit-tested); 0 means no limit.

export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: PacerClock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export class RecordPacer {
  /** When the records booked so far are paid for at the rate (ms on the clock); a take waits until then. */
  private paidUntil: number;

  constructor(
    private readonly recordsPerSecond: number,
    private readonly clock: PacerClock = realClock,
  ) {
    this.paidUntil = clock.now() - 1_000;
  }

  /** Ms to wait before `records` more may be read at `now`; books them. */
  delayFor(records: number, now: number): number {
    if (this.recordsPerSecond <= 0 || records <= 0) return 0;
    // Unused allowance older than a second is forfeited: a burst after idling is at most one second's worth.
    const start = Math.max(this.paidUntil, now - 1_000);
    this.paidUntil = start + (records * 1_000) / this.recordsPerSecond;
    return Math.max(0, this.paidUntil - now);
  }

  /** Waits until `records` more may be read. */
  async take(records: number): Promise<void> {
    const wait = this.delayFor(records, this.clock.now());
    if (wait > 0) await this.clock.sleep(wait);
  }
}
