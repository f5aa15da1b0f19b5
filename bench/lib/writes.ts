// Write benchmark: batch adds at each concurrency level, and a run of single-record adds (where the
// log's per-entry cost shows most). The same request bodies go to Chroma directly and through the
// gateway (primary + replica), phases alternating which side goes first so drift on a shared machine
// does not always favour the same side. Normally the replica applies the writes while they are being
// made, as in production; on one machine its Chroma then competes with the primary's for the same cores.
// The "replica down" rows stop the replica during the gateway phase to separate that cost from the
// gateway's own (log appends, outcome records, proxying).
import type { BenchCluster } from './cluster.js';
import { allInSync, waitUntil } from './cluster.js';
import { runLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { addBatch, COLLECTIONS, createCollection, rng, type AddBatch } from './workload.js';

export interface WriteRow {
  workload: string;
  concurrency: number;
  recordsPerRequest: number;
  /** True when the replica was stopped during the gateway phase. */
  replicaDown: boolean;
  direct: LoadResult;
  gateway: LoadResult;
  /** Log entries the replica still had to apply when the gateway phase's last answer arrived. */
  replicaLagAtEnd: number;
  /** Time the replica needed after the phase (after its restart when it was down) to hold every committed write. */
  replicaCatchupAfterMs: number;
}

export interface WriteBenchResult {
  collection: string;
  rows: WriteRow[];
  /** Every id written (present on Chroma directly and on both nodes), for the read benchmark. */
  ids: string[];
}

interface WritePlan {
  perRequest: number;
  concurrency: number;
  requests: number;
  replicaDown: boolean;
}

function plansOf(o: BenchOptions): WritePlan[] {
  const batch = (concurrency: number, replicaDown = false) => ({ perRequest: o.batch, concurrency, requests: o.writeRequests, replicaDown });
  const single = (concurrency: number, replicaDown = false) => ({ perRequest: 1, concurrency, requests: o.singleWriteRequests, replicaDown });
  const singles = o.singleWriteRequests > 0;
  const down = o.replicaDownConcurrency;
  return [
    ...o.writeConcurrency.map((c) => batch(c)),
    ...(singles ? o.singleWriteConcurrency.map((c) => single(c)) : []),
    ...(down > 0 ? [batch(down, true)] : []),
    ...(down > 0 && singles ? [single(down, true)] : []),
  ];
}

export async function benchWrites(cluster: BenchCluster, options: BenchOptions, log: (line: string) => void): Promise<WriteBenchResult> {
  const name = 'bench-records';
  const directId = await createCollection(cluster.direct.url, name);
  const gatewayId = await createCollection(cluster.gatewayUrl, name);
  const gw = cluster.gateway;
  const replicaNode = gw.cluster.nodes.find((n) => n.config.url === cluster.replica.url)!;
  const random = rng(42);
  const ids: string[] = [];
  const rows: WriteRow[] = [];
  const timeLimitMs = options.phaseTimeoutSeconds * 1000;

  for (const [index, plan] of plansOf(options).entries()) {
    const { perRequest, concurrency, requests, replicaDown } = plan;
    const workload = `add ${perRequest}×${options.dimensions}-d`;
    const make = (kind: string, n: number) =>
      Array.from({ length: n }, (_, i) => addBatch(random, `w${index}-${kind}${i}`, perRequest, options.dimensions, options.encoding));
    // Single-record runs warm up with as many requests as they have concurrent clients times the batch warm-up.
    const warmup = make('warm', perRequest === options.batch ? options.warmupRequests : options.warmupRequests * concurrency);
    const measured = make('req', requests);
    for (const b of [...warmup, ...measured]) ids.push(...b.ids);

    const phase = (baseUrl: string, collectionId: string, batches: AddBatch[]) =>
      runLoad({
        baseUrl,
        concurrency,
        requests: batches.length,
        timeLimitMs,
        request: (i) => ({ method: 'POST', path: `${COLLECTIONS}/${collectionId}/add`, body: batches[i]!.body }),
      });
    const direct = async () => {
      await phase(cluster.direct.url, directId, warmup);
      return phase(cluster.direct.url, directId, measured);
    };
    let replicaLagAtEnd = 0;
    let replicaCatchupAfterMs = 0;
    const gateway = async () => {
      await phase(cluster.gatewayUrl, gatewayId, warmup);
      await waitUntil('the replica to catch up before the gateway phase', () => allInSync(gw), timeLimitMs);
      if (replicaDown) {
        await cluster.replica.stop();
        await waitUntil('the gateway to mark the stopped replica down', () => replicaNode.health === 'down', timeLimitMs);
      }
      const result = await phase(cluster.gatewayUrl, gatewayId, measured);
      let ended = Date.now();
      replicaLagAtEnd = gw.log.committedHead - replicaNode.appliedSeq;
      if (replicaDown) {
        await cluster.replica.spawn();
        ended = Date.now();
      }
      await waitUntil('the replica to catch up after the gateway phase', () => allInSync(gw), timeLimitMs, 5);
      replicaCatchupAfterMs = Date.now() - ended;
      return result;
    };
    let d: LoadResult;
    let g: LoadResult;
    if (index % 2 === 0) {
      d = await direct();
      g = await gateway();
    } else {
      g = await gateway();
      d = await direct();
    }
    rows.push({ workload, concurrency, recordsPerRequest: perRequest, replicaDown, direct: d, gateway: g, replicaLagAtEnd, replicaCatchupAfterMs });
    log(
      `  ${workload} c=${concurrency}${replicaDown ? ' (replica down)' : ''}: direct ${d.requestsPerS.toFixed(1)} req/s, ` +
        `gateway ${g.requestsPerS.toFixed(1)} req/s (${(g.requestsPerS / d.requestsPerS).toFixed(2)}×)`,
    );
  }
  return { collection: name, rows, ids };
}
