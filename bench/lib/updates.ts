// Cost of the update guard (src/replication/update-guard.ts): before the primary applies an `update` that
// carries embeddings, the gateway asks it which ids exist, and for missing ids also reads the collection's
// dimension. Measured one client at a time (c=1: the guard runs under the primary's write lane, so its cost
// adds to every update's latency), single-record and 100-record updates of existing and of missing ids,
// straight to Chroma and through the gateway, plus the guard's own lookup timed alone against Chroma.
import type { BenchCluster } from './cluster.js';
import { allInSync, waitUntil } from './cluster.js';
import { interleave, runLoad, type LoadResult } from './load.js';
import type { BenchOptions } from './options.js';
import { addBatch, COLLECTIONS, createCollection, rng } from './workload.js';

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

export async function benchUpdates(cluster: BenchCluster, options: BenchOptions, log: (line: string) => void): Promise<UpdateRow[]> {
  const name = 'bench-updates';
  const ids = { direct: await createCollection(cluster.direct.url, name), gateway: await createCollection(cluster.gatewayUrl, name) };
  const random = rng(7);
  const singles = Math.max(20, Math.floor(options.singleWriteRequests / 2));
  const timeLimitMs = options.phaseTimeoutSeconds * 1000;
  // Records the updates target: the same on both sides.
  const existing = Array.from({ length: 10 }, (_, b) => addBatch(random, `u${b}`, 100, options.dimensions, options.encoding));
  for (const batch of existing) {
    for (const [url, id] of [[cluster.direct.url, ids.direct], [cluster.gatewayUrl, ids.gateway]] as const) {
      const r = await fetch(`${url}${COLLECTIONS}/${id}/add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: batch.body.toString() });
      if (r.status !== 201) throw new Error(`seeding the update benchmark: ${r.status} ${await r.text()}`);
    }
  }
  const held = existing.flatMap((b) => b.ids);
  await waitUntil('the replica to hold the update benchmark records', () => allInSync(cluster.gateway), timeLimitMs);

  const rows: UpdateRow[] = [];
  for (const [perRequest, missingShare] of [[1, 0], [1, 1], [100, 0], [100, 0.5]] as const) {
    // A 100-record update costs Chroma ~20× a single one: fewer of them give as steady a median.
    const requests = perRequest === 1 ? singles : Math.max(8, Math.floor(singles / 4));
    const bodies = Array.from({ length: requests }, (_, i) => {
      const missing = Math.round(perRequest * missingShare);
      const batch = addBatch(random, `m${perRequest}-${i}`, perRequest, options.dimensions, options.encoding);
      const parsed = JSON.parse(batch.body.toString()) as { ids: string[]; embeddings: unknown[]; metadatas: unknown[] };
      parsed.ids = parsed.ids.map((id, k) => (k < missing ? id : held[Math.floor(random() * held.length)]!));
      parsed.ids = [...new Set(parsed.ids)];
      parsed.embeddings = parsed.embeddings.slice(0, parsed.ids.length);
      parsed.metadatas = parsed.metadatas.slice(0, parsed.ids.length);
      return { update: Buffer.from(JSON.stringify({ ids: parsed.ids, embeddings: parsed.embeddings, metadatas: parsed.metadatas })), ids: parsed.ids };
    });
    const phase = (side: 'direct' | 'gateway' | 'lookup', from: number, to: number) => {
      const url = side === 'gateway' ? cluster.gatewayUrl : cluster.direct.url;
      const collection = side === 'gateway' ? ids.gateway : ids.direct;
      return runLoad({
        baseUrl: url,
        concurrency: 1,
        requests: to - from,
        timeLimitMs,
        request: (i) =>
          side === 'lookup'
            ? { method: 'POST', path: `${COLLECTIONS}/${collection}/get`, body: Buffer.from(JSON.stringify({ ids: bodies[from + i]!.ids, include: [] })) }
            : { method: 'POST', path: `${COLLECTIONS}/${collection}/update`, body: bodies[from + i]!.update },
      });
    };
    const rounds = 4;
    const slice = (r: number): [number, number] => [Math.floor((r * requests) / rounds), Math.floor(((r + 1) * requests) / rounds)];
    const result = await interleave(['direct', 'gateway', 'lookup'] as const, rounds, (side, r) => phase(side, ...slice(r)));
    const workload = `update ${perRequest}×${options.dimensions}-d${missingShare > 0 ? `, ${missingShare * 100} % of ids missing` : ''}`;
    rows.push({ workload, recordsPerRequest: perRequest, missingShare, ...result });
    log(
      `  ${workload}: direct p50 ${result.direct.p50Ms.toFixed(1)} ms, gateway p50 ${result.gateway.p50Ms.toFixed(1)} ms, ` +
        `guard lookup p50 ${result.lookup.p50Ms.toFixed(1)} ms`,
    );
  }
  return rows;
}

/** Markdown table of the rows, for the printed report. */
export function formatUpdates(rows: UpdateRow[]): string {
  if (rows.length === 0) return '';
  const lines = [
    '### Update guard (Chroma index-bug defence), c=1',
    '',
    '| workload | direct p50 ms | gateway p50 ms | gateway ÷ direct req/s | guard lookup p50 ms | lookup share of gateway p50 |',
    '|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.direct.p50Ms.toFixed(1)} | ${r.gateway.p50Ms.toFixed(1)} | ${(r.gateway.requestsPerS / r.direct.requestsPerS).toFixed(2)} | ` +
        `${r.lookup.p50Ms.toFixed(1)} | ${((100 * r.lookup.p50Ms) / r.gateway.p50Ms).toFixed(0)} % |`,
    ),
  ];
  return lines.join('\n');
}
