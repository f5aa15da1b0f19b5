// Issue 8: a node that applied every entry yet holds different records is found within seconds by the
// sampled comparison with the primary (src/replication/spot-check.ts), marked diverged, announced as an
// event and counted in /metrics, and no longer serves reads. Here a replica is changed behind the
// gateway's back, the way Chroma's index bug changes a record.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { waitAllInSync } from '../helpers/replication.js';
import { scrape } from '../helpers/prometheus.js';

describe('spot check of replicas against the primary', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('marks a replica whose record differs from the primary diverged within seconds, with an event and a metric', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes, { ...PATIENT_PROBES, SPOT_CHECK_INTERVAL: '0.1' });
    const base = gatewayUrl(gw);
    const diverged: string[] = [];
    gw.events.on('node-diverged', (e) => diverged.push(`${e.node}: ${e.error}`));
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'checked' })).json.id;
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const add = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids, embeddings: ids.map((_, i) => [i, 1, 2]) });
    expect(add.status).toBe(201);
    // Writes to identical nodes: checked, and nothing is reported.
    for (let i = 0; i < 5; i++) {
      expect((await http(base, 'POST', `${COLLECTIONS}/${id}/upsert`, { ids: [`r${i}`], embeddings: [[i, 3, 4]] })).status).toBe(200);
      await waitAllInSync(gw);
      await new Promise((r) => setTimeout(r, 120)); // let the next write fall due for a check
    }
    expect(diverged).toEqual([]);

    const replica = nodes[1]!;
    const local = (await http(replica.url, 'GET', `${COLLECTIONS}/checked`)).json.id;
    expect((await http(replica.url, 'POST', `${COLLECTIONS}/${local}/update`, { ids: ['r7'], embeddings: [[9, 9, 9]] })).status).toBe(200);

    const started = Date.now();
    await waitFor(
      'the replica marked diverged',
      async () => {
        // Ordinary traffic: any write to the collection gives the replica's applier a reason to check.
        await http(base, 'POST', `${COLLECTIONS}/${id}/delete`, { ids: ['nobody'] });
        return gw.cluster.nodes[1]!.syncState === 'diverged';
      },
      10_000,
      150,
    );
    console.log(`[spot check] divergence found ${Date.now() - started} ms after the first write following the change`);
    expect(diverged).toHaveLength(1);
    expect(diverged[0]).toMatch(/spot check.*collection checked.*r7/);
    const status = (await http(base, 'GET', '/status')).json;
    expect(status.nodes[1].syncState).toBe('diverged');
    expect(status.nodes[1].divergedReason).toMatch(/r7/);
    const metrics = await scrape(`${base}/metrics`);
    expect(metrics.value('chroma_ha_node_divergences_total', { node: 'replica-1' })).toBe(1);
    // A diverged node serves no reads: every read now comes from the primary, with the primary's value.
    for (let i = 0; i < 10; i++) {
      const r = await http(base, 'POST', `${COLLECTIONS}/${id}/get`, { ids: ['r7'], include: ['embeddings'] });
      expect(r.headers.get('x-chroma-ha-node')).toBe('primary');
      expect(r.json.embeddings[0]).toEqual([7, 1, 2]);
    }
  });
});
