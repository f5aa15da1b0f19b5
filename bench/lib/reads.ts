// Read benchmark: `get` of 10 ids and `query` top-10 against the collection the write benchmark filled,
// directly, through the gateway and (as a control) through a minimal Node proxy in front of the direct
// server. The gateway spreads reads over every in-sync node (primary and replica here), so its numbers
// are for two Chroma servers sharing this machine's cores, where direct and the control use one.
import type { BenchCluster } from './cluster.js';
import { allInSync, waitUntil } from './cluster.js';
import { interleave, runLoad, type LoadResult, type LoadRun } from './load.js';
import type { BenchOptions } from './options.js';
import { startPlainProxy } from './plain-proxy.js';
import { call, COLLECTIONS, getBody, queryBody, rng } from './workload.js';

export interface ReadRow {
  workload: string;
  concurrency: number;
  direct: LoadResult;
  gateway: LoadResult;
  /** The minimal Node proxy in front of the direct server, when measured. */
  plainProxy: LoadResult | null;
}

const PREPARED_BODIES = 512;

type Side = 'direct' | 'gateway' | 'plainProxy';

export async function benchReads(
  cluster: BenchCluster,
  options: BenchOptions,
  collection: { name: string; ids: string[] },
  log: (line: string) => void,
): Promise<ReadRow[]> {
  await waitUntil('every node in sync before reads', () => allInSync(cluster.gateway), options.phaseTimeoutSeconds * 1000);
  const idOf = async (base: string) => (await call<{ id: string }>(base, 'GET', `${COLLECTIONS}/${encodeURIComponent(collection.name)}`)).id;
  const directId = await idOf(cluster.direct.url);
  const gatewayId = await idOf(cluster.gatewayUrl);
  const proxy = options.proxyBaseline ? await startPlainProxy(cluster.direct.url) : null;
  const targets: Record<Side, { url: string; collectionId: string } | null> = {
    direct: { url: cluster.direct.url, collectionId: directId },
    gateway: { url: cluster.gatewayUrl, collectionId: gatewayId },
    plainProxy: proxy && { url: proxy.url, collectionId: directId },
  };
  const sides = (Object.keys(targets) as Side[]).filter((s) => targets[s] !== null);
  const random = rng(7);
  const workloads = [
    { workload: 'get 10 ids', op: 'get', bodies: Array.from({ length: PREPARED_BODIES }, () => getBody(random, collection.ids, 10)) },
    { workload: 'query top-10', op: 'query', bodies: Array.from({ length: PREPARED_BODIES }, () => queryBody(random, options.dimensions, 10)) },
  ];
  const rows: ReadRow[] = [];
  try {
    for (const w of workloads) {
      for (const concurrency of options.readConcurrency) {
        const phase = (side: Side, requests: number, seconds: number): Promise<LoadRun> =>
          runLoad({
            baseUrl: targets[side]!.url,
            concurrency,
            requests,
            timeLimitMs: seconds * 1000,
            request: (i) => ({ method: 'POST', path: `${COLLECTIONS}/${targets[side]!.collectionId}/${w.op}`, body: w.bodies[i % w.bodies.length]! }),
          });
        for (const side of sides) await phase(side, options.warmupRequests * concurrency, Math.min(1, options.readSeconds));
        const rounds = options.rounds;
        const results = await interleave<Side>(sides, rounds, (side) => phase(side, Math.ceil(options.readRequests / rounds), options.readSeconds / rounds));
        const row: ReadRow = { workload: w.workload, concurrency, direct: results.direct, gateway: results.gateway, plainProxy: results.plainProxy ?? null };
        rows.push(row);
        const d = row.direct.requestsPerS;
        const served = Object.entries(row.gateway.servedBy)
          .map(([n, c]) => `${n} ${Math.round((100 * c) / row.gateway.requests)}%`)
          .join(', ');
        log(
          `  ${w.workload} c=${concurrency}: direct ${d.toFixed(0)} req/s, gateway ${row.gateway.requestsPerS.toFixed(0)} req/s ` +
            `(${(row.gateway.requestsPerS / d).toFixed(2)}×; served by ${served})` +
            (row.plainProxy ? `, plain proxy ${row.plainProxy.requestsPerS.toFixed(0)} req/s (${(row.plainProxy.requestsPerS / d).toFixed(2)}×)` : ''),
        );
      }
    }
  } finally {
    await proxy?.close();
  }
  return rows;
}
