import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor } from '../helpers/cluster.js';

describe('gateway smoke', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('creates a collection through the gateway and replicates it with a stable id', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes);
    const base = gatewayUrl(gw);
    const created = await http(base, 'POST', COLLECTIONS, { name: 'smoke' });
    expect(created.status).toBe(200);
    const id = created.json.id;
    const add = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['a'], embeddings: [[1, 2, 3]] });
    expect(add.status).toBe(201);
    // The replica holds it under its own id.
    const onReplica = await waitFor('the replica to hold the collection', async () => {
      const r = await http(nodes[1]!.url, 'GET', `${COLLECTIONS}/smoke`);
      return r.status === 200 ? r : null;
    });
    expect(onReplica.json.id).not.toBe(id);
    const viaGateway = await http(base, 'GET', `${COLLECTIONS}/smoke`);
    expect(viaGateway.json.id).toBe(id);
  });

  it('answers the heartbeat itself while the primary is up, in the shape Chroma uses', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes);
    const direct = await http(nodes[0]!.url, 'GET', '/api/v2/heartbeat');
    for (const path of ['/api/v2/heartbeat', '/api/v1/heartbeat']) {
      const before = Date.now();
      const r = await http(gatewayUrl(gw), 'GET', path);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe(direct.headers.get('content-type'));
      expect(Object.keys(r.json)).toEqual(Object.keys(direct.json));
      const ms = r.json['nanosecond heartbeat'] / 1e6;
      expect(ms).toBeGreaterThanOrEqual(before - 1);
      expect(ms).toBeLessThanOrEqual(Date.now() + 1);
      // Answered locally, naming the primary whose health vouches for it (every answer names a node).
      expect(r.headers.get('x-chroma-ha-node')).toBe('primary');
    }
  });
});
