// Turns the measurements into what people read: Markdown tables (throughput with ratios to direct Chroma
// and to HAProxy, latency percentiles, each system's own CPU per request and memory, the capped part, the
// failover comparison, and each target of the performance issue as met / not met), the JSON behind them,
// and an SVG chart of latency percentiles. Written to bench/results/latest.{md,json,svg}.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CatchupResult } from './catchup.js';
import { timing, type FailoverResult } from './failover.js';
import type { LoadResult } from './load.js';
import { WORKLOAD_LABELS, type Row } from './matrix.js';
import type { BenchOptions } from './options.js';
import { latencyChart } from './svg.js';
import type { TargetVerdict } from './targets.js';
import { refillTable, type RefillRow } from './refill.js';
import { updatesTable, type UpdateRow } from './updates.js';

export interface Machine {
  cpus: number;
  /** 1-minute load average when the run started and ended: other work on the machine skews results. */
  loadAverage: { start: number; end: number };
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  chromaServer: string;
  haproxy: string;
  gitCommit: string | null;
}

export interface BenchReport {
  startedAt: string;
  durationS: number;
  options: BenchOptions;
  machine: Machine;
  /** Why the capped part did not run, when it did not. */
  cappedSkipped: string | null;
  cpuCaps: string | null;
  rows: Row[];
  failover: FailoverResult[];
  catchup: CatchupResult | null;
  updates: UpdateRow[];
  refill: RefillRow | null;
  peakGatewayRssMiB: number | null;
  targets: TargetVerdict[];
  notes: string[];
}

export function machineInfo(chromaServer: string, haproxy: string, loadAtStart: number): Machine {
  let gitCommit: string | null = null;
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cpus: cpus().length,
    loadAverage: { start: loadAtStart, end: loadavg()[0]! },
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${process.platform} ${release()}`,
    node: process.version,
    chromaServer,
    haproxy,
    gitCommit,
  };
}

const rate = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? (a / b).toFixed(2) : '-');
const lat = (r: LoadResult | undefined) => (r ? `${ms(r.p50Ms)} / ${ms(r.p95Ms)} / ${ms(r.p99Ms)}` : '-');
const cpuOf = (r: LoadResult | undefined) => (r?.cpuUsPerRequest != null ? r.cpuUsPerRequest.toFixed(0) : '-');

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), `|${header.map((_, i) => (i === 0 ? '---' : '--:')).join('|')}|`, ...rows.map(line)].join('\n');
}

function uncappedTables(rows: Row[]): string[] {
  const u = rows.filter((r) => r.part === 'uncapped');
  if (u.length === 0) return [];
  const name = (r: Row) => WORKLOAD_LABELS[r.workload];
  const throughput = table(
    ['workload', 'c', 'direct req/s', 'HAProxy', 'plain proxy', 'chroma-ha', 'gw ÷ direct', 'gw ÷ HAProxy', 'HAProxy ÷ direct', 'proxy ÷ direct', 'CPU µs/req HAProxy', 'plain proxy', 'chroma-ha', 'gw RSS MiB', 'errors'],
    u.map((r) => {
      const x = r.results;
      const d = x.direct?.requestsPerS;
      const g = x['chroma-ha'];
      return [
        name(r),
        String(r.concurrency),
        rate(d ?? 0),
        rate(x.haproxy?.requestsPerS ?? 0),
        rate(x['plain-proxy']?.requestsPerS ?? 0),
        rate(g?.requestsPerS ?? 0),
        `**${ratio(g?.requestsPerS, d)}**`,
        `**${ratio(g?.requestsPerS, x.haproxy?.requestsPerS)}**`,
        ratio(x.haproxy?.requestsPerS, d),
        ratio(x['plain-proxy']?.requestsPerS, d),
        cpuOf(x.haproxy),
        cpuOf(x['plain-proxy']),
        `**${cpuOf(g)}**`,
        g?.rssMiB != null ? g.rssMiB.toFixed(0) : '-',
        String(Object.values(x).reduce((a, v) => a + v.errors, 0)),
      ];
    }),
  );
  const latency = table(
    ['workload', 'c', 'direct', 'HAProxy', 'plain proxy', 'chroma-ha'],
    u.map((r) => [name(r), String(r.concurrency), lat(r.results.direct), lat(r.results.haproxy), lat(r.results['plain-proxy']), lat(r.results['chroma-ha'])]),
  );
  return [
    '## Uncapped: one Chroma server, directly and behind each proxy',
    '',
    'Requests per second (each proxy in front of the same single Chroma server), ratios, and each proxy\'s own CPU per request (its process\'s user + system time from /proc over the requests it answered).',
    '',
    throughput,
    '',
    'Latency ms, p50 / p95 / p99:',
    '',
    latency,
  ];
}

function cappedTable(rows: Row[], cores: number): string[] {
  const c = rows.filter((r) => r.part === 'capped');
  if (c.length === 0) return [];
  const g1 = 'chroma-ha-3 (gw capped)';
  const g2 = 'chroma-ha-3';
  return [
    `## Capped: every Chroma node at ${cores} core; the gateway over a primary and two replicas`,
    '',
    `*direct* is one capped Chroma server; *${g1}* also caps the gateway at ${cores} core (a small instance), *${g2}* leaves the gateway uncapped.`,
    '',
    table(
      ['workload', 'c', 'direct req/s', `${g1} req/s`, '÷ direct', `${g2} req/s`, '÷ direct', 'direct latency', `${g1} latency`, `${g2} latency`, 'gw CPU µs/req (capped / free)'],
      c.map((r) => {
        const x = r.results;
        const d = x.direct?.requestsPerS;
        return [
          WORKLOAD_LABELS[r.workload],
          String(r.concurrency),
          rate(d ?? 0),
          x[g1] ? rate(x[g1].requestsPerS) : '-',
          x[g1] ? `**${ratio(x[g1].requestsPerS, d)}**` : '-',
          rate(x[g2]?.requestsPerS ?? 0),
          `**${ratio(x[g2]?.requestsPerS, d)}**`,
          lat(x.direct),
          lat(x[g1]),
          lat(x[g2]),
          `${cpuOf(x[g1])} / ${cpuOf(x[g2])}`,
        ];
      }),
    ),
  ];
}

function failoverTable(f: FailoverResult[], options: BenchOptions): string[] {
  if (f.length === 0) return [];
  const t = timing(options);
  return [
    '## Failover: kill -9 of the primary under a read stream and a write stream',
    '',
    `Each client op looks the collection up by name, then reads one record or adds one. The primary is killed ${t.beforeKillMs / 1000} s into the streams and restarted ${t.restartAfterMs / 1000} s later; the streams run ${t.afterRestartMs / 1000} s more.`,
    '',
    table(
      ['system', 'setup', 'reads ok', 'reads failed', 'longest read stall ms', 'writes acknowledged', 'writes failed', 'longest write stall ms', 'first write after kill s', 'acknowledged writes missing on the final primary', 'final primary'],
      f.map((x) => [
        x.system,
        x.setup,
        String(x.reads.ok),
        String(x.reads.failed),
        String(x.reads.longestStallMs),
        String(x.writes.acknowledged),
        String(x.writes.failed),
        String(x.writes.longestStallMs),
        x.writeRecoveryS === null ? '-' : x.writeRecoveryS.toFixed(1),
        `**${x.missingOnFinalPrimary}**`,
        x.finalPrimary,
      ]),
    ),
  ];
}

function catchupTable(c: CatchupResult | null): string[] {
  if (!c) return [];
  return [
    '## Replica catch-up',
    '',
    `One replica of the 3-node gateway stopped while ${c.writers} writers each added ${c.recordsPerEntry}-record batches to their own collection (interleaved in the log), then restarted; *direct* is the same writes to direct Chroma from ${c.writers} writers.`,
    '',
    table(
      ['entries', 'records', 'direct ingest records/s', 'through the gateway records/s', 'restart → marked up s', 'apply s', 'catch-up records/s', 'catch-up ÷ direct'],
      [[String(c.entries), String(c.records), rate(c.directRecordsPerS), rate(c.gatewayRecordsPerS), c.detectUpS.toFixed(2), c.applyS.toFixed(2), rate(c.catchupRecordsPerS), `**${c.catchupVsDirect.toFixed(2)}**`]],
    ),
  ];
}

export function formatMarkdown(r: BenchReport): string {
  const m = r.machine;
  const out = [
    `# chroma-ha benchmark, ${r.startedAt} (${r.options.mode}${Object.keys(r.options.overrides).length > 0 ? `, ${Object.entries(r.options.overrides).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''})`,
    '',
    `${m.cpus}× ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}, Chroma ${m.chromaServer}, HAProxy ${m.haproxy}, commit ${m.gitCommit ?? '?'}. ` +
      `**Load average ${m.loadAverage.start.toFixed(2)} at the start, ${m.loadAverage.end.toFixed(2)} at the end**; ${r.durationS.toFixed(0)} s. ` +
      `${r.options.records} records × ${r.options.dimensions}-d in the read collection; ${r.options.rounds} alternating round(s) of ${r.options.seconds} s per system after ${r.options.warmupSeconds} s warm-up; autocannon as the load generator.`,
    '',
    '## Targets (issue 10)',
    '',
    table(
      ['target', 'measured', 'verdict'],
      r.targets.map((t) => [t.target, t.measured, t.met === null ? '-' : t.met ? 'met' : '**not met**']),
    ),
    '',
    ...uncappedTables(r.rows),
    '',
    ...(r.cappedSkipped ? [`## Capped: skipped`, '', r.cappedSkipped] : cappedTable(r.rows, r.options.capCores)),
    '',
    ...failoverTable(r.failover, r.options),
    '',
    ...catchupTable(r.catchup),
    '',
    ...updatesTable(r.updates),
    '',
    ...refillTable(r.refill),
    '',
    ...(r.notes.length > 0 ? ['## Notes', '', ...r.notes.map((n) => `- ${n}`)] : []),
    '',
    '![latency percentiles](latest.svg)',
  ];
  return out.join('\n') + '\n';
}

/** Writes bench/results/latest.{json,md,svg} (and a timestamped JSON copy); returns the Markdown path. */
export function writeReport(r: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(r, null, 2) + '\n';
  writeFileSync(join(dir, `${r.startedAt.replace(/[:.]/g, '-')}.json`), json);
  writeFileSync(join(dir, 'latest.json'), json);
  writeFileSync(join(dir, 'latest.svg'), latencyChart(r.rows));
  const md = join(dir, 'latest.md');
  writeFileSync(md, formatMarkdown(r));
  return md;
}
