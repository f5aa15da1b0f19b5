// Cost of the update guard (src/replication/update-guard.ts): before the primary applies an `update` that
// carries embeddings, the gateway asks it which ids exist, and for missing ids also reads the collection's
// dimension. Measured one client at a time (the guard runs under the primary's write lane, so its cost adds
// to every update's latency): single-record and 100-record updates of existing and of missing ids, straight
// to Chroma and through the gateway (primary + replica), and the guard's own lookup timed alone on Chroma.
import { COLLECTIONS, waitFor } from '../../tests/helpers/cluster.js';
import { combine, interleave, runLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { createCollection, pairInSync, post, type Pair } from './pair.js';
import { addBatch, rng } from './workload.js';

export interface UpdateRow {
  workload: string;
  recordsPerRequest: number;
  /** Share of the update's ids the collection does not hold (they get their embeddings nulled). */
  missingShare: number;
  direct: LoadResult;
  gateway: LoadResult;
  /** The guard's existence lookup (`get` by ids, `include: []`) timed straight against Chroma. */
  lookup: LoadResult;
}

export async function benchUpdates(pair: Pair, options: BenchOptions, log: (line: string) => void): Promise<UpdateRow[]> {
  const ids = { direct: await createCollection(pair.direct.url, 'bench-updates'), gateway: await createCollection(pair.url, 'bench-updates') };
  const random = rng(7);
  const existing = Array.from({ length: 10 }, (_, b) => addBatch(random, `u${b}`, 100, options.dimensions, options.encoding));
  for (const batch of existing) {
    await post(pair.direct.url, `${COLLECTIONS}/${ids.direct}/add`, batch.body);
    await post(pair.url, `${COLLECTIONS}/${ids.gateway}/add`, batch.body);
  }
  const held = existing.flatMap((b) => b.ids);
  await waitFor('the replica to hold the update benchmark records', () => pairInSync(pair.gateway), 120_000);

  const rows: UpdateRow[] = [];
  for (const [perRequest, missingShare] of [[1, 0], [1, 1], [100, 0], [100, 0.5]] as const) {
    // A 100-record update costs Chroma ~20× a single one: fewer of them give as steady a median.
    const requests = perRequest === 1 ? options.updateRequests : Math.max(4, Math.floor(options.updateRequests / 4));
    const bodies = Array.from({ length: requests * options.rounds }, (_, i) => {
      const missing = Math.round(perRequest * missingShare);
      const batch = JSON.parse(addBatch(random, `m${perRequest}-${i}`, perRequest, options.dimensions, options.encoding).body.toString()) as {
        ids: string[];
        embeddings: unknown[];
        metadatas: unknown[];
      };
      const updateIds = [...new Set(batch.ids.map((id, k) => (k < missing ? id : held[Math.floor(random() * held.length)]!)))];
      const n = updateIds.length;
      return { ids: updateIds, update: Buffer.from(JSON.stringify({ ids: updateIds, embeddings: batch.embeddings.slice(0, n), metadatas: batch.metadatas.slice(0, n) })) };
    });
    const next = { direct: 0, gateway: 0, lookup: 0 };
    const round = (system: string) => {
      const side = system as keyof typeof next;
      const base = side === 'gateway' ? pair.url : pair.direct.url;
      const collection = side === 'gateway' ? ids.gateway : ids.direct;
      return runLoad({
        baseUrl: base,
        concurrency: 1,
        seconds: 0,
        amount: requests,
        pids: [],
        request:
          side === 'lookup'
            ? { method: 'POST', path: `${COLLECTIONS}/${collection}/get`, body: () => Buffer.from(JSON.stringify({ ids: bodies[next.lookup++ % bodies.length]!.ids, include: [] })) }
            : { method: 'POST', path: `${COLLECTIONS}/${collection}/update`, body: () => bodies[next[side]++ % bodies.length]!.update },
      });
    };
    const runs = await interleave(['direct', 'gateway', 'lookup'], options.rounds, round);
    const [direct, gateway, lookup] = (['direct', 'gateway', 'lookup'] as const).map((s) => combine(runs.get(s)!, false)) as [LoadResult, LoadResult, LoadResult];
    const workload = `update ${perRequest}×${options.dimensions}-d${missingShare > 0 ? `, ${missingShare * 100} % of ids missing` : ''}`;
    rows.push({ workload, recordsPerRequest: perRequest, missingShare, direct, gateway, lookup });
    log(`  ${workload}: direct p50 ${direct.p50Ms.toFixed(1)} ms, gateway p50 ${gateway.p50Ms.toFixed(1)} ms, guard lookup p50 ${lookup.p50Ms.toFixed(1)} ms`);
  }
  return rows;
}

/** Markdown section of the report. */
export function updatesTable(rows: UpdateRow[]): string[] {
  if (rows.length === 0) return [];
  return [
    '## Update guard (Chroma index-bug defence), c=1',
    '',
    '| workload | direct p50 ms | gateway p50 ms | gateway ÷ direct req/s | guard lookup p50 ms | lookup share of gateway p50 |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.direct.p50Ms.toFixed(1)} | ${r.gateway.p50Ms.toFixed(1)} | ${(r.gateway.requestsPerS / r.direct.requestsPerS).toFixed(2)} | ` +
        `${r.lookup.p50Ms.toFixed(1)} | ${((100 * r.lookup.p50Ms) / r.gateway.p50Ms).toFixed(0)} % |`,
    ),
  ];
}
