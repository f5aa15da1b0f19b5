// Write benchmark: batch adds at each concurrency level, and a run of single-record adds (where the
// log's per-entry cost shows most). The same request bodies go to Chroma directly and through the
// gateway (primary + replica), in rounds that alternate the two sides so that other work on a shared
// machine falls on both alike. Normally the replica applies the writes while they are being
// made, as in production; on one machine its Chroma then competes with the primary's for the same cores.
// The "replica down" rows stop the replica during the gateway phase to separate that cost from the
// gateway's own (log appends, outcome records, proxying).
import type { BenchCluster } from './cluster.js';
import { allInSync, waitUntil } from './cluster.js';
import { interleave, runLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { addBatch, COLLECTIONS, createCollection, rng, type AddBatch } from './workload.js';

export interface WriteRow {
  workload: string;
  concurrency: number;
  recordsPerRequest: number;
  /** True when the replica was stopped during the gateway phase. */
  replicaDown: boolean;
  /** Rounds the measurement was split into, alternating direct and gateway. */
  rounds: number;
  direct: LoadResult;
  gateway: LoadResult;
  /** Most log entries the replica still had to apply when a gateway round's last answer arrived (all it missed when down). */
  replicaLagAtEnd: number;
  /** Longest time the replica needed after a gateway round (after its restart when it was down) to hold every committed write. */
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

    const target = { direct: { url: cluster.direct.url, collectionId: directId }, gateway: { url: cluster.gatewayUrl, collectionId: gatewayId } };
    type Side = keyof typeof target;
    const phase = (side: Side, batches: AddBatch[]) =>
      runLoad({
        baseUrl: target[side].url,
        concurrency,
        requests: batches.length,
        timeLimitMs,
        request: (i) => ({ method: 'POST', path: `${COLLECTIONS}/${target[side].collectionId}/add`, body: batches[i]!.body }),
      });
    await phase('direct', warmup);
    await phase('gateway', warmup);
    await waitUntil('the replica to catch up before the measured rounds', () => allInSync(gw), timeLimitMs);
    if (replicaDown) {
      await cluster.replica.stop();
      await waitUntil('the gateway to mark the stopped replica down', () => replicaNode.health === 'down', timeLimitMs);
    }
    // Rounds small enough to interleave, large enough that ramp-up and drain at each end stay minor.
    const rounds = Math.max(1, Math.min(options.rounds, Math.floor(requests / (4 * concurrency))));
    const slice = (r: number) => measured.slice(Math.floor((r * requests) / rounds), Math.floor(((r + 1) * requests) / rounds));
    let replicaLagAtEnd = 0;
    let replicaCatchupAfterMs = 0;
    const result = await interleave<Side>(['direct', 'gateway'], rounds, async (side, r) => {
      const run = await phase(side, slice(r));
      if (side === 'gateway' && !replicaDown) {
        // Let the replica finish this round's writes so its work does not spill into the other side's round.
        const ended = Date.now();
        replicaLagAtEnd = Math.max(replicaLagAtEnd, gw.log.committedHead - replicaNode.appliedSeq);
        await waitUntil('the replica to catch up after a gateway round', () => allInSync(gw), timeLimitMs, 5);
        replicaCatchupAfterMs = Math.max(replicaCatchupAfterMs, Date.now() - ended);
      }
      return run;
    });
    if (replicaDown) {
      replicaLagAtEnd = gw.log.committedHead - replicaNode.appliedSeq;
      const restarted = Date.now();
      await cluster.replica.spawn();
      await waitUntil('the restarted replica to catch up', () => allInSync(gw), timeLimitMs, 5);
      replicaCatchupAfterMs = Date.now() - restarted;
    }
    const { direct: d, gateway: g } = result;
    rows.push({ workload, concurrency, recordsPerRequest: perRequest, replicaDown, rounds, direct: d, gateway: g, replicaLagAtEnd, replicaCatchupAfterMs });
    log(
      `  ${workload} c=${concurrency}${replicaDown ? ' (replica down)' : ''}: direct ${d.requestsPerS.toFixed(1)} req/s, ` +
        `gateway ${g.requestsPerS.toFixed(1)} req/s (${(g.requestsPerS / d.requestsPerS).toFixed(2)}×, ${rounds} rounds)`,
    );
  }
  return { collection: name, rows, ids };
}
