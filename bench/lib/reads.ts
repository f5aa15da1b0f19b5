// Read benchmark: `get` of 10 ids and `query` top-10 against the collection the write benchmark filled,
// directly and through the gateway. The gateway spreads reads over every in-sync node (primary and
// replica here), so its numbers are for two Chroma servers sharing this machine's cores, not one.
import type { BenchCluster } from './cluster.js';
import { allInSync, waitUntil } from './cluster.js';
import { runLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { call, COLLECTIONS, getBody, queryBody, rng } from './workload.js';

export interface ReadRow {
  workload: string;
  concurrency: number;
  direct: LoadResult;
  gateway: LoadResult;
}

const PREPARED_BODIES = 512;

export async function benchReads(
  cluster: BenchCluster,
  options: BenchOptions,
  collection: { name: string; ids: string[] },
  log: (line: string) => void,
): Promise<ReadRow[]> {
  await waitUntil('every node in sync before reads', () => allInSync(cluster.gateway), options.phaseTimeoutSeconds * 1000);
  const idOf = async (base: string) => (await call<{ id: string }>(base, 'GET', `${COLLECTIONS}/${collection.name}`)).id;
  const directId = await idOf(cluster.direct.url);
  const gatewayId = await idOf(cluster.gatewayUrl);
  const random = rng(7);
  const workloads = [
    { workload: 'get 10 ids', op: 'get', bodies: Array.from({ length: PREPARED_BODIES }, () => getBody(random, collection.ids, 10)) },
    { workload: 'query top-10', op: 'query', bodies: Array.from({ length: PREPARED_BODIES }, () => queryBody(random, options.dimensions, 10)) },
  ];
  const rows: ReadRow[] = [];
  let turn = 0;
  for (const w of workloads) {
    for (const concurrency of options.readConcurrency) {
      const phase = (baseUrl: string, collectionId: string, requests: number, seconds: number) =>
        runLoad({
          baseUrl,
          concurrency,
          requests,
          timeLimitMs: seconds * 1000,
          request: (i) => ({ method: 'POST', path: `${COLLECTIONS}/${collectionId}/${w.op}`, body: w.bodies[i % w.bodies.length]! }),
        });
      const warmupSeconds = Math.min(1, options.readSeconds);
      const direct = async () => {
        await phase(cluster.direct.url, directId, options.warmupRequests * concurrency, warmupSeconds);
        return phase(cluster.direct.url, directId, options.readRequests, options.readSeconds);
      };
      const gateway = async () => {
        await phase(cluster.gatewayUrl, gatewayId, options.warmupRequests * concurrency, warmupSeconds);
        return phase(cluster.gatewayUrl, gatewayId, options.readRequests, options.readSeconds);
      };
      const first = turn++ % 2 === 0;
      const d = first ? await direct() : undefined;
      const g = await gateway();
      const row = { workload: w.workload, concurrency, direct: d ?? (await direct()), gateway: g };
      rows.push(row);
      const served = Object.entries(g.servedBy).map(([n, c]) => `${n} ${Math.round((100 * c) / g.requests)}%`).join(', ');
      log(`  ${w.workload} c=${concurrency}: direct ${row.direct.requestsPerS.toFixed(0)} req/s, gateway ${g.requestsPerS.toFixed(0)} req/s (${(g.requestsPerS / row.direct.requestsPerS).toFixed(2)}×; served by ${served})`);
    }
  }
  return rows;
}
