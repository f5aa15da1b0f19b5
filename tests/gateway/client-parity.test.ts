// Acceptance 1: the chromadb JS client pointed at the gateway behaves like the same client pointed at a
// plain Chroma server. One scripted sequence of calls runs against both; the transcripts must be equal
// once node-local collection ids and Chroma's own unordered outputs are normalised.
import { afterEach, describe, expect, it } from 'vitest';
import { ChromaClient, type Collection } from 'chromadb';
import { Harness, gatewayUrl, PATIENT_PROBES } from '../helpers/cluster.js';

type Transcript = Array<[step: string, result: unknown]>;

const EMBED = (i: number) => [1 + i, 0.5 * i, i % 3];

/** Runs the scripted sequence and records every result (or error) in a comparable form. */
async function script(baseUrl: string): Promise<Transcript> {
  const client = new ChromaClient({ path: baseUrl });
  const out: Transcript = [];
  // Collection ids are node-local on a plain Chroma and stable ids behind the gateway: name them by creation order.
  const labels = new Map<string, string>();
  const label = (id: string) => {
    if (!labels.has(id)) labels.set(id, `collection-${labels.size + 1}`);
    return labels.get(id)!;
  };
  const scrub = (text: string) =>
    text.replaceAll(baseUrl, 'BASE').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => labels.get(id) ?? 'unknown-id');
  const describeCollection = (c: Collection) => ({
    id: label(c.id),
    name: c.name,
    metadata: c.metadata ?? null,
    tenant: c.tenant,
    database: c.database,
    configuration: c.configuration,
  });
  const step = async (name: string, fn: () => Promise<unknown>) => {
    try {
      out.push([name, await fn()]);
    } catch (err) {
      const e = err as Error;
      out.push([name, { threw: e.name, message: scrub(e.message) }]);
    }
  };
  // get() answers in storage order and metadata keys in hash order: compare records sorted by id.
  const byId = <T extends { id: string }>(rows: T[]) => [...rows].sort((a, b) => a.id.localeCompare(b.id));

  await step('version', () => client.version());
  await step('heartbeat is a number', async () => typeof (await client.heartbeat()));
  await step('identity', () => client.getUserIdentity());

  let docs!: Collection;
  await step('create docs', async () => {
    docs = await client.createCollection({ name: 'docs', metadata: { topic: 'parity', version: 1 }, embeddingFunction: null });
    return describeCollection(docs);
  });
  await step('create scratch', async () => describeCollection(await client.createCollection({ name: 'scratch', embeddingFunction: null })));
  await step('create docs again (conflict)', () => client.createCollection({ name: 'docs', embeddingFunction: null }));
  await step('getOrCreate docs', async () => describeCollection(await client.getOrCreateCollection({ name: 'docs', embeddingFunction: null })));
  await step('list collections', async () => (await client.listCollections()).map(describeCollection).sort((a, b) => a.name.localeCompare(b.name)));
  await step('list page 1 of size 1', async () => (await client.listCollections({ limit: 1, offset: 0 })).length);
  await step('count collections', () => client.countCollections());
  await step('get docs by name', async () => describeCollection(await client.getCollection({ name: 'docs' })));
  await step('get missing collection', () => client.getCollection({ name: 'no-such-collection' }));

  const ids = Array.from({ length: 8 }, (_, i) => `rec-${i}`);
  await step('add', () =>
    docs.add({
      ids,
      embeddings: ids.map((_, i) => EMBED(i)),
      metadatas: ids.map((_, i) => ({ kind: i % 2 === 0 ? 'even' : 'odd', rank: i, score: i / 4, flag: i > 3 })),
      documents: ids.map((_, i) => `document number ${i} about ${i % 2 === 0 ? 'apples' : 'pears'}`),
    }),
  );
  await step('add with wrong dimension', () => docs.add({ ids: ['bad'], embeddings: [[1, 2]] }));
  await step('count after add', () => docs.count());
  await step('get all with embeddings', async () =>
    byId((await docs.get({ include: ['embeddings', 'metadatas', 'documents'] as never })).rows()),
  );
  await step('get by ids', async () => byId((await docs.get({ ids: ['rec-5', 'rec-1', 'missing'] })).rows()));
  await step('get where', async () => byId((await docs.get({ where: { kind: 'odd' } })).rows()));
  await step('get where $and', async () => byId((await docs.get({ where: { $and: [{ rank: { $gte: 2 } }, { flag: false }] } })).rows()));
  await step('get whereDocument', async () => byId((await docs.get({ whereDocument: { $contains: 'pears' } })).rows()));
  await step('get page', async () => byId((await docs.get({ limit: 3, offset: 2 })).rows()));
  await step('query', async () =>
    (
      await docs.query({ queryEmbeddings: [EMBED(2), [7.2, 3.4, 1.1]], nResults: 3, include: ['distances', 'documents', 'metadatas'] as never })
    ).rows(),
  );
  await step('query where', async () => (await docs.query({ queryEmbeddings: [EMBED(0)], nResults: 2, where: { kind: 'odd' } })).rows());

  await step('update', () =>
    docs.update({
      ids: ['rec-1', 'rec-2'],
      embeddings: [
        [0.5, 0.5, 0.5],
        [2, 2, 2],
      ],
      metadatas: [{ kind: 'updated' }, { rank: 20 }],
      documents: ['new one', 'new two'],
    }),
  );
  await step('update of a missing id', () => docs.update({ ids: ['never-added'], metadatas: [{ kind: 'x' }] }));
  await step('upsert', () =>
    docs.upsert({
      ids: ['rec-3', 'rec-new'],
      embeddings: [
        [9, 9, 9],
        [0.25, 0.5, 0.75],
      ],
      metadatas: [{ kind: 'upserted' }, { kind: 'fresh', rank: 100 }],
      documents: ['replaced three', 'brand new'],
    }),
  );
  await step('get after update and upsert', async () =>
    byId((await docs.get({ include: ['embeddings', 'metadatas', 'documents'] as never })).rows()),
  );
  await step('delete by ids', () => docs.delete({ ids: ['rec-0', 'rec-7', 'missing'] }));
  await step('delete where', () => docs.delete({ where: { kind: 'odd' } }));
  await step('count after delete', () => docs.count());
  await step('get after delete', async () => byId((await docs.get()).rows()));

  await step('modify name and metadata', () => docs.modify({ name: 'docs-renamed', metadata: { topic: 'renamed', version: 2 } }));
  await step('get renamed', async () => describeCollection(await client.getCollection({ name: 'docs-renamed' })));
  await step('get old name', () => client.getCollection({ name: 'docs' }));
  await step('records survive the rename', async () => (await client.getCollection({ name: 'docs-renamed' })).count());
  await step('delete scratch', () => client.deleteCollection({ name: 'scratch' }));
  await step('delete missing collection', () => client.deleteCollection({ name: 'scratch' }));
  await step('list after delete', async () => (await client.listCollections()).map(describeCollection));
  await step('count collections after delete', () => client.countCollections());
  await step('delete renamed', () => client.deleteCollection({ name: 'docs-renamed' }));
  await step('count on a deleted collection', () => docs.count());
  await step('list when empty', async () => (await client.listCollections()).map(describeCollection));
  return out;
}

describe('chromadb JS client through the gateway', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('gets the same results as from a plain Chroma server for the same calls', async () => {
    h = new Harness();
    const [direct, primary, replica] = await Promise.all([h.chroma({ name: 'direct' }), h.chroma(), h.chroma()]);
    const gw = await h.gateway([primary!, replica!], PATIENT_PROBES);

    const servedReads = new Set<string>();
    gw.events.on('request', ({ routeClass, node, status }) => {
      if (routeClass === 'read' && node && status === 200) servedReads.add(node);
    });

    const expected = await script(direct!.url);
    const actual = await script(gatewayUrl(gw));

    // The script itself must have exercised success and failure paths on the plain server.
    const errorsSeen = expected.filter(([, r]) => r && typeof r === 'object' && 'threw' in r).map(([s]) => s);
    expect(errorsSeen).toEqual([
      'create docs again (conflict)',
      'get missing collection',
      'add with wrong dimension',
      'get old name',
      'delete missing collection',
      'count on a deleted collection',
    ]);
    for (let i = 0; i < expected.length; i++) expect({ step: actual[i]?.[0], result: actual[i]?.[1] }).toEqual({ step: expected[i]![0], result: expected[i]![1] });
    expect(actual).toHaveLength(expected.length);
    // Reads were spread over both nodes, so the replica's answers were compared too.
    expect([...servedReads].sort()).toEqual(['primary', 'replica-1']);
  });
});
