// The performance targets, each judged met / not met from this run's numbers. A target whose
// numbers were not measured in this run (a part skipped, a workload left out) says so instead.
import type { CatchupResult } from './catchup.js';
import type { FailoverResult } from './failover.js';
import type { Row } from './matrix.js';
import type { Workload } from './options.js';

export interface TargetVerdict {
  target: string;
  measured: string;
  met: boolean | null;
}

export function judgeTargets(rows: Row[], failover: FailoverResult[], catchup: CatchupResult | null, peakRssMiB: number | null): TargetVerdict[] {
  const find = (part: Row['part'], workload: Workload, c: number) => rows.find((r) => r.part === part && r.workload === workload && r.concurrency === c);
  const out: TargetVerdict[] = [];
  const verdict = (target: string, value: number | null | undefined, ok: (v: number) => boolean, show: (v: number) => string) =>
    out.push(value === null || value === undefined || !Number.isFinite(value) ? { target, measured: 'not measured in this run', met: null } : { target, measured: show(value), met: ok(value) });
  const us = (v: number) => `${v.toFixed(0)} µs`;
  const x = (v: number) => `${v.toFixed(2)}×`;
  const ratio = (part: Row['part'], w: Workload, c: number, a: string, b: string) => {
    const row = find(part, w, c);
    const ra = row?.results[a]?.requestsPerS;
    const rb = row?.results[b]?.requestsPerS;
    return ra !== undefined && rb ? ra / rb : null;
  };
  const cpu = (w: Workload, c: number) => find('uncapped', w, c)?.results['chroma-ha']?.cpuUsPerRequest;

  verdict('gateway CPU per heartbeat ≤ 40 µs (c=8)', cpu('heartbeat', 8), (v) => v <= 40, us);
  verdict('gateway CPU per get ≤ 150 µs (c=8)', cpu('get', 8), (v) => v <= 150, us);
  verdict('gateway CPU per query ≤ 200 µs (c=8)', cpu('query', 8), (v) => v <= 200, us);
  verdict('heartbeat req/s ≥ 0.8× HAProxy (c=8)', ratio('uncapped', 'heartbeat', 8, 'chroma-ha', 'haproxy'), (v) => v >= 0.8, x);
  verdict('get req/s ≥ 0.9× direct (c=1, one node)', ratio('uncapped', 'get', 1, 'chroma-ha', 'direct'), (v) => v >= 0.9, x);
  verdict('query req/s ≥ 0.9× direct (c=1, one node)', ratio('uncapped', 'query', 1, 'chroma-ha', 'direct'), (v) => v >= 0.9, x);
  for (const w of ['get', 'query'] as const) {
    verdict(`capped: ${w} through 3 nodes, gateway capped too, ≥ 2.7× one capped node (c=8)`, ratio('capped', w, 8, 'chroma-ha-3 (gw capped)', 'direct'), (v) => v >= 2.7, x);
  }
  verdict('capped: batch add 100×384-d ≥ 0.95× one capped node (c=8)', ratio('capped', 'add-batch', 8, 'chroma-ha-3', 'direct'), (v) => v >= 0.95, x);
  verdict('capped: single adds ≥ 1.5× one capped node (c=8)', ratio('capped', 'add-single', 8, 'chroma-ha-3', 'direct'), (v) => v >= 1.5, x);
  verdict('capped: single adds faster than one capped node (c=64)', ratio('capped', 'add-single', 64, 'chroma-ha-3', 'direct'), (v) => v > 1, x);
  verdict('gateway CPU per batch add 100×384-d ≤ 3 ms (c=1)', cpu('add-batch', 1), (v) => v <= 3_000, us);
  verdict('gateway RSS ≤ 150 MB under every benchmark (peak of both gateways)', peakRssMiB, (v) => v * 1.048576 <= 150, (v) => `${(v * 1.048576).toFixed(0)} MB`);
  const gw = failover.find((f) => f.system === 'chroma-ha');
  verdict('failover: no acknowledged write missing from the final primary', gw?.missingOnFinalPrimary, (v) => v === 0, (v) => `${v} missing of ${gw!.writes.acknowledged}`);
  verdict('replica catch-up ≥ 2× direct ingest rate (interleaved writers to 4 collections)', catchup?.catchupVsDirect, (v) => v >= 2, x);
  return out;
}
