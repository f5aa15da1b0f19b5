// Refill by copy (src/replication/copy.ts): the replica's data directory is wiped and the node restarted on
// the same address, as after a lost disk. The gateway sees that its identity marker is gone, copies every
// collection from the primary (a collection of `refillRecords` records filled here, plus whatever earlier
// parts wrote), and the node follows the log again. Timed from restart to member and in sync.
import { rmSync } from 'node:fs';
import { COLLECTIONS, http, waitFor } from '../../tests/helpers/cluster.js';
import type { BenchOptions } from './options.js';
import { createCollection, pairInSync, post, type Pair } from './pair.js';
import { addBatch, rng } from './workload.js';

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

async function counts(url: string): Promise<Map<string, number>> {
  const listed = (await http(url, 'GET', COLLECTIONS)).json as Array<{ name: string; id: string }>;
  const out = new Map<string, number>();
  for (const c of listed) out.set(c.name, Number((await http(url, 'GET', `${COLLECTIONS}/${c.id}/count`)).text));
  return out;
}

export async function benchRefill(pair: Pair, options: BenchOptions, log: (line: string) => void): Promise<RefillRow> {
  const gw = pair.gateway;
  const timeoutMs = 600_000;
  const id = await createCollection(pair.url, 'bench-refill');
  const random = rng(77);
  for (let written = 0, i = 0; written < options.refillRecords; i++) {
    const n = Math.min(500, options.refillRecords - written);
    await post(pair.url, `${COLLECTIONS}/${id}/add`, addBatch(random, `refill-${i}`, n, options.dimensions, options.encoding).body);
    written += n;
  }
  await waitFor('every node in sync before the refill', () => pairInSync(gw), timeoutMs, 20);
  const before = await counts(pair.primary.url);
  const records = [...before.values()].reduce((a, b) => a + b, 0);
  log(`  wiping the replica (${before.size} collections, ${records} records of ${options.dimensions} dimensions)`);
  const replica = gw.cluster.nodes.find((n) => n.config.url === pair.replica.url)!;
  await pair.replica.kill();
  await waitFor('the gateway to mark the killed replica down', () => replica.health === 'down', timeoutMs, 5);
  rmSync(pair.replicaDir, { recursive: true, force: true });
  const t0 = performance.now();
  await pair.replica.spawn();
  await waitFor('the gateway to mark the restarted replica up', () => replica.isUp, timeoutMs, 2);
  const tUp = performance.now();
  await waitFor('the replica to be refilled', () => replica.isMember, timeoutMs, 5);
  const tMember = performance.now();
  await waitFor('the replica in sync', () => pairInSync(gw), timeoutMs, 5);
  const tSync = performance.now();
  const after = await counts(pair.replica.url);
  const identical = [...before].every(([name, n]) => after.get(name) === n);
  const row: RefillRow = {
    collections: before.size,
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

/** Markdown section of the report. */
export function refillTable(r: RefillRow | null): string[] {
  if (!r) return [];
  return [
    '## Refill by copy (issue 9: target ≥ 2,000 records/s)',
    '',
    '| collections | records | detected up | copy | until in sync | records/s | identical |',
    '|---|---|---|---|---|---|---|',
    `| ${r.collections} | ${r.records} × ${r.dimensions}-d | ${(r.detectUpMs / 1000).toFixed(2)} s | ${(r.copyMs / 1000).toFixed(2)} s | ${(r.totalMs / 1000).toFixed(2)} s | ${r.recordsPerS.toFixed(0)} | ${r.identical ? 'yes' : '**no**'} |`,
  ];
}
