// Epoch fencing, on both stores: a promotion checks and increments the epoch in one transaction (of two
// racing promoters exactly one wins), and an outcome sent under an older epoch is refused, writing nothing.
// Then end to end: a gateway whose primary was replaced behind its back has its applier's outcome refused,
// stops deciding, follows the store, and the write is decided by the new primary.
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { PostgresStore } from '../../src/store/postgres.js';
import type { ReplicationStore } from '../../src/store/types.js';

const STORES = {
  sqlite: async (h: Harness) => [new SqliteStore(join(h.dir, 'store')), new SqliteStore(join(h.dir, 'store'))],
  postgres: async (h: Harness) => {
    const url = await h.pgDatabaseUrl();
    return [new PostgresStore(url), new PostgresStore(url)];
  },
} satisfies Record<string, (h: Harness) => Promise<ReplicationStore[]>>;

const entry = { op: 'add' as const, tenant: 't', database: 'd', collectionId: 'c', collectionName: null, body: null };

describe.each(Object.entries(STORES))('epoch fencing in the %s store', (_kind, open) => {
  let h: Harness;
  let stores: ReplicationStore[] = [];
  afterEach(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    await h.cleanup();
  });

  async function twoStores(): Promise<[ReplicationStore, ReplicationStore]> {
    h = new Harness();
    stores = await open(h);
    for (const s of stores) await s.init();
    return stores as [ReplicationStore, ReplicationStore];
  }

  it('lets exactly one of two promoters with the same expected epoch win', async () => {
    const [one, two] = await twoStores();
    expect(await one.readRoles()).toEqual({ primaryId: null, epoch: 0, failoverCount: 0, lastFailover: null });
    const results = await Promise.all([
      one.promote({ expectedEpoch: 0, primaryId: 'node-b', lastFailover: '{"to":"node-b"}' }),
      two.promote({ expectedEpoch: 0, primaryId: 'node-c', lastFailover: '{"to":"node-c"}' }),
    ]);
    expect(results.filter((r) => r.promoted)).toHaveLength(1);
    const winner = results.find((r) => r.promoted)!.roles.primaryId;
    const roles = await two.readRoles();
    expect(roles).toEqual({ primaryId: winner, epoch: 1, failoverCount: 1, lastFailover: `{"to":"${winner}"}` });
    // The loser learns the roles that won, to follow them.
    expect(results.find((r) => !r.promoted)!.roles).toMatchObject({ primaryId: winner, epoch: 1 });
    // The next promotion must expect epoch 1.
    expect((await one.promote({ expectedEpoch: 0, primaryId: 'node-a', lastFailover: '{}' })).promoted).toBe(false);
    expect((await one.promote({ expectedEpoch: 1, primaryId: 'node-a', lastFailover: '{}' })).roles).toMatchObject({ primaryId: 'node-a', epoch: 2, failoverCount: 2 });
  });

  it('refuses an outcome sent under an older epoch, writing nothing, and records one from the current epoch', async () => {
    const [store] = await twoStores();
    const seq = await store.append(entry, 'gw-1');
    await store.promote({ expectedEpoch: 0, primaryId: 'node-b', lastFailover: '{}' });
    const stale = await store.recordApply({
      nodeId: 'node-a',
      seq,
      outcome: { state: 'committed', status: 201, epoch: 0 },
      changes: { mappings: [{ stableId: 'c', nodeId: 'node-a', localId: 'local' }] },
    });
    expect(stale).toBe('stale-epoch');
    let state = await store.loadState();
    expect(state.pendingSeqs).toEqual([seq]);
    expect(state.positions.has('node-a')).toBe(false);
    expect(state.mappings).toEqual([]);

    expect(await store.recordApply({ nodeId: 'node-b', seq, outcome: { state: 'committed', status: 201, epoch: 1 } })).toBe('recorded');
    expect(await store.recordApply({ nodeId: 'node-b', seq, outcome: { state: 'rejected', status: 400, epoch: 1 } })).toBe('already-decided');
    state = await store.loadState();
    expect(state.pendingSeqs).toEqual([]);
    expect(state.positions.get('node-b')).toBe(seq);
    // A replica's apply carries no outcome and is not fenced: it only follows committed entries.
    expect(await store.recordApply({ nodeId: 'node-a', seq })).toBe('recorded');
  });
});

describe('an applier whose epoch moved on', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('has its outcome refused, stops deciding, and the write is decided by the primary of the new epoch', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const databaseUrl = await h.pgDatabaseUrl();
    const gw = await h.gateway(nodes, { ...PATIENT_PROBES, DATABASE_URL: databaseUrl });
    const base = gatewayUrl(gw);
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'fenced' })).json.id as string;
    await waitStatusInSync(base);
    const before = (await http(base, 'GET', '/status')).json;
    expect(before.primary).toBe('primary');
    expect(before.epoch).toBe(0);
    expect(before.decision.last).toMatchObject({ action: 'none', reason: expect.stringMatching(/primary primary is healthy/) });

    // Another gateway promotes the replica; this one is not told (its periodic check is stopped), so its
    // primary's applier sends the next write under epoch 0 and the store must refuse that outcome.
    gw.failover.stop();
    const other = new PostgresStore(databaseUrl);
    try {
      const replica = gw.cluster.nodes[1]!;
      const { promoted } = await other.promote({ expectedEpoch: 0, primaryId: replica.id, lastFailover: JSON.stringify({ at: Date.now(), from: 'primary', to: replica.name, reason: 'test', kind: 'switchover' }) });
      expect(promoted).toBe(true);
    } finally {
      await other.close();
    }
    const w = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['after-fence'], embeddings: [[1, 2, 3]] });
    expect(w.status, w.text).toBe(201);
    expect(w.headers.get('x-chroma-ha-node')).toBe('replica-1');

    const after = await waitFor('the gateway to follow epoch 1', async () => {
      const s = (await http(base, 'GET', '/status')).json;
      return s.epoch === 1 && s.primary === 'replica-1' ? s : null;
    });
    expect(after.decision.lastAction).toMatchObject({ action: 'follow', target: 'replica-1', reason: expect.stringMatching(/epoch 1 with primary replica-1, newer than this gateway's epoch 0/) });
    await waitStatusInSync(base);
    const expected = await nodeContent(nodes[1]!.url);
    expect(expected[0]!.records.map((r) => r.id)).toEqual(['after-fence']);
    expect(await nodeContent(nodes[0]!.url)).toEqual(expected);
  });
});
