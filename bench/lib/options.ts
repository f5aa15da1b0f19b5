// The benchmark's settings: defaults for a full run and for `--quick` (< 2 min on an idle 2-core machine),
// each overridable by a BENCH_* environment variable so sizes can be changed without editing code.
import { z } from 'zod';

export type EmbeddingEncoding = 'base64' | 'json';

export const WORKLOADS = ['heartbeat', 'get', 'query', 'count', 'add-batch', 'add-single'] as const;
export type Workload = (typeof WORKLOADS)[number];

export interface BenchOptions {
  mode: 'full' | 'quick';
  /** BENCH_* variables that changed the mode's defaults in this run (name -> value as given). */
  overrides: Record<string, string>;
  workloads: Workload[];
  concurrency: number[];
  /** Concurrency levels of the capped part (its targets are stated at c=8). */
  cappedConcurrency: number[];
  /** Records loaded into the read collection before the reads (on the direct node and through the 3-node gateway). */
  records: number;
  /** Records per batch add, embedding size and how embeddings travel (base64: what the chromadb JS client sends). */
  batch: number;
  dimensions: number;
  encoding: EmbeddingEncoding;
  /** Alternating rounds per measurement and seconds per system per round. */
  rounds: number;
  seconds: number;
  /** Unmeasured seconds per system before each measurement. */
  warmupSeconds: number;
  /** Run the capped part (cgroup CPU quotas), the failover comparison and the replica catch-up. */
  capped: boolean;
  failover: boolean;
  catchup: boolean;
  /** The update guard's cost (single and 100-record updates at c=1) and refill by copy of a wiped replica. */
  updates: boolean;
  refill: boolean;
  /** Update requests per system per round (100-record updates: a quarter of it). */
  updateRequests: number;
  /** Records in the collection the refill copies. */
  refillRecords: number;
  /** CPU quota of each capped process, in cores. */
  capCores: number;
  /** When set, the gateways run with `--cpu-prof` and write their profiles here. */
  cpuProfDir: string | null;
  keepData: boolean;
}

const FULL: BenchOptions = {
  mode: 'full',
  overrides: {},
  workloads: [...WORKLOADS],
  concurrency: [1, 8, 64],
  cappedConcurrency: [1, 8, 64],
  records: 10_000,
  batch: 100,
  dimensions: 384,
  encoding: 'base64',
  rounds: 2,
  seconds: 1.5,
  warmupSeconds: 0.5,
  capped: true,
  failover: true,
  catchup: true,
  updates: true,
  refill: true,
  updateRequests: 40,
  refillRecords: 20_000,
  capCores: 0.5,
  cpuProfDir: null,
  keepData: false,
};

const QUICK: BenchOptions = {
  ...FULL,
  mode: 'quick',
  concurrency: [1, 8],
  cappedConcurrency: [8],
  records: 1_000,
  rounds: 1,
  seconds: 0.6,
  warmupSeconds: 0.2,
  updateRequests: 12,
  refillRecords: 2_000,
};

const bool = z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true');
const items = z.string().transform((s) => s.split(',').map((p) => p.trim()));

/** Env variable -> option, with the schema its value must satisfy. */
const OVERRIDES: Record<string, [keyof BenchOptions, z.ZodType<unknown>]> = {
  BENCH_WORKLOADS: ['workloads', items.pipe(z.array(z.enum(WORKLOADS)).min(1))],
  BENCH_CONCURRENCY: ['concurrency', items.transform((l) => l.map(Number)).pipe(z.array(z.number().int().positive()).min(1))],
  BENCH_CAPPED_CONCURRENCY: ['cappedConcurrency', items.transform((l) => l.map(Number)).pipe(z.array(z.number().int().positive()).min(1))],
  BENCH_RECORDS: ['records', z.coerce.number().int().positive()],
  BENCH_BATCH: ['batch', z.coerce.number().int().positive()],
  BENCH_DIMENSIONS: ['dimensions', z.coerce.number().int().positive()],
  BENCH_ENCODING: ['encoding', z.enum(['base64', 'json'])],
  BENCH_ROUNDS: ['rounds', z.coerce.number().int().positive()],
  BENCH_SECONDS: ['seconds', z.coerce.number().positive()],
  BENCH_WARMUP_SECONDS: ['warmupSeconds', z.coerce.number().min(0)],
  BENCH_CAPPED: ['capped', bool],
  BENCH_FAILOVER: ['failover', bool],
  BENCH_CATCHUP: ['catchup', bool],
  BENCH_UPDATES: ['updates', bool],
  BENCH_REFILL: ['refill', bool],
  BENCH_UPDATE_REQUESTS: ['updateRequests', z.coerce.number().int().positive()],
  BENCH_REFILL_RECORDS: ['refillRecords', z.coerce.number().int().positive()],
  BENCH_CAP_CORES: ['capCores', z.coerce.number().positive()],
  BENCH_CPU_PROF: ['cpuProfDir', z.string().min(1)],
  BENCH_KEEP_DATA: ['keepData', bool],
};

export function benchOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const unknown = argv.filter((a) => a !== '--quick');
  if (unknown.length > 0) throw new Error(`unknown argument(s) ${unknown.join(' ')}: the only flag is --quick (sizes are set with BENCH_* variables)`);
  const options: BenchOptions = { ...(argv.includes('--quick') || env.BENCH_QUICK === '1' ? QUICK : FULL), overrides: {} };
  for (const [name, [key, schema]] of Object.entries(OVERRIDES)) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new Error(`${name}=${JSON.stringify(raw)} is invalid: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    (options as unknown as Record<string, unknown>)[key] = parsed.data;
    options.overrides[name] = raw;
  }
  return options;
}
