// Replica catch-up: the replica is stopped, records are written through the gateway (which keeps
// acknowledging writes from the primary alone), the replica is restarted, and we time how long it takes
// to hold every committed write again. Run once with batch adds and once with single-record adds: the
// applier merges runs of consecutive adds into one request, which matters most for small writes.
import type { BenchCluster } from './cluster.js';
import { allInSync, waitUntil } from './cluster.js';
import { combine, runLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { addBatch, call, COLLECTIONS, countByName, createCollection, rng } from './workload.js';

export interface CatchupRow {
  run: string;
  recordsPerRequest: number;
  records: number;
  /** Log entries the replica had to apply on return. */
  entries: number;
  /** The writes through the gateway while the replica was down (the primary's own pace, entry by entry). */
  writes: LoadResult;
  /** Restart of the Chroma process until its heartbeat answers. */
  restartMs: number;
  /** Heartbeat answering until the gateway's health checks mark the node up (CHECK_INTERVAL, RECOVERY_THRESHOLD). */
  detectUpMs: number;
  /** Node marked up until it has applied every entry: the applier's own speed. */
  applyMs: number;
  /** Restart until in-sync: what an operator waits. */
  totalMs: number;
  recordsPerS: number;
  entriesPerS: number;
  /** Records in the collection on the primary and on the replica afterwards (must be equal). */
  primaryCount: number;
  replicaCount: number;
}

export async function benchCatchup(cluster: BenchCluster, options: BenchOptions, log: (line: string) => void): Promise<CatchupRow[]> {
  const rows: CatchupRow[] = [];
  const batches = Math.max(1, Math.round(options.catchupRecords / options.batch));
  rows.push(await catchupRun(cluster, options, `${batches} adds × ${options.batch}`, 'bench-catchup-batched', batches, options.batch));
  log(describe(rows.at(-1)!));
  if (options.catchupSingles > 0) {
    rows.push(await catchupRun(cluster, options, `${options.catchupSingles} adds × 1`, 'bench-catchup-single', options.catchupSingles, 1));
    log(describe(rows.at(-1)!));
  }
  return rows;
}

async function catchupRun(cluster: BenchCluster, options: BenchOptions, run: string, name: string, requests: number, perRequest: number): Promise<CatchupRow> {
  const gw = cluster.gateway;
  const replica = gw.cluster.nodes.find((n) => n.config.url === cluster.replica.url)!;
  const timeoutMs = options.phaseTimeoutSeconds * 1000;
  const collectionId = await createCollection(cluster.gatewayUrl, name);
  await waitUntil('every node in sync before stopping the replica', () => allInSync(gw), timeoutMs);

  await cluster.replica.stop();
  await waitUntil('the gateway to mark the stopped replica down', () => replica.health === 'down', timeoutMs);
  const random = rng(1000 + perRequest);
  const bodies = Array.from({ length: requests }, (_, i) => addBatch(random, `${name}-${i}`, perRequest, options.dimensions, options.encoding).body);
  const writes = combine([
    await runLoad({
      baseUrl: cluster.gatewayUrl,
      concurrency: options.catchupConcurrency,
      requests,
      timeLimitMs: timeoutMs,
      request: (i) => ({ method: 'POST', path: `${COLLECTIONS}/${collectionId}/add`, body: bodies[i]! }),
    }),
  ]);
  if (writes.errors > 0) throw new Error(`${writes.errors} writes failed while the replica was down: ${writes.errorSamples.join(' | ')}`);
  const target = gw.log.committedHead;
  const entries = target - replica.appliedSeq;

  const t0 = performance.now();
  await cluster.replica.spawn();
  const tReady = performance.now();
  await waitUntil('the gateway to mark the restarted replica up', () => replica.isUp, timeoutMs, 2);
  const tUp = performance.now();
  await waitUntil('the replica to apply every committed entry', () => replica.appliedSeq >= target, timeoutMs, 2);
  const tSync = performance.now();

  // What an operator sees must agree: /status reports the replica in sync with no lag.
  const status = await call<{ nodes: { name: string; syncState: string; lagEntries: number }[] }>(cluster.gatewayUrl, 'GET', '/status');
  const shown = status.nodes.find((n) => n.name === replica.name);
  if (shown?.syncState !== 'in-sync' || shown.lagEntries !== 0) {
    throw new Error(`the replica applied every entry but /status shows ${JSON.stringify(shown)}`);
  }
  const [primaryCount, replicaCount] = await Promise.all([countByName(cluster.primary.url, name), countByName(cluster.replica.url, name)]);
  const records = writes.requests * perRequest;
  if (primaryCount !== records || replicaCount !== records) {
    throw new Error(`after catch-up ${name} holds ${primaryCount} records on the primary and ${replicaCount} on the replica; expected ${records}`);
  }
  const applyS = (tSync - tUp) / 1000;
  return {
    run,
    recordsPerRequest: perRequest,
    records,
    entries,
    writes,
    restartMs: tReady - t0,
    detectUpMs: tUp - tReady,
    applyMs: tSync - tUp,
    totalMs: tSync - t0,
    recordsPerS: records / applyS,
    entriesPerS: entries / applyS,
    primaryCount,
    replicaCount,
  };
}

function describe(r: CatchupRow): string {
  return (
    `  catch-up ${r.run}: ${r.entries} entries / ${r.records} records applied in ${(r.applyMs / 1000).toFixed(2)} s ` +
    `(${r.recordsPerS.toFixed(0)} records/s, ${r.entriesPerS.toFixed(0)} entries/s; ${(r.totalMs / 1000).toFixed(2)} s from restart)`
  );
}
