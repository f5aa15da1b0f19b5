// The probe traffic that runs through the whole failover: one writer adding a record at a time, one reader
// reading back records that were already acknowledged (read-your-writes: an acknowledged record that a
// read does not return is a stale read). Every request is timed and kept for the report.
import type { GatewayClient } from './gateway-client.js';
import { describe } from './gateway-client.js';

export interface WriteSample {
  id: string;
  startMs: number;
  endMs: number;
  /** acked: 2xx. rejected: the gateway said it was not applied (503). unknown: any other failure. */
  outcome: 'acked' | 'rejected' | 'unknown';
  error?: string;
}

export interface ReadSample {
  startMs: number;
  endMs: number;
  ok: boolean;
  error?: string;
}

export interface WorkloadOptions {
  writeIntervalMs: number;
  readIntervalMs: number;
  /** Milliseconds since the start of the test (all samples use this clock). */
  now: () => number;
}

export class ProbeWorkload {
  readonly writes: WriteSample[] = [];
  readonly reads: ReadSample[] = [];
  private readonly acked: string[] = [];
  private stopped = false;
  private loops: Promise<void>[] = [];
  private counter = 0;

  constructor(
    private readonly client: GatewayClient,
    private readonly collectionId: string,
    private readonly options: WorkloadOptions,
  ) {}

  start(): void {
    this.loops = [this.writeLoop(), this.readLoop()];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  get ackedIds(): readonly string[] {
    return this.acked;
  }

  /** Acknowledged writes that finished after `sinceMs`. */
  ackedSince(sinceMs: number): number {
    return this.writes.filter((w) => w.outcome === 'acked' && w.endMs > sinceMs).length;
  }

  private async writeLoop(): Promise<void> {
    while (!this.stopped) {
      const id = `probe-${String(++this.counter).padStart(6, '0')}`;
      const startMs = this.options.now();
      const r = await this.client.add(this.collectionId, id, [this.counter, 1, 0]);
      const sample: WriteSample = { id, startMs, endMs: this.options.now(), outcome: r.ok ? 'acked' : r.status === 503 ? 'rejected' : 'unknown' };
      if (!r.ok) sample.error = describe(r);
      if (r.ok) this.acked.push(id);
      this.writes.push(sample);
      await sleep(this.options.writeIntervalMs);
    }
  }

  private async readLoop(): Promise<void> {
    while (!this.stopped) {
      // The newest acknowledged record most often, older ones too: each must be readable at once.
      const pick = this.acked.length === 0 ? null : this.acked[Math.max(0, this.acked.length - 1 - Math.floor(Math.random() * 3))]!;
      if (pick) {
        const startMs = this.options.now();
        const r = await this.client.get(this.collectionId, [pick]);
        const sample: ReadSample = { startMs, endMs: this.options.now(), ok: r.ok && (r.ids ?? []).includes(pick) };
        if (!r.ok) sample.error = describe(r);
        else if (!sample.ok) sample.error = `stale read: acknowledged record ${pick} missing`;
        this.reads.push(sample);
      }
      await sleep(this.options.readIntervalMs);
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
