// The load generator: a fixed number of HTTP requests (or until a time limit) at a given concurrency
// over keep-alive connections to 127.0.0.1, with every request's latency kept for exact percentiles.
// Request bodies are prepared beforehand so the generator itself costs as little CPU as possible: it
// shares this process (and its event loop) with the in-process gateway.
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
  durationS: number;
  requestsPerS: number;
  /** True when the time limit ended the phase before every planned request was sent. */
  cutShort: boolean;
  /** Which node served each answer (the gateway's X-Chroma-HA-Node header), when present. */
  servedBy: Record<string, number>;
  /**
   * CPU time of this whole process during the phase (load generator, plus the gateway when it is the
   * target): the difference between a gateway phase and a direct phase is the gateway's own cost.
   */
  processCpuMs: number;
  /** Share of the phase this process's event loop was busy (0-1), blocking work such as fsync included. */
  eventLoopUtilization: number;
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const pool = new Pool(plan.baseUrl, { connections: plan.concurrency, pipelining: 1, keepAliveTimeout: 30_000 });
  const expect = plan.expect ?? ((s: number) => s >= 200 && s < 300);
  const latencies: number[] = [];
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
        latencies.push(performance.now() - t0);
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
    requests: latencies.length,
    errors,
    errorSamples,
    durationS,
    requestsPerS: latencies.length / durationS,
    cutShort: next < plan.requests,
    servedBy,
    processCpuMs: (cpu.user + cpu.system) / 1000,
    eventLoopUtilization: performance.eventLoopUtilization(eluBefore).utilization,
    ...summarize(latencies),
  };
}

/** Nearest-rank percentiles over every sample (no bucketing: runs are small enough to keep them all). */
export function summarize(samples: number[]): LatencySummary {
  if (samples.length === 0) return { meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { meanMs: mean, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: sorted[sorted.length - 1]! };
}
