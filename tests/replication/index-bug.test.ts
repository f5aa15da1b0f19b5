// Issue 8, acceptance 1: Chroma 1.0.x's index bug (docs/chroma-notes.md). An update that carries an
// embedding for an id that does not exist yet, then an add of that id, then the collection's first read in
// the server process, then any write: the record takes the old update's embedding. The first test shows
// the bug on a single Chroma; the others run the same recipe through the gateway (primary + two replicas,
// both stores), with every node's first read forced directly, and require every node to hold what a
// correctly behaving Chroma holds.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http } from '../helpers/cluster.js';
import { waitAllInSync } from '../helpers/replication.js';
import type { Env } from '../../src/config/load.js';

const POISON = [9, 9, 9];
const REAL = [1, 1, 1];

/** Little-endian float32 base64, as the JS client sends embeddings when the server supports it. */
const base64 = (v: number[]) => Buffer.from(new Float32Array(v).buffer).toString('base64');

async function embeddingOf(base: string, collectionId: string, id: string): Promise<number[] | null> {
  const r = await http(base, 'POST', `${COLLECTIONS}/${collectionId}/get`, { ids: [id], include: ['embeddings'] });
  expect(r.status, r.text).toBe(200);
  return r.json.embeddings?.[0] ?? null;
}

async function localId(nodeUrl: string, name: string): Promise<string> {
  const r = await http(nodeUrl, 'GET', `${COLLECTIONS}/${name}`);
  expect(r.status, r.text).toBe(200);
  return r.json.id;
}

describe('Chroma index bug', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('exists on a single Chroma server: the old update of a then-missing id wins', async () => {
    h = new Harness();
    const chroma = await h.chroma();
    const id = (await http(chroma.url, 'POST', COLLECTIONS, { name: 'recipe' })).json.id;
    expect((await http(chroma.url, 'POST', `${COLLECTIONS}/${id}/update`, { ids: ['x'], embeddings: [POISON] })).status).toBe(200);
    expect((await http(chroma.url, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['x'], embeddings: [REAL] })).status).toBe(201);
    expect(await embeddingOf(chroma.url, id, 'x')).toEqual(REAL); // the first read still answers correctly
    expect((await http(chroma.url, 'POST', `${COLLECTIONS}/${id}/delete`, { ids: ['nobody'] })).status).toBe(200);
    expect(await embeddingOf(chroma.url, id, 'x')).toEqual(POISON);
  });

  const STORES: Array<[string, (h: Harness) => Promise<Env>]> = [
    ['SQLite', async () => ({})],
    ['PostgreSQL', async (h) => ({ DATABASE_URL: await h.pgDatabaseUrl() })],
  ];

  describe.each(STORES)('through the gateway with the %s store', (_store, storeEnv) => {
    it('never lets an update of a missing id reach a node, so every node keeps the added embedding', async () => {
      h = new Harness();
      const nodes = await h.chromaCluster(3);
      const gw = await h.gateway(nodes, { ...PATIENT_PROBES, ...(await storeEnv(h)) });
      const base = gatewayUrl(gw);
      const id = (await http(base, 'POST', COLLECTIONS, { name: 'recipe' })).json.id;
      const records = (op: string, body: unknown) => http(base, 'POST', `${COLLECTIONS}/${id}/${op}`, body);

      // 1. update of missing ids (plain and base64 embeddings) and of an id that exists
      expect((await records('add', { ids: ['kept'], embeddings: [[5, 5, 5]] })).status).toBe(201);
      const plain = await records('update', { ids: ['x', 'kept'], embeddings: [POISON, [6, 6, 6]], documents: ['dx', 'dk'] });
      expect(plain.status, plain.text).toBe(200);
      const encoded = await records('update', { ids: ['y'], embeddings: [base64(POISON)], documents: ['dy'] });
      expect(encoded.status, encoded.text).toBe(200);
      // 2. add of the missing ids
      expect((await records('add', { ids: ['x', 'y'], embeddings: [REAL, REAL], documents: ['x', 'y'] })).status).toBe(201);
      await waitAllInSync(gw);
      // 3. the first read of the collection on every node, 4. any write
      for (const n of nodes) await embeddingOf(n.url, await localId(n.url, 'recipe'), 'x');
      expect((await records('delete', { ids: ['nobody'] })).status).toBe(200);
      await waitAllInSync(gw);

      // 5. every node holds what a correct Chroma holds: the added embeddings, the existing id updated
      for (const n of nodes) {
        const col = await localId(n.url, 'recipe');
        const got = await http(n.url, 'POST', `${COLLECTIONS}/${col}/get`, { ids: ['kept', 'x', 'y'], include: ['embeddings', 'documents'] });
        const byId = Object.fromEntries(got.json.ids.map((rid: string, i: number) => [rid, [got.json.embeddings[i], got.json.documents[i]]]));
        expect(byId, `content of ${n.url}`).toEqual({ kept: [[6, 6, 6], 'dk'], x: [REAL, 'x'], y: [REAL, 'y'] });
      }
      expect(await embeddingOf(base, id, 'x')).toEqual(REAL);
    });

    it('answers an update whose embedding has the wrong dimension exactly as Chroma does, and applies nothing', async () => {
      h = new Harness();
      const [nodes, reference] = await Promise.all([h.chromaCluster(2), h.chroma({ name: 'reference' })]);
      const gw = await h.gateway(nodes, { ...PATIENT_PROBES, ...(await storeEnv(h)) });
      const base = gatewayUrl(gw);
      const gwId = (await http(base, 'POST', COLLECTIONS, { name: 'dims' })).json.id;
      const refId = (await http(reference.url, 'POST', COLLECTIONS, { name: 'dims' })).json.id;
      const both = (op: string, body: unknown) =>
        Promise.all([http(base, 'POST', `${COLLECTIONS}/${gwId}/${op}`, body), http(reference.url, 'POST', `${COLLECTIONS}/${refId}/${op}`, body)]);

      await both('add', { ids: ['a'], embeddings: [[1, 2, 3]] });
      for (const body of [
        { ids: ['missing'], embeddings: [[1, 2]] },
        { ids: ['missing', 'a'], embeddings: [[1, 2, 3, 4], [1, 2, 3]] },
        { ids: ['missing', 'a'], embeddings: [[1, 2, 3]] },
      ]) {
        const [g, r] = await both('update', body);
        expect([g.status, g.text], JSON.stringify(body)).toEqual([r.status, r.text]);
        expect(g.status).toBe(400);
      }
      await waitAllInSync(gw);
      for (const n of nodes) expect(await embeddingOf(n.url, await localId(n.url, 'dims'), 'a')).toEqual([1, 2, 3]);
    });
  });
});
