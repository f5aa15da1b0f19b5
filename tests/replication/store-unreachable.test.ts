// Issue 3, "store unreachable": the gateway's PostgreSQL log store really goes away (the gateway reaches it
// through a TCP forwarder that the test cuts: connections drop, new ones are refused). Writes must then
// fail fast with 503 and a clear message, reads keep being served by the in-sync nodes, and once the store
// is back writes work again. A write refused because the store was unreachable must not appear anywhere;
// a write acknowledged must be everywhere.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';
import { idsOnNode } from '../helpers/replication.js';
import pg from 'pg';

describe('replication log store unreachable', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  /** Three nodes and a gateway whose PostgreSQL store is reached through a forwarder the test controls. */
  async function cluster() {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const direct = new URL(await h.pgDatabaseUrl());
    const proxy = await h.tcpProxy(direct.hostname, Number(direct.port || 5432));
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const gw = await h.gateway(nodes, { ...PATIENT_PROBES, DATABASE_URL: viaProxy.toString() });
    const base = gatewayUrl(gw);
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'kept' })).json.id as string;
    const seed = Array.from({ length: 20 }, (_, i) => `seed-${i}`);
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: seed, embeddings: seed.map((_, i) => [i, 0, 1]) })).status).toBe(201);
    await waitStatusInSync(base);
    return { nodes, proxy, directUrl: direct.toString(), base, id, seed };
  }

  it('refuses writes fast with 503, keeps serving reads, and accepts writes again when the store returns', async () => {
    const { nodes, proxy, base, id, seed } = await cluster();
    await proxy.cut();

    // Writes: refused at once, with a message that says why.
    const refused: string[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const r = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [`refused-${i}`], embeddings: [[i, 1, 1]] });
      const ms = performance.now() - started;
      expect(r.status).toBe(503);
      expect(r.json.error).toBe('ServiceUnavailableError');
      expect(r.json.message).toMatch(/replication log store is unreachable/);
      // "Fast" means the store's refusal, not WRITE_TIMEOUT (15 s here) spent waiting.
      expect(ms).toBeLessThan(5_000);
      refused.push(`refused-${i}`);
    }
    const createRefused = await http(base, 'POST', COLLECTIONS, { name: 'never-created' });
    expect(createRefused.status).toBe(503);

    // Reads: still served, by every in-sync node, with the full content.
    const servedBy = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await http(base, 'GET', `${COLLECTIONS}/${id}/count`);
      expect(r.status).toBe(200);
      expect(r.json).toBe(seed.length);
      servedBy.add(r.headers.get('x-chroma-ha-node')!);
    }
    expect([...servedBy].sort()).toEqual(['primary', 'replica-1', 'replica-2']);
    const got = await http(base, 'POST', `${COLLECTIONS}/${id}/get`, { ids: ['seed-3'], include: ['embeddings'] });
    expect(got.json.embeddings).toEqual([[3, 0, 1]]);
    expect((await http(base, 'GET', `${COLLECTIONS}/kept`)).json.id).toBe(id);
    const status = (await http(base, 'GET', '/status')).json;
    expect(status.log.storeReachable).toBe(false);

    await proxy.restore();

    // Writes work again (the pool reconnects on its own), and nothing refused was applied anywhere.
    let attempt = 0;
    const accepted = await waitFor(
      'a write to be accepted after the store returns',
      async () => {
        const after = `after-${attempt++}`;
        const r = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [after], embeddings: [[9, 9, 9]] });
        if (r.status !== 503) expect(r.status).toBe(201);
        return r.status === 201 ? after : null;
      },
      20_000,
      100,
    );
    expect((await http(base, 'POST', COLLECTIONS, { name: 'created-after' })).status).toBe(200);
    const later = await http(base, 'POST', `${COLLECTIONS}/${id}/upsert`, { ids: ['later'], embeddings: [[7, 7, 7]] });
    expect(later.status).toBe(200);

    const synced = await waitStatusInSync(base);
    expect(synced.log.storeReachable).toBe(true);
    const expected = await nodeContent(nodes[0]!.url);
    for (const node of nodes.slice(1)) expect(await nodeContent(node.url), node.url).toEqual(expected);
    for (const node of nodes) {
      const held = await idsOnNode(node.url, 'kept');
      for (const r of refused) expect(held.has(r), `${r} on ${node.url}`).toBe(false);
      expect(held.has(accepted)).toBe(true);
      expect(held.has('later')).toBe(true);
      expect([...held].filter((x) => x.startsWith('after-'))).toEqual([accepted]);
      expect(held.size).toBe(seed.length + 2);
    }
    expect(expected.map((c) => c.name)).toEqual(['created-after', 'kept']);
  });

  it('never applies a write whose log append was cut after reaching the store, since its client was told it failed', async () => {
    const { nodes, proxy, directUrl, base, id } = await cluster();
    // The append's INSERT and its COMMIT reach PostgreSQL, but the answer to the COMMIT never comes back.
    const marker = 'lost-in-transit';
    const sprung = proxy.cutAfterRequest([Buffer.from(marker), Buffer.from('COMMIT')], 300);
    const lost = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [marker], embeddings: [[5, 5, 5]], documents: ['told it failed'] });
    await sprung;
    expect(lost.status).toBe(503);
    expect(lost.json.message).toMatch(/replication log store is unreachable/);
    const inLog = async () => {
      const client = new pg.Client({ connectionString: directUrl });
      await client.connect();
      try {
        return (await client.query(`SELECT seq, state FROM log_entries WHERE position($1::bytea IN request_body) > 0`, [Buffer.from(marker)])).rows;
      } finally {
        await client.end();
      }
    };
    // The fault really struck after the commit: the entry is in the log, its outcome undecided.
    expect(await inLog()).toEqual([{ seq: expect.anything(), state: 'pending' }]);

    await proxy.restore();
    await waitFor('a write to be accepted after the store returns', async () => {
      const r = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['after'], embeddings: [[9, 9, 9]] });
      return r.status === 201;
    }, 20_000, 100);
    await waitStatusInSync(base);
    for (const node of nodes) {
      const held = await idsOnNode(node.url, 'kept');
      expect(held.has('after')).toBe(true);
      expect(held.has(marker), `the refused write on ${node.url}`).toBe(false);
    }
    expect((await inLog()).map((r) => r.state)).toEqual(['aborted']);
  });
});
