// Adaptive failure bounds from observed latency. A probe, or a write in flight on the primary, counts as
// a failed check only once it has taken SLOWDOWN_FACTOR times longer than the node's recent slow answers
// (the 90th percentile of its last WINDOW answers), clamped to [min, max]: a node that is merely slow, even
// 5× its usual latency, keeps passing, while a node that stops answering is caught within about `min`
// instead of a fixed worst case. A percentile of a short window (rather than a smoothed mean) needs only
// a few samples to be right, which matters for probes sent once a second, and one stray slow answer does
// not move it.

export interface LatencyBounds {
  minMs: number;
  maxMs: number;
}

/** How many times its recent slow latency a node may take before an answer counts as missing. */
export const SLOWDOWN_FACTOR = 10;
/** Answers remembered per node. */
export const WINDOW = 20;

export class LatencyEstimator {
  private readonly samples: number[] = [];

  constructor(private readonly bounds: LatencyBounds) {}

  /** One answered request took `ms`. Requests that failed or timed out are not samples. */
  observe(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.samples.push(ms);
    if (this.samples.length > WINDOW) this.samples.shift();
  }

  /** The node's usual latency (median of the window, ms), or null before the first sample. */
  get usualMs(): number | null {
    return this.samples.length === 0 ? null : Math.round(this.quantile(0.5) * 10) / 10;
  }

  /** How long a request may take before it counts as a failed check; `max` until the node has answered once. */
  boundMs(): number {
    if (this.samples.length === 0) return this.bounds.maxMs;
    const adaptive = SLOWDOWN_FACTOR * this.quantile(0.9);
    return Math.round(Math.min(this.bounds.maxMs, Math.max(this.bounds.minMs, adaptive)));
  }

  private quantile(q: number): number {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  }
}
