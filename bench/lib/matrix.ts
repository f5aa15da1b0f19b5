// The measurements: each workload at each concurrency against a set of systems, in alternating rounds.
// Uncapped: direct Chroma, HAProxy, the plain Node proxy and the gateway, all in front of the same single
// Chroma server (the gateway's own cost). Capped (cgroup CPU quotas standing in for separate machines):
// one capped direct node against the gateway over a capped primary and two capped replicas, with the
// gateway capped too (read scaling) or not (writes, and reads for comparison).
import type { CpuCaps } from './cgroup.js';
import { combine, interleave, runLoad, type BenchRequest, type LoadResult } from './load.js';
import type { BenchOptions, Workload } from './options.js';
import { collectionId, inSync, must, type Systems, type Target } from './systems.js';

const CAPPED_WRITE_COLLECTION = 'bench-write-capped';
import { COLLECTIONS, waitFor } from '../../tests/helpers/cluster.js';
import { addBatch, getBody, queryBody, rng } from './workload.js';

export interface Row {
  part: 'uncapped' | 'capped';
  workload: Workload;
  concurrency: number;
  /** System name -> result, in the order measured. */
  results: Record<string, LoadResult>;
}

export const WORKLOAD_LABELS: Record<Workload, string> = {
  heartbeat: 'heartbeat',
  get: 'get 10 ids',
  query: 'query top-10',
  count: 'count',
  'add-batch': 'add 100×384-d',
  'add-single': 'add 1×384-d',
};

const isWrite = (w: Workload) => w === 'add-batch' || w === 'add-single';

/** The request a workload sends to a target; bodies come from one seeded generator, fresh ids per add. */
function requestFor(workload: Workload, target: Target, options: BenchOptions, random: () => number, prefix: () => string): BenchRequest {
  const records = (id: string) => `${COLLECTIONS}/${id}`;
  const seedIds = Array.from({ length: options.records }, (_, i) => `seed-${Math.floor(i / options.batch)}-${i % options.batch}`);
  switch (workload) {
    case 'heartbeat':
      return { method: 'GET', path: '/api/v2/heartbeat' };
    case 'count':
      return { method: 'GET', path: `${records(target.readId)}/count` };
    case 'get': {
      const bodies = Array.from({ length: 256 }, () => getBody(random, seedIds, 10));
      let i = 0;
      return { method: 'POST', path: `${records(target.readId)}/get`, body: () => bodies[i++ % bodies.length]! };
    }
    case 'query': {
      const bodies = Array.from({ length: 256 }, () => queryBody(random, options.dimensions, 10));
      let i = 0;
      return { method: 'POST', path: `${records(target.readId)}/query`, body: () => bodies[i++ % bodies.length]! };
    }
    case 'add-batch':
    case 'add-single': {
      const size = workload === 'add-batch' ? options.batch : 1;
      return { method: 'POST', path: `${records(target.writeId)}/add`, body: () => addBatch(random, prefix(), size, options.dimensions, options.encoding).body };
    }
  }
}

interface SystemPlan {
  name: string;
  target: Target;
  /** Sets the CPU quotas this system is measured under (capped part only). */
  before?: () => void;
  /** After a round: wait for replicas to finish applying, so their work does not spill into the next system's round. */
  settle?: () => Promise<void>;
}

async function measure(part: Row['part'], workload: Workload, concurrency: number, plans: SystemPlan[], options: BenchOptions): Promise<Row> {
  const random = rng(7);
  let counter = 0;
  const requests = new Map(plans.map((p) => [p.name, requestFor(workload, p.target, options, random, () => `${part}-${p.name}-${workload}-${concurrency}-${counter++}`)]));
  // Writes are slow and must not be cut off mid-request (an add cut off at the end of a timed run is lost
  // to the count but still applied): they run a fixed number of requests, sized from the system's warm-up
  // rate so that a round lasts about `seconds`.
  const writes = isWrite(workload);
  const rates = new Map<string, number>();
  const phase = async (plan: SystemPlan, seconds: number, warmup: boolean) => {
    plan.before?.();
    const amount = writes ? (warmup ? concurrency : Math.max(concurrency, Math.ceil((rates.get(plan.name) ?? 1) * seconds))) : undefined;
    const run = await runLoad({ baseUrl: plan.target.url, concurrency, seconds, amount, request: requests.get(plan.name)!, pids: plan.target.pids });
    if (warmup) rates.set(plan.name, run.samplesMs.length / Math.max(run.durationS, 0.001));
    await plan.settle?.();
    return run;
  };
  if (options.warmupSeconds > 0 || writes) for (const p of plans) await phase(p, options.warmupSeconds, true);
  const byName = new Map(plans.map((p) => [p.name, p]));
  const runs = await interleave(
    plans.map((p) => p.name),
    options.rounds,
    (name) => phase(byName.get(name)!, options.seconds, false),
  );
  const results: Record<string, LoadResult> = {};
  for (const p of plans) results[p.name] = combine(runs.get(p.name)!, p.target.pids.length > 0);
  return { part, workload, concurrency, results };
}

export async function benchUncapped(systems: Systems, options: BenchOptions, log: (line: string) => void): Promise<Row[]> {
  const t = systems.targets;
  const plans: SystemPlan[] = (['direct', 'haproxy', 'plain-proxy', 'chroma-ha'] as const).map((name) => ({ name, target: t[name] }));
  const rows: Row[] = [];
  for (const workload of options.workloads) {
    for (const c of options.concurrency) {
      const row = await measure('uncapped', workload, c, plans, options);
      rows.push(row);
      log(`  ${describe(row)}`);
    }
  }
  return rows;
}

/** Capped: every Chroma node at capCores; reads also with the gateway capped (a small instance in front of the cluster). */
export async function benchCapped(systems: Systems, caps: CpuCaps, options: BenchOptions, log: (line: string) => void): Promise<Row[]> {
  const cores = options.capCores;
  const gateway = systems.targets['chroma-ha-3'];
  const nodes = [systems.direct, ...systems.trio];
  const capNodes = () => nodes.forEach((n, i) => caps.set(`node-${i}`, n.pid!, cores));
  const capGateway = (capped: boolean) => caps.set('gateway-3', gateway.pids[0]!, capped ? cores : null);
  const settle = async () => void (await waitFor('the replicas to catch up after a round', () => inSync(gateway.url), 120_000, 10));
  // Writes go to fresh, equally empty collections on both sides: the uncapped part has filled the direct
  // server's write collection, and Chroma's adds slow down as a collection grows.
  const fresh = async (url: string) => (await must(url, 'POST', COLLECTIONS, { name: CAPPED_WRITE_COLLECTION }), collectionId(url, CAPPED_WRITE_COLLECTION));
  const directTarget = { ...systems.targets.direct, writeId: await fresh(systems.targets.direct.url) };
  const gatewayTarget = { ...gateway, writeId: await fresh(gateway.url) };
  const direct: SystemPlan = { name: 'direct', target: directTarget, before: capNodes };
  const cappedGateway: SystemPlan = { name: 'chroma-ha-3 (gw capped)', target: gatewayTarget, before: () => (capNodes(), capGateway(true)) };
  const freeGateway: SystemPlan = { name: 'chroma-ha-3', target: gatewayTarget, before: () => (capNodes(), capGateway(false)), settle };
  const rows: Row[] = [];
  try {
    for (const workload of options.workloads.filter((w) => w !== 'heartbeat' && w !== 'count')) {
      for (const c of options.cappedConcurrency) {
        const plans = isWrite(workload) ? [direct, freeGateway] : [direct, cappedGateway, freeGateway];
        const row = await measure('capped', workload, c, plans, options);
        rows.push(row);
        log(`  ${describe(row)} (capped)`);
      }
    }
  } finally {
    nodes.forEach((n, i) => n.pid && caps.set(`node-${i}`, n.pid, null));
    capGateway(false);
  }
  return rows;
}

function describe(row: Row): string {
  const entries = Object.entries(row.results);
  const base = entries[0]![1].requestsPerS;
  return (
    `${WORKLOAD_LABELS[row.workload]} c=${row.concurrency}: ` +
    entries
      .map(([name, r]) => `${name} ${r.requestsPerS.toFixed(r.requestsPerS < 100 ? 1 : 0)}/s` + (name === entries[0]![0] || base === 0 ? '' : ` (${(r.requestsPerS / base).toFixed(2)}×)`) + (r.cpuUsPerRequest !== null ? ` ${r.cpuUsPerRequest.toFixed(0)} µs` : '') + (r.errors ? ` ${r.errors} errors` : ''))
      .join(', ')
  );
}
