// The load generator: a fixed number of HTTP requests (or until a time limit) at a given concurrency
// over keep-alive connections to 127.0.0.1, with every request's latency kept for exact percentiles.
// Request bodies are prepared beforehand so the generator itself costs as little CPU as possible: it
// shares this process (and its event loop) with the in-process gateway. A measurement can be split
// into rounds that alternate with the other side's (see interleave), and the rounds combined after.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';

export interface BenchRequest {
  method: 'GET' | 'POST';
  path: string;
  body?: Buffer;
}

export interface LoadPlan {
  baseUrl: string;
  concurrency: number;
  /** Upper bound on requests; the phase also stops at the time limit. */
  requests: number;
  timeLimitMs: number;
  /** The i-th request (i counts from 0 across all workers). */
  request: (i: number) => BenchRequest;
  /** Statuses that count as success. */
  expect?: (status: number) => boolean;
}

/** One phase's raw measurements. */
export interface LoadRun {
  samplesMs: number[];
  errors: number;
  errorSamples: string[];
  durationS: number;
  cutShort: boolean;
  servedBy: Record<string, number>;
  processCpuMs: number;
  busyS: number;
}

export interface LatencySummary {
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult extends LatencySummary {
  requests: number;
  errors: number;
  /** First few error answers, for the report. */
  errorSamples: string[];
  /** Time spent in this side's phases (rounds added up). */
  durationS: number;
  requestsPerS: number;
  /** True when the time limit ended a phase before every planned request was sent. */
  cutShort: boolean;
  /** Which node served each answer (the gateway's X-Chroma-HA-Node header), when present. */
  servedBy: Record<string, number>;
  /**
   * CPU time of this whole process during the phases (load generator, plus the gateway when it is the
   * target): the difference per request between a gateway phase and a direct phase is the gateway's own cost.
   */
  processCpuMs: number;
  /** Share of the phases this process's event loop was busy (0-1), blocking work such as fsync included. */
  eventLoopUtilization: number;
}

export async function runLoad(plan: LoadPlan): Promise<LoadRun> {
  const pool = new Pool(plan.baseUrl, { connections: plan.concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const expect = plan.expect ?? ((s: number) => s >= 200 && s < 300);
  const samplesMs: number[] = [];
  const errorSamples: string[] = [];
  const servedBy: Record<string, number> = {};
  let next = 0;
  let errors = 0;
  const cpuBefore = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  const started = performance.now();
  const deadline = started + plan.timeLimitMs;
  const worker = async () => {
    while (next < plan.requests && performance.now() < deadline) {
      const r = plan.request(next++);
      const t0 = performance.now();
      try {
        const res = await pool.request({
          method: r.method,
          path: r.path,
          headers: r.body ? { 'content-type': 'application/json' } : {},
          body: r.body,
        });
        const text = await res.body.text();
        samplesMs.push(performance.now() - t0);
        const node = res.headers['x-chroma-ha-node'];
        if (typeof node === 'string' && node) servedBy[node] = (servedBy[node] ?? 0) + 1;
        if (!expect(res.statusCode)) {
          errors++;
          if (errorSamples.length < 3) errorSamples.push(`${res.statusCode} ${text.slice(0, 200)}`);
        }
      } catch (err) {
        errors++;
        if (errorSamples.length < 3) errorSamples.push((err as Error).message);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: plan.concurrency }, worker));
  } finally {
    await pool.close();
  }
  const durationS = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    samplesMs,
    errors,
    errorSamples,
    durationS,
    cutShort: next < plan.requests,
    servedBy,
    processCpuMs: (cpu.user + cpu.system) / 1000,
    busyS: performance.eventLoopUtilization(eluBefore).utilization * durationS,
  };
}

/** One result from a side's rounds: rates over the time spent in them, percentiles over every sample. */
export function combine(runs: LoadRun[]): LoadResult {
  const samples = runs.flatMap((r) => r.samplesMs);
  const durationS = runs.reduce((a, r) => a + r.durationS, 0);
  const servedBy: Record<string, number> = {};
  for (const r of runs) for (const [node, n] of Object.entries(r.servedBy)) servedBy[node] = (servedBy[node] ?? 0) + n;
  return {
    requests: samples.length,
    errors: runs.reduce((a, r) => a + r.errors, 0),
    errorSamples: runs.flatMap((r) => r.errorSamples).slice(0, 3),
    durationS,
    requestsPerS: durationS > 0 ? samples.length / durationS : 0,
    cutShort: runs.some((r) => r.cutShort),
    servedBy,
    processCpuMs: runs.reduce((a, r) => a + r.processCpuMs, 0),
    eventLoopUtilization: durationS > 0 ? runs.reduce((a, r) => a + r.busyS, 0) / durationS : 0,
    ...summarize(samples),
  };
}

/**
 * Runs `rounds` rounds of every side, alternating which side goes first, so that load from other work
 * on a shared machine falls on all sides alike instead of on whichever ran while it was busy.
 * `round(side, r)` runs one side's share of round r.
 */
export async function interleave<S extends string>(sides: S[], rounds: number, round: (side: S, r: number) => Promise<LoadRun>): Promise<Record<S, LoadResult>> {
  const runs = new Map<S, LoadRun[]>(sides.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++) {
    const order = sides.map((_, i) => sides[(i + r) % sides.length]!);
    for (const side of order) runs.get(side)!.push(await round(side, r));
  }
  return Object.fromEntries(sides.map((s) => [s, combine(runs.get(s)!)])) as Record<S, LoadResult>;
}

/** Nearest-rank percentiles over every sample (no bucketing: runs are small enough to keep them all). */
export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { meanMs: mean, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: sorted[sorted.length - 1]! };
}
