// Issue 3, acceptance 6: a collection deleted and re-created under the same name while a replica is down.
// The two incarnations have different stable ids and even different dimensions, so a replica that mixed
// them up would either hold old records or fail to apply the new ones.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';

const NAME = 'phoenix';

describe('delete and re-create under the same name while a replica is down', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('leaves the returning replica with only the new incarnation, and the old id answers 404', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const gw = await h.gateway(nodes, PATIENT_PROBES);
    const base = gatewayUrl(gw);

    const old = await http(base, 'POST', COLLECTIONS, { name: NAME, metadata: { incarnation: 1 } });
    expect(old.status).toBe(200);
    const oldIds = Array.from({ length: 10 }, (_, i) => `old-${i}`);
    const added = await http(base, 'POST', `${COLLECTIONS}/${old.json.id}/add`, {
      ids: oldIds,
      embeddings: oldIds.map((_, i) => [i, 1, 2]),
      documents: oldIds.map(() => 'old'),
    });
    expect(added.status).toBe(201);
    await waitStatusInSync(base);
    const lagging = nodes[2]!;
    const laggingLocalOld = (await http(lagging.url, 'GET', `${COLLECTIONS}/${NAME}`)).json.id;

    await lagging.stop();
    await waitFor('replica-2 to be marked down', async () => (await http(base, 'GET', '/status')).json.nodes[2].health === 'down');

    expect((await http(base, 'DELETE', `${COLLECTIONS}/${NAME}`)).status).toBe(200);
    const fresh = await http(base, 'POST', COLLECTIONS, { name: NAME, metadata: { incarnation: 2 } });
    expect(fresh.status).toBe(200);
    expect(fresh.json.id).not.toBe(old.json.id);
    const newIds = Array.from({ length: 5 }, (_, i) => `new-${i}`);
    expect(
      (
        await http(base, 'POST', `${COLLECTIONS}/${fresh.json.id}/add`, {
          ids: newIds,
          embeddings: newIds.map((_, i) => [i, 0, 0, 1]),
          documents: newIds.map(() => 'new'),
          metadatas: newIds.map((_, i) => ({ i })),
        })
      ).status,
    ).toBe(201);
    expect((await http(base, 'POST', `${COLLECTIONS}/${fresh.json.id}/upsert`, { ids: ['new-0'], embeddings: [[9, 9, 9, 9]], documents: ['new, upserted'] })).status).toBe(200);

    await lagging.spawn();
    await waitStatusInSync(base);

    const expected = await nodeContent(nodes[0]!.url);
    expect(expected).toHaveLength(1);
    expect(expected[0]!.metadata).toEqual({ incarnation: 2 });
    expect(expected[0]!.records.map((r) => r.id)).toEqual(newIds);
    expect(expected[0]!.records[0]!.document).toBe('new, upserted');
    const onReplica = await nodeContent(lagging.url);
    expect(onReplica).toEqual(expected);
    expect(await nodeContent(nodes[1]!.url)).toEqual(expected);
    // The replica really dropped its old collection rather than reusing it.
    expect((await http(lagging.url, 'GET', `${COLLECTIONS}/${NAME}`)).json.id).not.toBe(laggingLocalOld);

    // The old stable id is gone for good, for reads and writes alike.
    expect((await http(base, 'GET', `${COLLECTIONS}/${old.json.id}/count`)).status).toBe(404);
    expect((await http(base, 'POST', `${COLLECTIONS}/${old.json.id}/get`, { ids: oldIds })).status).toBe(404);
    expect((await http(base, 'POST', `${COLLECTIONS}/${old.json.id}/add`, { ids: ['late'], embeddings: [[1, 2, 3]] })).status).toBe(404);
    // The returning replica serves the new incarnation's reads, with the new records.
    const servedByReplica = await waitFor('a read of the new incarnation served by replica-2', async () => {
      const r = await http(base, 'GET', `${COLLECTIONS}/${fresh.json.id}/count`);
      return r.headers.get('x-chroma-ha-node') === 'replica-2' ? r : null;
    });
    expect(servedByReplica.json).toBe(newIds.length);
  });
});
