// Turns the measurements into what people read: aligned tables with gateway ÷ direct ratios on stdout,
// and a JSON report under bench/results/ (one file per run plus latest.json) for later comparison.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { CatchupRow } from './catchup.js';
import type { RefillRow } from './refill.js';
import type { LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import type { ReadRow } from './reads.js';
import type { WriteRow } from './writes.js';
import { formatUpdates, type UpdateRow } from './updates.js';

export interface Machine {
  cpus: number;
  /** 1-minute load average when the run started and ended: other work on the machine skews results. */
  loadAverage: { start: number; end: number };
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  chromaServer: string;
  gitCommit: string | null;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  durationS: number;
  options: BenchOptions;
  machine: Machine;
  writes: WriteRow[];
  reads: ReadRow[];
  catchup: CatchupRow[];
  updates: UpdateRow[];
  refill: RefillRow | null;
  notes: string[];
}

export function machineInfo(chromaServer: string, loadAtStart: number): Machine {
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
    gitCommit,
  };
}

const f0 = (n: number) => n.toFixed(0);
const f1 = (n: number) => n.toFixed(1);
const ratio = (g: number, d: number) => (d > 0 ? (g / d).toFixed(2) : '-');
/** A proxy's own CPU per request: this process's CPU in its phase minus the load generator's alone (direct phase); noise can make it negative. */
const ownCpuUs = (g: LoadResult, d: LoadResult) =>
  g.requests > 0 && d.requests > 0 ? f0((g.processCpuMs / g.requests - d.processCpuMs / d.requests) * 1000) : '-';
const elu = (r: LoadResult) => `${Math.round(r.eventLoopUtilization * 100)}%`;
const lat = (r: LoadResult) => `${f1(r.p50Ms)} / ${f1(r.p95Ms)} / ${f1(r.p99Ms)}`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|') + '|', ...rows.map(line)].join('\n');
}

/** Errors of every side; for writes (a fixed request count) also whether the time limit cut a phase short. */
function errorsOf(results: LoadResult[], flagCutShort: boolean): string {
  const n = results.reduce((a, r) => a + r.errors, 0);
  return flagCutShort && results.some((r) => r.cutShort) ? `${n} (cut short)` : String(n);
}

export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const out = [
    `chroma-ha benchmark (${r.options.mode}${Object.keys(r.options.overrides).length > 0 ? ', with BENCH_* overrides' : ''}) ${r.startedAt}: ${m.cpus}× ${m.cpuModel}, ${m.memoryGiB} GiB, ` +
      `load average ${m.loadAverage.start.toFixed(1)} → ${m.loadAverage.end.toFixed(1)}, Node ${m.node}, Chroma ${m.chromaServer}, ` +
      `commit ${m.gitCommit ?? '?'}; embeddings sent as ${r.options.encoding}`,
  ];
  if (r.writes.length > 0) out.push('', writesTable(r.writes));
  if (r.reads.length > 0) out.push('', readsTable(r.reads));
  if (r.catchup.length > 0) out.push('', catchupTable(r.catchup, r.writes));
  if (r.updates.length > 0) out.push('', formatUpdates(r.updates));
  if (r.refill) out.push('', refillTable(r.refill));
  if (r.notes.length > 0) out.push('', ...r.notes.map((n) => `note: ${n}`));
  out.push('', `total ${f0(r.durationS)} s`);
  return out.join('\n');
}

function writesTable(writes: WriteRow[]): string {
  const title = 'Writes: direct Chroma vs gateway (primary + 1 replica, SQLite log); latency ms p50 / p95 / p99';
  const header = ['workload', 'c', 'direct req/s', 'gw req/s', 'gw÷direct', 'direct rec/s', 'gw rec/s', 'direct latency', 'gw latency', 'p50 gw÷direct'];
  const rows = writes.map((w) => [
    w.replicaDown ? `${w.workload}, replica down` : w.workload,
    String(w.concurrency),
    f1(w.direct.requestsPerS),
    f1(w.gateway.requestsPerS),
    ratio(w.gateway.requestsPerS, w.direct.requestsPerS),
    f0(w.direct.requestsPerS * w.recordsPerRequest),
    f0(w.gateway.requestsPerS * w.recordsPerRequest),
    lat(w.direct),
    lat(w.gateway),
    ratio(w.gateway.p50Ms, w.direct.p50Ms),
    ownCpuUs(w.gateway, w.direct),
    elu(w.gateway),
    `${w.replicaLagAtEnd} entries, ${f0(w.replicaCatchupAfterMs)} ms${w.replicaDown ? ' after restart' : ''}`,
    errorsOf([w.direct, w.gateway], true),
  ]);
  return `${title}\n${table([...header, 'gw CPU µs/req', 'gw loop busy', 'replica lag at end', 'errors'], rows)}`;
}

function readsTable(reads: ReadRow[]): string {
  const title =
    'Reads: direct Chroma (one server) vs gateway (spreads reads over primary and replica) vs plain Node proxy (control, ' +
    'in front of the direct server); latency ms p50 / p95 / p99';
  const header = ['workload', 'c', 'direct req/s', 'gw req/s', 'gw÷direct', 'proxy÷direct', 'direct latency', 'gw latency', 'proxy latency'];
  const rows = reads.map((x) => [
    x.workload,
    String(x.concurrency),
    f0(x.direct.requestsPerS),
    f0(x.gateway.requestsPerS),
    ratio(x.gateway.requestsPerS, x.direct.requestsPerS),
    x.plainProxy ? ratio(x.plainProxy.requestsPerS, x.direct.requestsPerS) : '-',
    lat(x.direct),
    lat(x.gateway),
    x.plainProxy ? lat(x.plainProxy) : '-',
    ownCpuUs(x.gateway, x.direct),
    x.plainProxy ? ownCpuUs(x.plainProxy, x.direct) : '-',
    elu(x.gateway),
    Object.entries(x.gateway.servedBy)
      .map(([n, c]) => `${n} ${Math.round((100 * c) / Math.max(1, x.gateway.requests))}%`)
      .join(', '),
    errorsOf([x.direct, x.gateway, ...(x.plainProxy ? [x.plainProxy] : [])], false),
  ]);
  return `${title}\n${table([...header, 'gw CPU µs/req', 'proxy CPU µs/req', 'gw loop busy', 'served by (gw)', 'errors'], rows)}`;
}

/** Catch-up speed relative to direct Chroma taking the same kind of add at c=1 in this run's write benchmark. */
function vsDirectWrites(c: CatchupRow, writes: WriteRow[]): string {
  const w = writes.find((x) => x.recordsPerRequest === c.recordsPerRequest && x.concurrency === 1 && !x.replicaDown);
  return w ? ratio(c.recordsPerS, w.direct.requestsPerS * w.recordsPerRequest) : '-';
}

function catchupTable(catchup: CatchupRow[], writes: WriteRow[]): string {
  const title =
    'Replica catch-up: replica stopped, records written through the gateway, replica restarted ' +
    '(catch-up÷direct: apply speed over direct Chroma taking the same adds at c=1 in the write benchmark)';
  const header = ['run', 'records', 'entries', 'writes while down req/s', 'restart ms', 'marked up ms', 'apply s', 'records/s', 'entries/s', 'catch-up÷direct', 'restart→in-sync s'];
  const rows = catchup.map((c) => [
    c.writes.cutShort ? `${c.run} (cut short by the time limit)` : c.run,
    String(c.records),
    String(c.entries),
    f1(c.writes.requestsPerS),
    f0(c.restartMs),
    f0(c.detectUpMs),
    (c.applyMs / 1000).toFixed(2),
    f0(c.recordsPerS),
    f0(c.entriesPerS),
    vsDirectWrites(c, writes),
    (c.totalMs / 1000).toFixed(2),
  ]);
  return `${title}\n${table(header, rows)}`;
}

function refillTable(r: RefillRow): string {
  const title = 'Refill by copy: replica data directory wiped, node restarted; the gateway copies every collection from the primary';
  const header = ['collections', 'records', 'dimensions', 'marked up ms', 'copy s', 'records/s', 'restart→in-sync s', 'identical'];
  const row = [String(r.collections), String(r.records), String(r.dimensions), f0(r.detectUpMs), (r.copyMs / 1000).toFixed(2), f0(r.recordsPerS), (r.totalMs / 1000).toFixed(2), r.identical ? 'yes' : 'NO'];
  return `${title}\n${table(header, [row])}`;
}

/** Writes bench/results/<timestamp>.json and bench/results/latest.json; returns the first path. */
export function writeReport(r: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(r, null, 2) + '\n';
  const file = join(dir, `${r.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, json);
  writeFileSync(join(dir, 'latest.json'), json);
  return file;
}
