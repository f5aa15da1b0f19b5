// Issue 3, "bad input loses nothing": a write the primary rejects reaches the client exactly as the primary
// answered it, is kept in the log as rejected, and changes no node; a body that is not JSON is answered by the
// gateway itself as Chroma answers it (400 InvalidArgumentError, issue 12) and never enters the log.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';

const RECORDS = { ids: ['a', 'b', 'c'], embeddings: [[1, 2, 3], [4, 5, 6], [7, 8, 9]], documents: ['A', 'B', 'C'], metadatas: [{ k: 1 }, { k: 2 }, { k: 3 }] };

describe('bad input', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  async function cluster() {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const gw = await h.gateway(nodes, PATIENT_PROBES);
    const base = gatewayUrl(gw);
    const created = await http(base, 'POST', COLLECTIONS, { name: 'strict' });
    expect(created.status).toBe(200);
    const id = created.json.id as string;
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, RECORDS)).status).toBe(201);
    const status = await waitStatusInSync(base);
    const before = await Promise.all(nodes.map((n) => nodeContent(n.url)));
    expect(before[1]).toEqual(before[0]);
    expect(before[2]).toEqual(before[0]);
    const primaryId = (await http(nodes[0]!.url, 'GET', `${COLLECTIONS}/strict`)).json.id as string;
    return { nodes, gw, base, id, primaryId, before, head: status.log.head };
  }

  it("returns the primary's error unchanged for a rejected write, logs it as rejected and changes no node", async () => {
    const { nodes, gw, base, id, primaryId, before, head } = await cluster();
    const rejected: Array<[string, unknown]> = [
      // One bad vector among good ones: nothing may be half-applied.
      ['add', { ids: ['d', 'e'], embeddings: [[1, 2, 3], [1, 2]], documents: ['D', 'E'] }],
      ['upsert', { ids: ['a', 'f'], embeddings: [[0, 0, 0, 0], [1, 1, 1, 1]], documents: ['changed', 'F'] }],
      ['update', { ids: ['b'], embeddings: [[1]], documents: ['changed'] }],
      ['add', { ids: ['g', 'h'], embeddings: [[1, 2, 3]] }],
      // Valid JSON of the wrong shape: Chroma's own 422, through the log like any write.
      ['add', { ids: 'not-a-list', embeddings: [[1, 2, 3]] }],
    ];
    for (const [op, body] of rejected) {
      const viaGateway = await http(base, 'POST', `${COLLECTIONS}/${id}/${op}`, body);
      // The same request straight to the primary (it rejects it too, so this changes nothing either).
      const direct = await http(nodes[0]!.url, 'POST', `${COLLECTIONS}/${primaryId}/${op}`, body);
      expect(direct.status, `${op} ${JSON.stringify(body)} directly`).toBeGreaterThanOrEqual(400);
      expect(direct.status).toBeLessThan(500);
      expect(viaGateway.status, `${op} ${JSON.stringify(body)}`).toBe(direct.status);
      expect(viaGateway.text).toBe(direct.text);
      expect(viaGateway.headers.get('x-chroma-ha-node')).toBe('primary');
    }

    // Kept in the log as rejected, so the record of what clients asked is complete, and never replicated.
    const entries = await gw.store.readAfter(head, 100);
    expect(entries.map((e) => [e.op, e.state, e.status])).toEqual(rejected.map(([op], i) => [op, 'rejected', i === 4 ? 422 : 400]));
    const status = await waitStatusInSync(base);
    expect(status.nodes.every((n) => n.appliedPosition >= head + rejected.length)).toBe(true);
    for (const node of nodes) expect(await nodeContent(node.url), node.url).toEqual(before[0]);
    expect((await http(base, 'GET', `${COLLECTIONS}/${id}/count`)).json).toBe(3);
  });

  it('answers a body that is not JSON as Chroma does (400), without logging it', async () => {
    const { nodes, gw, base, id, before, head } = await cluster();
    const entriesBefore = (await gw.store.stats()).entries;
    // A 1.0.0 node answers a syntax error with 400 InvalidArgumentError (and keeps 422 ChromaError for wrong
    // types, which only the node checks: see the test above).
    const direct = await http(nodes[0]!.url, 'POST', COLLECTIONS, '{"name": "half');
    expect(direct.status).toBe(400);
    const truncated = '{"ids": ["x"], "embeddings": [[1, 2, 3]]';
    const cases: Array<[string, string]> = [
      [`${COLLECTIONS}/${id}/add`, truncated],
      [`${COLLECTIONS}/${id}/upsert`, 'not json at all'],
      [`${COLLECTIONS}/${id}/delete`, '{"ids": ["a"],}'],
      [COLLECTIONS, '{"name": "half'],
    ];
    for (const [path, body] of cases) {
      const r = await http(base, 'POST', path, body);
      expect(r.status, `${path} ${body}`).toBe(direct.status);
      expect(r.json).toEqual({ error: direct.json.error, message: expect.stringMatching(/^Failed to parse the request body as JSON: /) });
    }
    const status = (await http(base, 'GET', '/status')).json;
    expect(status.log.head).toBe(head);
    expect((await gw.store.stats()).entries).toBe(entriesBefore);
    for (const node of nodes) expect(await nodeContent(node.url), node.url).toEqual(before[0]);
  });
});
