// Issue 3, acceptance 5: read-your-writes for every client (a read right after an acknowledged write
// sees it, whichever node serves it), while reads of collections nobody is writing are spread across
// every in-sync node, and `X-Chroma-HA-Consistency: eventual` reads may be served by any node.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';

const CLIENTS = 8;
const ITERATIONS = 40;
const NODE_NAMES = ['primary', 'replica-1', 'replica-2'];

function tally(names: string[]): Record<string, number> {
  const out: Record<string, number> = Object.fromEntries(NODE_NAMES.map((n) => [n, 0]));
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

const percent = (counts: Record<string, number>, total: number) =>
  Object.entries(counts)
    .map(([n, c]) => `${n} ${((100 * c) / total).toFixed(0)}%`)
    .join(', ');

describe('read routing', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('gives every client its own writes back while spreading reads of unchanged collections over all nodes', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const gw = await h.gateway(nodes, PATIENT_PROBES);
    const base = gatewayUrl(gw);

    const written = (await http(base, 'POST', COLLECTIONS, { name: 'busy' })).json.id as string;
    const quiet = (await http(base, 'POST', COLLECTIONS, { name: 'quiet' })).json.id as string;
    const quietIds = Array.from({ length: 50 }, (_, i) => `q-${i}`);
    expect((await http(base, 'POST', `${COLLECTIONS}/${quiet}/add`, { ids: quietIds, embeddings: quietIds.map((_, i) => [i, 1, 0]) })).status).toBe(201);
    await waitStatusInSync(base);

    // Writers: each overwrites its own record and adds a new one, then reads both back at once.
    const stale: string[] = [];
    const rywNodes: string[] = [];
    let writing = true;
    const clients = Array.from({ length: CLIENTS }, async (_, client) => {
      for (let i = 0; i < ITERATIONS; i++) {
        const latest = `client-${client}-latest`;
        const fresh = `client-${client}-${i}`;
        const w = await http(base, 'POST', `${COLLECTIONS}/${written}/upsert`, {
          ids: [latest, fresh],
          embeddings: [[client, i, 1], [client, i, 2]],
          documents: [`iteration ${i}`, `new in ${i}`],
        });
        if (w.status !== 200) {
          stale.push(`client ${client} write ${i}: ${w.status} ${w.text}`);
          continue;
        }
        const r = await http(base, 'POST', `${COLLECTIONS}/${written}/get`, { ids: [latest, fresh], include: ['documents'] });
        const node = r.headers.get('x-chroma-ha-node')!;
        rywNodes.push(node);
        const docs = Object.fromEntries((r.json?.ids ?? []).map((id: string, k: number) => [id, r.json.documents[k]]));
        if (docs[latest] !== `iteration ${i}` || docs[fresh] !== `new in ${i}`) {
          stale.push(`client ${client} iteration ${i}: ${node} answered ${r.status} ${r.text.slice(0, 200)}`);
        }
      }
    });

    // Meanwhile: default reads of the quiet collection, and eventual reads of the busy one.
    const quietNodes: string[] = [];
    const eventualNodes: string[] = [];
    const wrongQuiet: string[] = [];
    const readers = Array.from({ length: 2 }, async () => {
      while (writing) {
        const q = await http(base, 'GET', `${COLLECTIONS}/${quiet}/count`);
        if (q.json !== 50) wrongQuiet.push(`${q.headers.get('x-chroma-ha-node')}: ${q.status} ${q.text}`);
        quietNodes.push(q.headers.get('x-chroma-ha-node')!);
        const e = await http(base, 'GET', `${COLLECTIONS}/${written}/count`, undefined, { 'x-chroma-ha-consistency': 'eventual' });
        if (e.status === 200) eventualNodes.push(e.headers.get('x-chroma-ha-node')!);
      }
    });
    await Promise.all(clients);
    writing = false;
    await Promise.all(readers);

    expect(stale).toEqual([]);
    expect(rywNodes).toHaveLength(CLIENTS * ITERATIONS);
    expect(wrongQuiet).toEqual([]);
    const quietCounts = tally(quietNodes);
    for (const name of NODE_NAMES) expect(quietCounts[name]! / quietNodes.length, `share of quiet reads served by ${name}`).toBeGreaterThanOrEqual(0.1);
    const eventualCounts = tally(eventualNodes);
    for (const name of NODE_NAMES) expect(eventualCounts[name], `eventual reads served by ${name}`).toBeGreaterThan(0);

    const rywCounts = tally(rywNodes);
    console.log(
      `[read routing] ${rywNodes.length} write-then-read iterations, all consistent; read-back served by ${percent(rywCounts, rywNodes.length)}; ` +
        `${quietNodes.length} quiet reads: ${percent(quietCounts, quietNodes.length)}; ` +
        `${eventualNodes.length} eventual reads: ${percent(eventualCounts, eventualNodes.length)}`,
    );
  });
});
