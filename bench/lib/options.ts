// The benchmark's settings: defaults for a full run (~4 min on an idle 2-core machine) and for `--quick` (< 1 min),
// each overridable by a BENCH_* environment variable so sizes can be changed without editing code.
import { z } from 'zod';

export type EmbeddingEncoding = 'base64' | 'json';

export const SCENARIOS = ['writes', 'reads', 'catchup', 'updates', 'refill'] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  mode: 'full' | 'quick';
  /** BENCH_* variables that changed the mode's defaults in this run (name -> value as given). */
  overrides: Record<string, string>;
  /** Which parts to run; reads use the collection the writes fill, so they need writes. */
  scenarios: Scenario[];
  /** Directory for the gateway's SQLite log (default: the run's temporary directory). */
  storeDir: string | null;
  /** Records per add request in the write benchmark and the batched catch-up run. */
  batch: number;
  dimensions: number;
  /** How embeddings travel in add bodies: base64 is what the chromadb JS client sends to a 1.x server. */
  encoding: EmbeddingEncoding;
  writeConcurrency: number[];
  /** Measured add requests per concurrency level (the same bodies go to Chroma and to the gateway). */
  writeRequests: number;
  /** Measured single-record adds per concurrency level: where the log's per-entry cost shows most. */
  singleWriteRequests: number;
  singleWriteConcurrency: number[];
  /** Concurrency of the extra write rows (batch and single) measured with the replica stopped (0: none). */
  replicaDownConcurrency: number;
  readConcurrency: number[];
  /** Cap on read requests per measurement (all rounds together); it also ends after readSeconds. */
  readRequests: number;
  readSeconds: number;
  /** Also measure reads through a minimal Node proxy in front of the direct server (the cost of any Node hop). */
  proxyBaseline: boolean;
  /**
   * Rounds each measurement is split into, alternating the sides (direct, gateway, control), so other
   * work on a shared machine falls on all of them alike. Write rounds are fewer at high concurrency.
   */
  rounds: number;
  /** Unmeasured requests before each phase. */
  warmupRequests: number;
  /** Records written while the replica is down, as adds of `batch` records. */
  catchupRecords: number;
  /** Single-record adds written while the replica is down (shows the effect of merging runs). */
  catchupSingles: number;
  catchupConcurrency: number;
  /** Records the primary holds (at least) when the replica is wiped and refilled by copy. */
  refillRecords: number;
  /** Safety limit for any one phase (load or catch-up); a phase that hits it is reported as cut short. */
  phaseTimeoutSeconds: number;
  logLevel: string;
  keepData: boolean;
}

const FULL: BenchOptions = {
  mode: 'full',
  overrides: {},
  scenarios: [...SCENARIOS],
  storeDir: null,
  batch: 100,
  dimensions: 384,
  encoding: 'base64',
  writeConcurrency: [1, 4, 8],
  writeRequests: 40,
  singleWriteRequests: 200,
  singleWriteConcurrency: [1, 4],
  replicaDownConcurrency: 4,
  readConcurrency: [1, 8],
  readRequests: 4_000,
  readSeconds: 4,
  rounds: 3,
  proxyBaseline: true,
  warmupRequests: 5,
  catchupRecords: 20_000,
  catchupSingles: 2_000,
  catchupConcurrency: 4,
  refillRecords: 20_000,
  phaseTimeoutSeconds: 300,
  logLevel: 'error',
  keepData: false,
};

const QUICK: BenchOptions = {
  ...FULL,
  mode: 'quick',
  writeConcurrency: [1, 4],
  writeRequests: 10,
  singleWriteRequests: 100,
  singleWriteConcurrency: [4],
  readRequests: 1_500,
  readSeconds: 1,
  rounds: 2,
  warmupRequests: 3,
  catchupRecords: 2_000,
  catchupSingles: 200,
  refillRecords: 3_000,
  phaseTimeoutSeconds: 30,
};

const int = z.coerce.number().int().positive();
const intList = z
  .string()
  .transform((s) => s.split(',').map((p) => Number(p.trim())))
  .pipe(z.array(z.number().int().positive()).min(1));

/** Env variable -> option, with the schema its value must satisfy. */
const OVERRIDES: Record<string, [keyof BenchOptions, z.ZodType<unknown>]> = {
  BENCH_SCENARIOS: [
    'scenarios',
    z
      .string()
      .transform((s) => s.split(',').map((p) => p.trim()))
      .pipe(z.array(z.enum(SCENARIOS)).min(1))
      .refine((l) => !l.includes('reads') || l.includes('writes'), 'reads need writes (they read what the writes stored)'),
  ],
  BENCH_STORE_DIR: ['storeDir', z.string().min(1)],
  BENCH_BATCH: ['batch', int],
  BENCH_DIMENSIONS: ['dimensions', int],
  BENCH_ENCODING: ['encoding', z.enum(['base64', 'json'])],
  BENCH_WRITE_CONCURRENCY: ['writeConcurrency', intList],
  BENCH_WRITE_REQUESTS: ['writeRequests', int],
  BENCH_SINGLE_WRITE_REQUESTS: ['singleWriteRequests', z.coerce.number().int().min(0)],
  BENCH_SINGLE_WRITE_CONCURRENCY: ['singleWriteConcurrency', intList],
  BENCH_REPLICA_DOWN_CONCURRENCY: ['replicaDownConcurrency', z.coerce.number().int().min(0)],
  BENCH_READ_CONCURRENCY: ['readConcurrency', intList],
  BENCH_READ_REQUESTS: ['readRequests', int],
  BENCH_READ_SECONDS: ['readSeconds', z.coerce.number().positive()],
  BENCH_ROUNDS: ['rounds', int],
  BENCH_WARMUP_REQUESTS: ['warmupRequests', z.coerce.number().int().min(0)],
  BENCH_RECORDS: ['catchupRecords', int],
  BENCH_SINGLES: ['catchupSingles', z.coerce.number().int().min(0)],
  BENCH_CATCHUP_CONCURRENCY: ['catchupConcurrency', int],
  BENCH_REFILL_RECORDS: ['refillRecords', int],
  BENCH_PHASE_TIMEOUT: ['phaseTimeoutSeconds', int],
  BENCH_PROXY_BASELINE: ['proxyBaseline', z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true')],
  BENCH_LOG_LEVEL: ['logLevel', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])],
  BENCH_KEEP_DATA: ['keepData', z.enum(['0', '1', 'true', 'false']).transform((v) => v === '1' || v === 'true')],
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
