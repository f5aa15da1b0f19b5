// Issue 3, acceptance 7: a gateway started in front of a primary that already holds collections (created
// directly, before the gateway existed) serves them under the ids clients already use, and serves later
// writes to them correctly. A reference Chroma gets the same initial data and the same later writes
// directly; the primary must end equal to it. The replica is refilled by copy with the adopted collections
// (replication/lifecycle.ts) and ends identical to the primary.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';

const LEGACY = [
  { name: 'legacy-articles', size: 30, metadata: { source: 'before-the-gateway' } },
  { name: 'legacy-notes', size: 12, metadata: null },
];

function seedRecords(size: number, salt: number) {
  const ids = Array.from({ length: size }, (_, i) => `doc-${i}`);
  return {
    ids,
    embeddings: ids.map((_, i) => [Math.sin(i + salt), Math.cos(i + salt), i / size, salt]),
    documents: ids.map((id) => `text of ${id}`),
    metadatas: ids.map((_, i) => ({ i, even: i % 2 === 0 })),
  };
}

describe('adopting a Chroma that already holds data', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('serves pre-existing collections under their own ids and copies them to the replica', async () => {
    h = new Harness();
    const [primary, replica, reference] = await Promise.all([h.chroma(), h.chroma(), h.chroma({ name: 'reference' })]);
    // Data written straight to the primary (and, identically, to the reference) before any gateway exists.
    const ids: Record<string, { primary: string; reference: string }> = {};
    for (const [k, c] of LEGACY.entries()) {
      const body = { name: c.name, ...(c.metadata ? { metadata: c.metadata } : {}) };
      const [p, r] = await Promise.all([http(primary.url, 'POST', COLLECTIONS, body), http(reference.url, 'POST', COLLECTIONS, body)]);
      ids[c.name] = { primary: p.json.id, reference: r.json.id };
      for (const [node, id] of [[primary, p.json.id], [reference, r.json.id]] as const) {
        expect((await http(node.url, 'POST', `${COLLECTIONS}/${id}/add`, seedRecords(c.size, k))).status).toBe(201);
      }
    }

    const gw = await h.gateway([primary, replica], PATIENT_PROBES);
    const base = gatewayUrl(gw);
    const articles = ids['legacy-articles']!;
    const notes = ids['legacy-notes']!;

    // A client keeps using the ids it had: count, get and query answer as the primary itself does.
    expect((await http(base, 'GET', `${COLLECTIONS}/${articles.primary}/count`)).json).toBe(30);
    expect((await http(base, 'GET', `${COLLECTIONS}/${notes.primary}/count`)).json).toBe(12);
    const getBody = { ids: ['doc-3', 'doc-7'], include: ['embeddings', 'documents', 'metadatas'] };
    const got = await http(base, 'POST', `${COLLECTIONS}/${articles.primary}/get`, getBody);
    expect(got.status).toBe(200);
    expect(got.json).toEqual((await http(primary.url, 'POST', `${COLLECTIONS}/${articles.primary}/get`, getBody)).json);
    const queryBody = { query_embeddings: [[0.5, 0.5, 0.5, 0]], n_results: 5, include: ['documents', 'distances'] };
    const queried = await http(base, 'POST', `${COLLECTIONS}/${articles.primary}/query`, queryBody);
    expect(queried.status).toBe(200);
    expect(queried.json).toEqual((await http(primary.url, 'POST', `${COLLECTIONS}/${articles.primary}/query`, queryBody)).json);
    // Looked up by name, it carries the same id; listed, too.
    expect((await http(base, 'GET', `${COLLECTIONS}/legacy-notes`)).json.id).toBe(notes.primary);
    expect((await http(base, 'GET', COLLECTIONS)).json.map((c: { id: string }) => c.id).sort()).toEqual([articles.primary, notes.primary].sort());
    // The usual client start-up call, get-or-create, finds the adopted collection rather than a new one.
    const getOrCreate = await http(base, 'POST', COLLECTIONS, { name: 'legacy-notes', get_or_create: true });
    expect(getOrCreate.status).toBe(200);
    expect(getOrCreate.json.id).toBe(notes.primary);

    // Later writes through the gateway, mirrored directly on the reference.
    const writes: Array<[string, string, unknown]> = [
      ['legacy-articles', 'add', { ids: ['new-1', 'new-2'], embeddings: [[1, 1, 1, 1], [2, 2, 2, 2]], documents: ['new one', 'new two'] }],
      ['legacy-articles', 'upsert', { ids: ['doc-0', 'new-3'], embeddings: [[0, 0, 0, 0], [3, 3, 3, 3]], metadatas: [{ upserted: true }, { upserted: true }] }],
      ['legacy-articles', 'update', { ids: ['doc-1'], documents: ['updated text'], metadatas: [{ edited: 1 }] }],
      ['legacy-articles', 'delete', { ids: ['doc-2', 'doc-5'] }],
      ['legacy-notes', 'delete', { where: { even: true } }],
      ['legacy-notes', 'add', { ids: ['note-x'], embeddings: [[9, 8, 7, 6]], documents: ['added through the gateway'] }],
    ];
    for (const [name, op, body] of writes) {
      const viaGateway = await http(base, 'POST', `${COLLECTIONS}/${ids[name]!.primary}/${op}`, body);
      const direct = await http(reference.url, 'POST', `${COLLECTIONS}/${ids[name]!.reference}/${op}`, body);
      expect(viaGateway.status, `${op} on ${name}`).toBe(direct.status);
      expect(viaGateway.status).toBeLessThan(300);
      expect(viaGateway.headers.get('x-chroma-ha-node')).toBe('primary');
    }
    // A write the primary rejects is still the primary's answer.
    const wrongDim = await http(base, 'POST', `${COLLECTIONS}/${notes.primary}/add`, { ids: ['bad'], embeddings: [[1, 2]] });
    expect(wrongDim.status).toBe(400);

    expect((await http(base, 'GET', `${COLLECTIONS}/${articles.primary}/count`)).json).toBe(30 + 3 - 2);

    const status = await waitStatusInSync(base);
    expect(status.nodes.map((n) => [n.name, n.syncState, n.divergedReason])).toEqual([
      ['primary', 'in-sync', null],
      ['replica-1', 'in-sync', null],
    ]);
    expect(await nodeContent(primary.url)).toEqual(await nodeContent(reference.url));
    // The replica was refilled by copy (issue 9) and then followed the log: it holds what the primary holds.
    expect(await nodeContent(replica.url)).toEqual(await nodeContent(primary.url));

    // A collection created through the gateway after adoption is replicated and read from both nodes as usual.
    const fresh = await http(base, 'POST', COLLECTIONS, { name: 'after-adoption' });
    expect((await http(base, 'POST', `${COLLECTIONS}/${fresh.json.id}/add`, { ids: ['a'], embeddings: [[1, 2]] })).status).toBe(201);
    await waitStatusInSync(base);
    expect(await nodeContent(replica.url)).toEqual(await nodeContent(primary.url));
    expect((await nodeContent(replica.url)).map((c) => c.name).sort()).toEqual(['after-adoption', 'legacy-articles', 'legacy-notes']);
  });
});
