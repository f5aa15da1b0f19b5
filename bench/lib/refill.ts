// Refill by copy: the replica's data directory is wiped and the node restarted on the same address, as
// after a lost disk. The gateway sees that its identity marker is gone, copies every collection from the
// primary (whatever the earlier scenarios wrote, plus a collection of `refillRecords` records filled here
// if the primary holds fewer), and the node follows the log again. Timed from restart to member and in sync.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchCluster } from './cluster.js';
import { allInSync, waitUntil } from './cluster.js';
import type { BenchOptions } from './options.js';
import { addBatch, call, COLLECTIONS, countByName, createCollection, rng } from './workload.js';

export interface RefillRow {
  collections: number;
  records: number;
  dimensions: number;
  /** Restart of the Chroma process until the gateway marks it up. */
  detectUpMs: number;
  /** Marked up until the copy is done and the node is a member again. */
  copyMs: number;
  /** Restart until the node holds every committed write. */
  totalMs: number;
  recordsPerS: number;
  /** Records in each collection on the replica afterwards equal the primary's. */
  identical: boolean;
}

export async function benchRefill(cluster: BenchCluster, options: BenchOptions, log: (line: string) => void): Promise<RefillRow> {
  const gw = cluster.gateway;
  const timeoutMs = options.phaseTimeoutSeconds * 1000;
  await waitUntil('every node in sync before the refill', () => allInSync(gw) && gw.cluster.nodes.every((n) => n.isMember), timeoutMs);
  let names = (await call<Array<{ name: string }>>(cluster.primary.url, 'GET', COLLECTIONS)).map((c) => c.name);
  let records = 0;
  for (const name of names) records += await countByName(cluster.primary.url, name);
  if (records < options.refillRecords) {
    const id = await createCollection(cluster.gatewayUrl, 'bench-refill');
    const random = rng(77);
    for (let i = 0; records < options.refillRecords; i++) {
      const n = Math.min(500, options.refillRecords - records);
      await call(cluster.gatewayUrl, 'POST', `${COLLECTIONS}/${id}/add`, JSON.parse(addBatch(random, `refill-${i}`, n, options.dimensions, options.encoding).body.toString()));
      records += n;
    }
    names = [...names, 'bench-refill'];
    await waitUntil('every node in sync after filling', () => allInSync(gw), timeoutMs);
  }
  log(`  wiping the replica (${names.length} collections, ${records} records of ${options.dimensions} dimensions)`);
  const replica = gw.cluster.nodes.find((n) => n.config.url === cluster.replica.url)!;
  await cluster.replica.kill();
  await waitUntil('the gateway to mark the killed replica down', () => replica.health === 'down', timeoutMs);
  rmSync(join(cluster.dir, 'replica'), { recursive: true, force: true });
  const t0 = performance.now();
  await cluster.replica.spawn();
  await waitUntil('the gateway to mark the restarted replica up', () => replica.isUp, timeoutMs, 2);
  const tUp = performance.now();
  await waitUntil('the replica to be refilled', () => replica.isMember, timeoutMs, 5);
  const tMember = performance.now();
  await waitUntil('the replica in sync', () => allInSync(gw), timeoutMs, 5);
  const tSync = performance.now();
  let identical = true;
  for (const name of names) {
    const [p, r] = await Promise.all([countByName(cluster.primary.url, name), countByName(cluster.replica.url, name)]);
    identical &&= p === r;
  }
  const row: RefillRow = {
    collections: names.length,
    records,
    dimensions: options.dimensions,
    detectUpMs: tUp - t0,
    copyMs: tMember - tUp,
    totalMs: tSync - t0,
    recordsPerS: records / ((tMember - tUp) / 1000),
    identical,
  };
  log(`  refill: ${records} records copied in ${(row.copyMs / 1000).toFixed(2)} s (${row.recordsPerS.toFixed(0)} records/s), identical: ${identical}`);
  return row;
}
