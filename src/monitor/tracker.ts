// Turns a stream of check results into up/down state with fall/rise thresholds, remembering when the
// current streak began: an outage starts at its first failed check, a recovery at its first success.

export type TargetState = 'unknown' | 'up' | 'down';

export interface Transition {
  from: TargetState;
  to: 'up' | 'down';
  at: number;
  /** First check of the streak that caused the change. */
  since: number;
  reason: string;
}

export class StateTracker {
  state: TargetState = 'unknown';
  failures = 0;
  successes = 0;
  lastError: string | null = null;
  /** When the current state began (its streak's first check). */
  stateSince: number | null = null;
  private streakStart: number | null = null;

  constructor(
    private readonly fall: number,
    private readonly rise: number,
  ) {}

  /** Records one check; returns the change of state it caused, if any. A first success means up at once. */
  observe(ok: boolean, at: number, error: string | null = null): Transition | null {
    if (ok) {
      if (this.successes === 0) this.streakStart = at;
      this.successes++;
      this.failures = 0;
      const needed = this.state === 'unknown' ? 1 : this.rise;
      if (this.state !== 'up' && this.successes >= needed) return this.change('up', at, `${this.successes} successful check(s)`);
    } else {
      if (this.failures === 0) this.streakStart = at;
      this.failures++;
      this.successes = 0;
      this.lastError = error;
      if (this.state !== 'down' && this.failures >= this.fall) return this.change('down', at, `${this.failures} failed check(s): ${error ?? 'failed'}`);
    }
    return null;
  }

  private change(to: 'up' | 'down', at: number, reason: string): Transition {
    const t: Transition = { from: this.state, to, at, since: this.streakStart ?? at, reason };
    this.state = to;
    this.stateSince = t.since;
    return t;
  }
}
