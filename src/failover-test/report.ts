// What a failover test measured and concluded: timings computed from the probe samples, the pass/fail
// checks, and the text an operator reads (or the JSON a script reads).
import type { ReadSample, WriteSample } from './workload.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FailoverReport {
  url: string;
  gatewayVersion: string;
  nodes: number;
  oldPrimary: string;
  newPrimary: string | null;
  primaryAtEnd: string | null;
  timeline: Array<{ atMs: number; event: string }>;
  /** From stopping the primary until /status named a new one. */
  failoverMs: number | null;
  /** From bringing the old primary back until it was up and in sync. */
  rejoinMs: number | null;
  /** Longest stretch without an acknowledged write, from stopping the primary to the end of the probe traffic. */
  writePauseMs: number | null;
  /** Median gap between acknowledged writes before the primary was stopped, for comparison. */
  normalWriteGapMs: number | null;
  writes: { acked: number; rejected: number; unknown: number; maxLatencyMs: number | null; errors: string[] };
  reads: { ok: number; errors: number; stale: number; maxLatencyMs: number | null; errorSamples: string[] };
  /** Acknowledged writes missing at the end. */
  lostWrites: string[];
  /** Writes the gateway answered "not applied" (503) that are present all the same. */
  rejectedButApplied: string[];
  probeCollection: string;
  cleanedUp: boolean;
  checks: Check[];
  passed: boolean;
}

export function writePause(writes: WriteSample[], fromMs: number, toMs: number): number {
  const acks = writes.filter((w) => w.outcome === 'acked').map((w) => w.endMs).sort((a, b) => a - b);
  // Counted from the last write acknowledged before the stop: that is the pause a client sees.
  let previous = acks.filter((t) => t <= fromMs).at(-1) ?? fromMs;
  let longest = 0;
  for (const t of acks.filter((x) => x > fromMs && x <= toMs)) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return Math.max(longest, toMs - previous);
}

export function medianGap(writes: WriteSample[], beforeMs: number): number | null {
  const acks = writes.filter((w) => w.outcome === 'acked' && w.endMs <= beforeMs).map((w) => w.endMs).sort((a, b) => a - b);
  const gaps = acks.slice(1).map((t, i) => t - acks[i]!).sort((a, b) => a - b);
  return gaps.length === 0 ? null : gaps[Math.floor(gaps.length / 2)]!;
}

export function summarizeWrites(writes: WriteSample[]): FailoverReport['writes'] {
  const latencies = writes.map((w) => w.endMs - w.startMs);
  return {
    acked: writes.filter((w) => w.outcome === 'acked').length,
    rejected: writes.filter((w) => w.outcome === 'rejected').length,
    unknown: writes.filter((w) => w.outcome === 'unknown').length,
    maxLatencyMs: latencies.length ? Math.max(...latencies) : null,
    errors: distinct(writes.map((w) => w.error)),
  };
}

export function summarizeReads(reads: ReadSample[]): FailoverReport['reads'] {
  const latencies = reads.map((r) => r.endMs - r.startMs);
  return {
    ok: reads.filter((r) => r.ok).length,
    errors: reads.filter((r) => !r.ok).length,
    stale: reads.filter((r) => r.error?.startsWith('stale read')).length,
    maxLatencyMs: latencies.length ? Math.max(...latencies) : null,
    errorSamples: distinct(reads.map((r) => r.error)),
  };
}

function distinct(values: Array<string | undefined>, max = 5): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))].slice(0, max);
}

const s = (ms: number | null) => (ms === null ? 'n/a' : `${(ms / 1000).toFixed(2)} s`);

export function formatReport(r: FailoverReport): string {
  const lines = [
    `chroma-ha failover test: ${r.passed ? 'PASSED' : 'FAILED'}`,
    `  gateway        ${r.url} (chroma-ha ${r.gatewayVersion}, ${r.nodes} nodes)`,
    `  primary        ${r.oldPrimary} -> ${r.newPrimary ?? 'no failover'}${r.primaryAtEnd ? ` (primary at the end: ${r.primaryAtEnd})` : ''}`,
    `  failover       ${s(r.failoverMs)} after the primary was stopped`,
    `  write pause    ${s(r.writePauseMs)} longest without an acknowledged write (normally ${s(r.normalWriteGapMs)} between writes)`,
    `  writes         ${r.writes.acked} acknowledged, ${r.writes.rejected} rejected (not applied), ${r.writes.unknown} failed; slowest ${s(r.writes.maxLatencyMs)}`,
    `  reads          ${r.reads.ok} ok, ${r.reads.errors} errors (${r.reads.stale} stale); slowest ${s(r.reads.maxLatencyMs)}`,
    `  lost writes    ${r.lostWrites.length} of ${r.writes.acked} acknowledged${r.lostWrites.length ? `: ${r.lostWrites.slice(0, 10).join(', ')}` : ''}`,
    `  rejoin         ${s(r.rejoinMs)} after the old primary was brought back`,
    `  probe data     ${r.cleanedUp ? 'removed' : `LEFT BEHIND: collection ${r.probeCollection}`}`,
    'checks',
    ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
  ];
  for (const e of r.writes.errors) lines.push(`  write error: ${e}`);
  for (const e of r.reads.errorSamples) lines.push(`  read error: ${e}`);
  return lines.join('\n') + '\n';
}
