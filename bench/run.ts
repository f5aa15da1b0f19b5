// Entry point of `npm run bench [-- --quick]`: starts fresh Chroma servers and an in-process gateway,
// runs the write, read and replica catch-up benchmarks side by side (direct Chroma vs through the
// gateway), prints the tables and writes the JSON report. Every process started is stopped on the way
// out, whether the run succeeds, fails or is interrupted.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { startBenchCluster } from './lib/cluster.js';
import { benchOptions, type Scenario } from './lib/options.js';
import { benchWrites } from './lib/writes.js';
import { benchReads } from './lib/reads.js';
import { benchCatchup } from './lib/catchup.js';
import { benchUpdates } from './lib/updates.js';
import { benchRefill } from './lib/refill.js';
import { formatReport, machineInfo, writeReport, type BenchReport } from './lib/report.js';
import { call } from './lib/workload.js';

const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url));
const t0 = performance.now();
/** Progress on stderr, with seconds since start, so stdout carries only the report. */
const log = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

async function main(): Promise<void> {
  const options = benchOptions(process.argv.slice(2), process.env);
  const started = new Date();
  const loadAtStart = loadavg()[0]!;
  const cleanup: { stop?: () => Promise<void> } = {};
  let interrupted = false;
  // A signal, or an error thrown outside the awaited chain, must still stop the Chroma child processes.
  const abandon = (reason: string, code: number) => {
    if (interrupted) return;
    interrupted = true;
    log(`${reason}: stopping Chroma servers and the gateway`);
    void (cleanup.stop?.() ?? Promise.resolve()).finally(() => process.exit(code));
  };
  process.on('SIGINT', () => abandon('SIGINT', 130));
  process.on('SIGTERM', () => abandon('SIGTERM', 143));
  process.on('uncaughtException', (err) => abandon(`uncaught ${err.stack ?? err}`, 1));
  process.on('unhandledRejection', (err) => abandon(`unhandled rejection ${(err as Error)?.stack ?? err}`, 1));
  try {
    log(`starting 3 Chroma servers and the gateway (${options.mode} mode)`);
    const cluster = await startBenchCluster(options, (stop) => (cleanup.stop = stop));
    const version = await call<string>(cluster.direct.url, 'GET', '/api/v2/version');
    const run = (s: Scenario) => options.scenarios.includes(s);
    const writes = run('writes') ? (log('writes'), await benchWrites(cluster, options, log)) : null;
    const reads = writes && run('reads') ? (log('reads'), await benchReads(cluster, options, { name: writes.collection, ids: writes.ids }, log)) : [];
    const catchup = run('catchup') ? (log('replica catch-up'), await benchCatchup(cluster, options, log)) : [];
    const updates = run('updates') ? (log('update guard'), await benchUpdates(cluster, options, log)) : [];
    const refill = run('refill') ? (log('refill by copy'), await benchRefill(cluster, options, log)) : null;
    const finished = new Date();
    const report: BenchReport = {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationS: (finished.getTime() - started.getTime()) / 1000,
      options,
      machine: machineInfo(version, loadAtStart),
      writes: writes?.rows ?? [],
      reads,
      catchup,
      updates,
      refill,
      notes: [
        ...(reads.length > 0 ? [`the read collection holds ${writes!.ids.length} records of ${options.dimensions} dimensions`] : []),
        ...(options.storeDir ? [`the gateway's SQLite log was kept under ${options.storeDir}`] : []),
        'gateway reads are spread over primary and replica, both on this machine: the ratio compares one Chroma with two sharing the same cores',
        'load generator, gateway and the three Chroma servers share this machine; numbers move 20-35 % between identical runs, compare within a run',
      ],
    };
    process.stdout.write(formatReport(report) + '\n');
    const file = writeReport(report, RESULTS_DIR);
    log(`report written to ${file} and ${RESULTS_DIR}/latest.json`);
  } finally {
    if (!interrupted) await cleanup.stop?.();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`benchmark failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
