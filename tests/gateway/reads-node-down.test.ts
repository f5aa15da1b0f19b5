// Reads in flight to a node when it is marked down: a replica hangs (SIGSTOP) under a stream of concurrent
// reads through the gateway; the reads it holds are cancelled the moment the health checker marks it down
// and answered by another node, so every read gets the right answer long before REQUEST_TIMEOUT would fire.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { waitAllInSync } from '../helpers/replication.js';

const REQUEST_TIMEOUT_MS = 10_000;
const READERS = 8;

describe('reads in flight to a node that is marked down', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('are retried on another node at once instead of waiting for REQUEST_TIMEOUT', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const gw = await h.gateway(nodes, { REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_MS / 1000) });
    const base = gatewayUrl(gw);
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'reads' })).json.id as string;
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const added = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids, embeddings: ids.map((_, i) => [i, 1, 2]), documents: ids.map((r) => `doc-${r}`) });
    expect(added.status, added.text).toBe(201);
    await waitAllInSync(gw);

    const hung = gw.cluster.nodes[1]!;
    const retriedFromHung: number[] = [];
    gw.events.on('retry', ({ from }) => from === hung.name && retriedFromHung.push(Date.now()));
    let markedDownAt = 0;
    gw.events.on('node-health', ({ node, to, at }) => node === hung.name && to === 'down' && (markedDownAt = at));

    const latencies: number[] = [];
    const wrong: string[] = [];
    let stop = false;
    const reader = async (k: number) => {
      for (let i = 0; !stop; i++) {
        const want = ids.slice((k + i) % 10, ((k + i) % 10) + 5);
        const started = performance.now();
        const r = await http(base, 'POST', `${COLLECTIONS}/${id}/get`, { ids: want, include: ['documents'] });
        latencies.push(performance.now() - started);
        const got = r.status === 200 ? (r.json.ids as string[]).map((x, j) => `${x}=${r.json.documents[j]}`).sort() : [];
        const expected = want.map((x) => `${x}=doc-${x}`).sort();
        if (r.status !== 200 || JSON.stringify(got) !== JSON.stringify(expected)) wrong.push(`${r.status} ${r.text.slice(0, 200)}`);
      }
    };
    const readers = Array.from({ length: READERS }, (_, k) => reader(k));
    try {
      await waitFor('reads to flow', () => latencies.length > 50);
      const stoppedAt = Date.now();
      nodes[1]!.signal('SIGSTOP');
      await waitFor('the hung replica to be marked down', () => markedDownAt > 0, 20_000);
      // Keep reading a little past the mark-down, so reads keep going to the other nodes meanwhile.
      const count = latencies.length;
      await waitFor('more reads after the mark-down', () => latencies.length > count + 50, 20_000);
      stop = true;
      await Promise.all(readers);
      const slowest = Math.max(...latencies);
      console.log(
        `reads-node-down: replica marked down ${markedDownAt - stoppedAt} ms after SIGSTOP; ${retriedFromHung.length} read(s) cancelled there and retried; ` +
          `slowest read ${Math.round(slowest)} ms of ${latencies.length} (REQUEST_TIMEOUT ${REQUEST_TIMEOUT_MS} ms)`,
      );
      expect(wrong).toEqual([]);
      // Reads were in flight on the hung node when it was marked down, and were sent elsewhere then.
      expect(retriedFromHung.length).toBeGreaterThan(0);
      expect(retriedFromHung.every((t) => t >= markedDownAt)).toBe(true);
      expect(slowest).toBeLessThan(REQUEST_TIMEOUT_MS);
    } finally {
      stop = true;
      await Promise.allSettled(readers);
      nodes[1]!.signal('SIGCONT');
    }
  });
});
