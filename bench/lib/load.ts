// The load generator: autocannon, in this process, against one system for a fixed time at a given
// concurrency over keep-alive connections, with every answer's latency kept for exact percentiles.
// A measurement is split into rounds that alternate the systems (interleave), and combined after.
// The proxies under test run in their own processes, so their CPU is read from /proc, not from here.
import autocannon from 'autocannon';
import { cpuMicros, memoryMiB } from './procstat.js';

export interface BenchRequest {
  method: 'GET' | 'POST';
  path: string;
  /** A fresh body per request (adds need unique ids), or none. */
  body?: () => Buffer;
}

export interface LoadPlan {
  baseUrl: string;
  concurrency: number;
  /** Run for this long (in-flight requests are cut off at the end), or ... */
  seconds: number;
  /** ... send exactly this many requests and wait for every answer (writes: none cut off half-way). */
  amount?: number;
  request: BenchRequest;
  /** Processes whose CPU and memory are charged to this system (the proxy in front of Chroma). */
  pids: number[];
}

/** One phase's raw measurements. */
export interface LoadRun {
  samplesMs: number[];
  errors: number;
  durationS: number;
  cpuUs: number;
  rssMiB: number;
}

export interface LatencySummary {
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult extends LatencySummary {
  requests: number;
  errors: number;
  durationS: number;
  requestsPerS: number;
  /** CPU of the system's own processes per answered request (µs), null when it has none (direct Chroma). */
  cpuUsPerRequest: number | null;
  /** Largest resident set of those processes seen after a round (MiB). */
  rssMiB: number | null;
}

export async function runLoad(plan: LoadPlan): Promise<LoadRun> {
  const samplesMs: number[] = [];
  const { body } = plan.request;
  const cpuBefore = plan.pids.reduce((a, p) => a + cpuMicros(p), 0);
  const instance = autocannon({
    url: plan.baseUrl,
    connections: plan.concurrency,
    ...(plan.amount ? { amount: plan.amount } : { duration: plan.seconds }),
    timeout: 60,
    // autocannon ends a run on its next sample tick: tick often, so a run lasts what was asked, not the next whole second.
    sampleInt: 50,
    requests: [
      {
        method: plan.request.method,
        path: plan.request.path,
        headers: body ? { 'content-type': 'application/json' } : {},
        ...(body ? { setupRequest: (req) => ({ ...req, body: body() }) } : {}),
      },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status >= 200 && status < 300) samplesMs.push(ms);
  });
  const result = await instance;
  const cpuUs = plan.pids.reduce((a, p) => a + cpuMicros(p), 0) - cpuBefore;
  return {
    samplesMs,
    errors: result.errors + result.timeouts + result.non2xx,
    durationS: result.duration,
    cpuUs,
    rssMiB: plan.pids.reduce((a, p) => a + memoryMiB(p).rss, 0),
  };
}

/** One result from a system's rounds: rates over the time spent in them, percentiles over every sample. */
export function combine(runs: LoadRun[], charged: boolean): LoadResult {
  const samples = runs.flatMap((r) => r.samplesMs);
  const durationS = runs.reduce((a, r) => a + r.durationS, 0);
  const cpuUs = runs.reduce((a, r) => a + r.cpuUs, 0);
  return {
    requests: samples.length,
    errors: runs.reduce((a, r) => a + r.errors, 0),
    durationS,
    requestsPerS: durationS > 0 ? samples.length / durationS : 0,
    cpuUsPerRequest: charged && samples.length > 0 ? cpuUs / samples.length : null,
    rssMiB: charged ? Math.max(...runs.map((r) => r.rssMiB)) : null,
    ...summarize(samples),
  };
}

/**
 * Runs `rounds` rounds of every system, rotating which goes first, so that load from other work on a
 * shared machine falls on all of them alike instead of on whichever ran while it was busy.
 */
export async function interleave(systems: string[], rounds: number, round: (system: string) => Promise<LoadRun>): Promise<Map<string, LoadRun[]>> {
  const runs = new Map<string, LoadRun[]>(systems.map((s) => [s, []]));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < systems.length; i++) {
      const system = systems[(i + r) % systems.length]!;
      runs.get(system)!.push(await round(system));
    }
  }
  return runs;
}

/** Nearest-rank percentiles over every sample. */
export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: sorted[sorted.length - 1]! };
}
