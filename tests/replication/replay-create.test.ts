// A gateway restarting re-applies the log to each node from the position its identity marker vouches for
// (src/replication/lifecycle.ts), which is written about once a second, so a create and a later rename of
// the same collection can both be replayed. The replayed create must be recognised as done (the node holds
// the collection under its new name); sent again it made a second collection under the old name, the
// rename then failed on the primary and the gateway failed over.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';

const MARKERS = '/api/v2/tenants/chroma_ha_internal/databases/chroma_ha/collections';

/** Sets a node's identity marker back to position 0, as if the gateway died before its next checkpoint. */
async function rewindMarker(nodeUrl: string): Promise<void> {
  const col = await http(nodeUrl, 'GET', `${MARKERS}/node-identity`);
  expect(col.status).toBe(200);
  const got = await http(nodeUrl, 'POST', `${MARKERS}/${col.json.id}/get`, { ids: ['identity'], include: ['documents'] });
  const marker = JSON.parse(got.json.documents[0]);
  const put = await http(nodeUrl, 'POST', `${MARKERS}/${col.json.id}/upsert`, { ids: ['identity'], embeddings: [[0]], documents: [JSON.stringify({ ...marker, position: 0 })] });
  expect(put.status).toBe(200);
}

describe('replaying a create after a rename', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('leaves one collection under its new name on every node, with no failover', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    let gw = await h.gateway(nodes);
    let base = gatewayUrl(gw);
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'alpha' })).json.id;
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['a', 'b'], embeddings: [[1, 2], [3, 4]] })).status).toBe(201);
    expect((await http(base, 'PUT', `${COLLECTIONS}/${id}`, { new_name: 'beta' })).status).toBe(200);
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['c'], embeddings: [[5, 6]] })).status).toBe(201);
    await waitStatusInSync(base);
    await h.stopGateway(gw);
    for (const n of nodes) await rewindMarker(n.url);

    gw = await h.gateway(nodes);
    base = gatewayUrl(gw);
    const status = await waitStatusInSync(base);
    expect(status.nodes.map((n) => [n.role, n.syncState, n.divergedReason])).toEqual([
      ['primary', 'in-sync', null],
      ['replica', 'in-sync', null],
    ]);
    expect(status.failovers.count).toBe(0);
    expect(status.epoch).toBe(0);
    for (const n of nodes) {
      const content = await nodeContent(n.url);
      expect(content.map((c) => [c.name, c.records.map((r) => r.id)])).toEqual([['beta', ['a', 'b', 'c']]]);
    }
    // The stable id still answers through the gateway.
    expect((await http(base, 'GET', `${COLLECTIONS}/${id}/count`)).json).toBe(3);
  });
});
