// Replica catch-up: one replica of the 3-node gateway is stopped, interleaved writers add records to
// several collections through the gateway, the replica is restarted, and the time until it holds every
// committed write (its /status lag back to 0) is compared with how fast direct Chroma ingests the same
// writes from the same number of writers. Above 1, a returning replica catches up faster than a client
// could write the records to Chroma.
import { Pool } from 'undici';
import { COLLECTIONS, waitFor } from '../../tests/helpers/cluster.js';
import type { BenchOptions } from './options.js';
import { collectionId, inSync, must, type Systems } from './systems.js';
import { addBatch, rng } from './workload.js';

export interface CatchupResult {
  writers: number;
  collections: number;
  entries: number;
  recordsPerEntry: number;
  records: number;
  /** Direct Chroma taking the same adds from the same writers. */
  directRecordsPerS: number;
  /** The gateway's own pace while the replica was down (primary + the other replica). */
  gatewayRecordsPerS: number;
  /** Restart of the replica's Chroma until the gateway marks it up. */
  detectUpS: number;
  /** Marked up until lag 0. */
  applyS: number;
  catchupRecordsPerS: number;
  catchupVsDirect: number;
}

const WRITERS = 4;
const RECORDS_PER_ADD = 10;

/** Each writer adds to its own collection, `adds` times; returns records per second. */
async function ingest(url: string, ids: string[], adds: number, options: BenchOptions, tag: string): Promise<number> {
  const pool = new Pool(url, { connections: WRITERS });
  const random = rng(11);
  const t0 = performance.now();
  try {
    await Promise.all(
      ids.map(async (id, w) => {
        for (let i = 0; i < adds; i++) {
          const { body } = addBatch(random, `${tag}-${w}-${i}`, RECORDS_PER_ADD, options.dimensions, options.encoding);
          const r = await pool.request({ method: 'POST', path: `${COLLECTIONS}/${id}/add`, headers: { 'content-type': 'application/json' }, body });
          const text = await r.body.text();
          if (r.statusCode < 200 || r.statusCode >= 300) throw new Error(`add through ${url}: ${r.statusCode} ${text.slice(0, 200)}`);
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return (ids.length * adds * RECORDS_PER_ADD) / ((performance.now() - t0) / 1000);
}

export async function benchCatchup(systems: Systems, options: BenchOptions, log: (line: string) => void): Promise<CatchupResult> {
  const adds = options.mode === 'quick' ? 10 : 100;
  const gateway = systems.gateway3.url;
  const replica = systems.trio[2]!;
  const names = Array.from({ length: WRITERS }, (_, i) => `bench-catchup-${i}`);
  const ids = async (url: string) => {
    for (const name of names) await must(url, 'POST', COLLECTIONS, { name });
    return Promise.all(names.map((n) => collectionId(url, n)));
  };
  const directRate = await ingest(systems.direct.url, await ids(systems.direct.url), adds, options, 'direct');
  const gatewayIds = await ids(gateway);
  await waitFor('every node in sync before stopping a replica', () => inSync(gateway), 120_000);
  const nodeOf = async () => (await must(gateway, 'GET', '/status')).nodes.find((n: { url: string }) => new URL(n.url).port === String(replica.port));
  const before = (await nodeOf()).appliedPosition as number;
  await replica.stop();
  await waitFor('the gateway to mark the stopped replica down', async () => (await nodeOf()).health === 'down', 30_000);
  const gatewayRate = await ingest(gateway, gatewayIds, adds, options, 'gateway');
  const restarted = performance.now();
  await replica.spawn();
  await waitFor('the gateway to mark the restarted replica up', async () => (await nodeOf()).health === 'up', 30_000, 5);
  const up = performance.now();
  await waitFor('the replica to apply every committed entry', async () => (await nodeOf()).lagEntries === 0, 300_000, 5);
  const synced = performance.now();
  const after = (await nodeOf()).appliedPosition as number;
  const records = WRITERS * adds * RECORDS_PER_ADD;
  const applyS = (synced - up) / 1000;
  const result: CatchupResult = {
    writers: WRITERS,
    collections: WRITERS,
    entries: after - before,
    recordsPerEntry: RECORDS_PER_ADD,
    records,
    directRecordsPerS: directRate,
    gatewayRecordsPerS: gatewayRate,
    detectUpS: (up - restarted) / 1000,
    applyS,
    catchupRecordsPerS: records / applyS,
    catchupVsDirect: records / applyS / directRate,
  };
  log(
    `  catch-up: ${result.entries} entries (${records} records in ${WRITERS} collections) applied in ${applyS.toFixed(2)} s, ` +
      `${result.catchupRecordsPerS.toFixed(0)} records/s = ${result.catchupVsDirect.toFixed(2)}× direct ingest (${directRate.toFixed(0)} records/s)`,
  );
  return result;
}
