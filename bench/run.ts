// Entry point of `npm run bench [-- --quick]`: starts fresh Chroma servers, HAProxy, a plain Node proxy and
// two gateways (see bench/lib/systems.ts), measures every workload against all of them in one run, uncapped
// and with cgroup CPU quotas, compares failover through HAProxy and through the gateway, prints the
// Markdown report and writes it with its JSON and an SVG chart to bench/results/. Every process started is
// stopped on the way out (the test harness's cleanup), whether the run succeeds, fails or is interrupted.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Harness } from '../tests/helpers/cluster.js';
import { CpuCaps } from './lib/cgroup.js';
import { benchCatchup, type CatchupResult } from './lib/catchup.js';
import { benchFailover } from './lib/failover.js';
import { haproxyBinary } from './lib/haproxy.js';
import { benchCapped, benchUncapped, type Row } from './lib/matrix.js';
import { benchOptions } from './lib/options.js';
import { memoryMiB } from './lib/procstat.js';
import { formatMarkdown, machineInfo, writeReport, type BenchReport } from './lib/report.js';
import { must, startSystems, type Systems } from './lib/systems.js';
import { judgeTargets } from './lib/targets.js';
import type { FailoverResult } from './lib/failover.js';
import { startPair } from './lib/pair.js';
import { benchRefill, type RefillRow } from './lib/refill.js';
import { benchUpdates, type UpdateRow } from './lib/updates.js';

const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url));
const t0 = performance.now();
/** Progress on stderr, with seconds since start, so stdout carries only the report. */
const log = (line: string) => process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);

async function main(): Promise<void> {
  const options = benchOptions(process.argv.slice(2), process.env);
  const started = new Date();
  const loadAtStart = loadavg()[0]!;
  const harness = new Harness();
  let caps: CpuCaps | null = null;
  let systems: Systems | null = null;
  let cleaning: Promise<void> | null = null;
  const cleanup = () => (cleaning ??= (async () => {
    caps?.close();
    // A CPU profile is written when the process exits on its own: SIGTERM (graceful), not the harness's SIGKILL.
    if (options.cpuProfDir && systems) await Promise.all([systems.gateway1.terminate(), systems.gateway3.terminate()]);
    if (options.keepData) log(`data kept in ${harness.dir}`);
    else await harness.cleanup();
  })());
  // A signal, or an error thrown outside the awaited chain, must still stop every child process.
  const abandon = (reason: string, code: number) => {
    log(`${reason}: stopping every process started`);
    void cleanup().finally(() => process.exit(code));
  };
  process.on('SIGINT', () => abandon('SIGINT', 130));
  process.on('SIGTERM', () => abandon('SIGTERM', 143));
  process.on('uncaughtException', (err) => abandon(`uncaught ${err.stack ?? err}`, 1));
  process.on('unhandledRejection', (err) => abandon(`unhandled rejection ${(err as Error)?.stack ?? err}`, 1));
  try {
    log(`${options.mode} run, load average ${loadAtStart.toFixed(2)}`);
    systems = await startSystems(options, harness, log);
    const version = await must(systems.direct.url, 'GET', '/api/v2/version');
    const gatewayPids = [systems.targets['chroma-ha'].pids[0]!, systems.targets['chroma-ha-3'].pids[0]!];
    const rows: Row[] = [];
    log('uncapped: direct, HAProxy, plain proxy, chroma-ha, all in front of one Chroma server');
    rows.push(...(await benchUncapped(systems, options, log)));
    let cappedSkipped: string | null = null;
    if (options.capped) {
      const opened = CpuCaps.open();
      if (typeof opened === 'string') {
        cappedSkipped = `the capped part was skipped: ${opened}`;
        log(cappedSkipped);
      } else {
        caps = opened;
        log(`capped (${caps.kind}, ${options.capCores} core per process): one direct node vs chroma-ha over 3 nodes`);
        rows.push(...(await benchCapped(systems, caps, options, log)));
      }
    } else cappedSkipped = 'the capped part was not run (BENCH_CAPPED=0)';
    let catchup: CatchupResult | null = null;
    if (options.catchup) {
      log('replica catch-up: a replica of the 3-node gateway stopped during interleaved writes to 4 collections, then restarted');
      catchup = await benchCatchup(systems, options, log);
    }
    let updates: UpdateRow[] = [];
    let refill: RefillRow | null = null;
    if (options.updates || options.refill) {
      log('update guard and refill by copy: a primary + replica behind an in-process gateway, beside a direct Chroma');
      const pair = await startPair(harness);
      if (options.updates) updates = await benchUpdates(pair, options, log);
      if (options.refill) refill = await benchRefill(pair, options, log);
    }
    const peakGatewayRssMiB = Math.max(...gatewayPids.map((p) => memoryMiB(p).peak));
    let failover: FailoverResult[] = [];
    if (options.failover) {
      log('failover: kill -9 of the primary through HAProxy and through chroma-ha');
      failover = await benchFailover(harness, haproxyBinary(log), options, log);
    }
    const finished = new Date();
    const report: BenchReport = {
      startedAt: started.toISOString(),
      durationS: (finished.getTime() - started.getTime()) / 1000,
      options,
      machine: machineInfo(version, systems.haproxyVersion, loadAtStart),
      cappedSkipped,
      cpuCaps: caps?.kind ?? null,
      rows,
      failover,
      catchup,
      updates,
      refill,
      peakGatewayRssMiB,
      targets: judgeTargets(rows, failover, catchup, peakGatewayRssMiB),
      notes: [
        'uncapped: every proxy and the one-node gateway stand in front of the same Chroma server; the load generator (autocannon, in the benchmark process), the proxies and the four Chroma servers share this machine\'s cores',
        'CPU per request is the proxy process\'s own user + system time (from /proc, 10 ms ticks) over the requests it answered; direct Chroma has none',
        'capped: a cgroup CPU quota per process stands in for separate machines; reads through the 3-node gateway spread over the primary and both replicas',
        'numbers move 20-35 % between identical runs on a shared machine: compare systems within one run, as ratios',
      ],
    };
    process.stdout.write(formatMarkdown(report));
    log(`report written to ${writeReport(report, RESULTS_DIR)} (with latest.json and latest.svg)`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`benchmark failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
