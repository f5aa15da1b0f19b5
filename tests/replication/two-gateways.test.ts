// Two gateways as separate processes on one PostgreSQL log, in front of the same Chroma nodes. One holds the
// applier lease and applies the log; the other accepts every request, appends writes and learns their
// outcomes from the store. Shown here: concurrent writers through both (three rounds of seeds) agree with the
// log on every node; a kill -9 of the leaseholder under load is taken over within the lease period with nothing
// acknowledged lost; a kill -9 of the primary under writes through both gives exactly one promotion that both gateways
// follow, with nothing acknowledged lost; a gateway without the lease cut from PostgreSQL refuses writes and
// strong reads (503) rather than answer from a view it cannot show is current.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, http, waitFor, type GatewayChild } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';
import { recordsOnNode } from '../helpers/replication.js';
import { rng } from '../../bench/lib/workload.js';
import { committedBodies, leaseRow, replayLog } from '../helpers/gateways.js';
import { leaseMargins } from '../../src/replication/lease-grace.js';

/** Lease timing the gateways use (LEASE_PERIOD, LEASE_RENEW_INTERVAL defaults): takeover must happen within the TTL. */
const LEASE_TTL_MS = 5_000;
const LEASE_RENEW_MS = 1_000;
/** How long after the old lease's expiry a node may still be processing the old holder's last request. */
const DRAIN_MS = leaseMargins(LEASE_TTL_MS).drainMs;

const status = async (g: GatewayChild) => (await http(g.url, 'GET', '/status')).json;

describe('two gateways on one PostgreSQL log', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  async function setup(nodeCount = 3) {
    h = new Harness();
    const nodes = await h.chromaCluster(nodeCount);
    const databaseUrl = await h.pgDatabaseUrl();
    const env = h.gatewayEnv(nodes, { ...PATIENT_PROBES, DATABASE_URL: databaseUrl });
    const first = await h.gatewayProcess(env);
    await waitFor('the first gateway to take the lease', async () => (await status(first)).lease.held);
    const second = await h.gatewayProcess(env);
    const s2 = await status(second);
    expect(s2.lease.held).toBe(false);
    expect(s2.lease.holder).toBe((await status(first)).lease.gateway);
    return { nodes, databaseUrl, env, first, second };
  }

  /** A writer doing upserts, adds and deletes of a few shared ids; returns the documents acknowledged. */
  async function writer(g: GatewayChild, id: string, name: string, ops: number, seed: number, stop?: () => boolean, ackedAt?: number[]) {
    const random = rng(seed);
    const acknowledged: string[] = [];
    for (let i = 0; i < ops && !stop?.(); i++) {
      const key = `k${Math.floor(random() * 6)}`;
      const pick = random();
      const doc = `${name}-${i}`;
      const op = pick < 0.5 ? 'upsert' : pick < 0.8 ? 'add' : 'delete';
      const body = op === 'delete' ? { ids: [key] } : { ids: [key], embeddings: [[seed, i, Math.round(pick * 100)]], documents: [doc] };
      const r = await http(g.url, 'POST', `${COLLECTIONS}/${id}/${op}`, body);
      expect(r.status, `${op} through ${g.url}: ${r.text}`).toBeLessThan(300);
      ackedAt?.push(Date.now());
      if (op !== 'delete') acknowledged.push(doc);
    }
    return acknowledged;
  }

  async function expectNodesMatchLog(nodes: Array<{ url: string }>, databaseUrl: string, id: string, name: string, acknowledged: string[]) {
    const expected = await replayLog(databaseUrl, id);
    for (const node of nodes) expect((await recordsOnNode(node.url, name))!.map(({ metadata: _, ...r }) => ({ ...r, metadata: null })), node.url).toEqual(expected);
    // Every acknowledged add/upsert is a committed entry of the log (present, or overwritten by a later one).
    const bodies = await committedBodies(databaseUrl, id);
    for (const doc of acknowledged) expect(bodies.some((b) => b.includes(`"${doc}"`)), doc).toBe(true);
  }

  it('keeps every node identical to the log under concurrent writers through both gateways', async () => {
    const { nodes, databaseUrl, first, second } = await setup();
    // Created through the gateway without the lease: it must answer with the stable id the leaseholder chose.
    const created = await http(second.url, 'POST', COLLECTIONS, { name: 'shared' });
    expect(created.status, created.text).toBe(200);
    const id = created.json.id as string;
    expect((await http(first.url, 'GET', `${COLLECTIONS}/shared`)).json.id).toBe(id);
    // Several seeds, one after the other on the same collection: each round is checked before the next starts.
    const acknowledged: string[] = [];
    for (const round of [0, 1, 2]) {
      const seed = 1 + round * 4;
      const ops = 20;
      acknowledged.push(
        ...(await Promise.all([
          writer(first, id, `a${round}`, ops, seed),
          writer(first, id, `b${round}`, ops, seed + 1),
          writer(second, id, `c${round}`, ops, seed + 2),
          writer(second, id, `d${round}`, ops, seed + 3),
        ])).flat(),
      );
      await waitStatusInSync(first.url);
      await expectNodesMatchLog(nodes, databaseUrl, id, 'shared', acknowledged);
    }
    // The gateway without the lease learned the outcomes and positions too.
    await waitStatusInSync(second.url);

    // Read-your-writes across gateways: a write acknowledged by one is seen at once by a read through the other.
    for (let i = 0; i < 40; i++) {
      const [writeVia, readVia] = i % 2 === 0 ? [first, second] : [second, first];
      expect((await http(writeVia.url, 'POST', `${COLLECTIONS}/${id}/upsert`, { ids: ['ryw'], embeddings: [[i, i, i]] })).status).toBe(200);
      const got = await http(readVia.url, 'POST', `${COLLECTIONS}/${id}/get`, { ids: ['ryw'], include: ['embeddings'] });
      expect(got.json.embeddings, `read ${i} through ${readVia.url}`).toEqual([[i, i, i]]);
    }
  });

  it('takes over within the lease period when the leaseholder is killed under load, losing nothing', async () => {
    const { nodes, databaseUrl, env, first, second } = await setup();
    const id = (await http(first.url, 'POST', COLLECTIONS, { name: 'handover' })).json.id as string;
    await waitFor('the second gateway to know the collection', async () => (await http(second.url, 'GET', `${COLLECTIONS}/handover`)).status === 200);
    let stop = false;
    const ackedAt: number[] = [];
    const load = Promise.all([writer(second, id, 'x', 1_000, 5, () => stop, ackedAt), writer(second, id, 'y', 1_000, 6, () => stop, ackedAt)]);
    await waitFor('some writes through the second gateway', async () => (await status(second)).log.committedHead > 10);
    const killedHolder = (await status(first)).lease.gateway as string;
    await first.kill();
    const killedAt = Date.now();
    // The killed gateway's lease as PostgreSQL last held it (a renewal it sent just before dying may still
    // land): its expiry, on PostgreSQL's clock, which is this machine's clock here.
    let oldExpiry = 0;
    const takenRow = await waitFor('PostgreSQL to give the lease to the second gateway', async () => {
      const row = await leaseRow(databaseUrl);
      if (row?.holder === killedHolder) oldExpiry = Math.max(oldExpiry, row.expiresAt);
      return row && row.holder !== killedHolder ? row : null;
    }, 30_000, 20);
    const takeoverMs = Date.now() - killedAt;
    expect(takenRow.holder).toBe((await status(second)).lease.gateway);
    expect(oldExpiry).toBeGreaterThan(0);
    expect(takeoverMs).toBeLessThan(LEASE_TTL_MS + LEASE_RENEW_MS + 1_000);
    // Taken from an expired lease: until the drain margin past the old lease's expiry the new holder sends
    // nothing (the killed holder's requests were aborted before that expiry; a node may still be finishing
    // one). The 2 ms allow for PostgreSQL's microseconds rounded to whole milliseconds.
    const taken = (await status(second)).lease;
    const graceUntil = taken.held ? null : Date.parse(taken.graceUntil);
    if (graceUntil !== null) expect(graceUntil).toBeGreaterThanOrEqual(oldExpiry + DRAIN_MS - 2);
    await waitFor('the second gateway to start applying', async () => (await status(second)).lease.held, 30_000, 20);
    const heldSeenAt = Date.now();
    expect(heldSeenAt).toBeGreaterThanOrEqual(oldExpiry + DRAIN_MS - 2);
    const applyingAt = graceUntil ?? heldSeenAt;
    await waitFor('a write acknowledged under the new leaseholder', async () => ackedAt.some((t) => t >= applyingAt), 30_000, 10);
    const firstAck = ackedAt.find((t) => t >= applyingAt)!;
    console.log(
      `after kill -9 of the leaseholder (old lease expired ${oldExpiry - killedAt} ms after the kill): lease taken over in ${takeoverMs} ms, ` +
        `applying from ${applyingAt - killedAt} ms (seen held at ${heldSeenAt - killedAt} ms), first write acknowledged after ${firstAck - killedAt} ms`,
    );
    const before = (await status(second)).log.committedHead;
    await waitFor('writes to make progress under the new leaseholder', async () => (await status(second)).log.committedHead >= before + 10);
    stop = true;
    const acknowledged = (await load).flat();

    // The killed gateway, restarted, rejoins without the lease.
    const restarted = await h.gatewayProcess(env);
    const s = await status(restarted);
    expect(s.lease.held).toBe(false);
    expect(s.lease.holder).toBe((await status(second)).lease.gateway);
    await waitStatusInSync(second.url);
    await expectNodesMatchLog(nodes, databaseUrl, id, 'handover', acknowledged);
    expect((await status(second)).lease.held).toBe(true);
  });

  it('hands the lease over on SIGTERM (a rolling deploy) without a client error or a lost write', async () => {
    const { nodes, databaseUrl, env, first, second } = await setup();
    const id = (await http(second.url, 'POST', COLLECTIONS, { name: 'rolling' })).json.id as string;
    let stop = false;
    const load = Promise.all([writer(second, id, 'p', 1_000, 7, () => stop), writer(second, id, 'q', 1_000, 8, () => stop)]);
    await waitFor('some writes through the second gateway', async () => (await status(second)).log.committedHead > 10);
    expect(await first.terminate()).toBe(0);
    const stoppedAt = Date.now();
    // The old leaseholder released the lease: the next renewal takes it, no need to wait for expiry.
    await waitFor('the second gateway to take the lease', async () => (await status(second)).lease.held, 30_000, 20);
    expect(Date.now() - stoppedAt).toBeLessThan(LEASE_TTL_MS);
    const before = (await status(second)).log.committedHead;
    await waitFor('writes to make progress under the new leaseholder', async () => (await status(second)).log.committedHead >= before + 10);
    // The next deploy: a new gateway joins, the current one is stopped.
    const third = await h.gatewayProcess(env);
    expect((await status(third)).lease.held).toBe(false);
    stop = true;
    const acknowledged = (await load).flat();
    await waitStatusInSync(second.url);
    await expectNodesMatchLog(nodes, databaseUrl, id, 'rolling', acknowledged);
  });

  it('promotes exactly once when the primary is killed under writes through both gateways, losing nothing', async () => {
    const { nodes, databaseUrl, first, second } = await setup(2);
    const id = (await http(first.url, 'POST', COLLECTIONS, { name: 'promoted' })).json.id as string;
    const loadedId = (await http(first.url, 'POST', COLLECTIONS, { name: 'loaded' })).json.id as string;
    await waitStatusInSync(first.url);
    await waitFor('the second gateway to know the collection', async () => (await http(second.url, 'GET', `${COLLECTIONS}/loaded`)).status === 200);
    let stop = false;
    const load = Promise.all([writer(first, loadedId, 'f', 1_000, 11, () => stop), writer(second, loadedId, 's', 1_000, 12, () => stop)]);
    await waitFor('some writes through both gateways', async () => (await status(first)).log.committedHead > 15);
    await nodes[0]!.kill();
    for (const g of [first, second]) {
      await waitFor(`${g.url} to route to the new primary`, async () => {
        const s = await status(g);
        return s.primary === 'replica-1' && s.epoch === 1;
      });
    }
    const promotedAt = (await status(first)).log.committedHead;
    await waitFor('writes to make progress on the new primary', async () => (await status(first)).log.committedHead >= promotedAt + 10);
    stop = true;
    const acknowledged = (await load).flat();
    await waitFor('the new primary to apply every committed entry', async () => {
      const s = await status(first);
      return s.log.pendingWrites === 0 && s.nodes.find((n: { name: string }) => n.name === 'replica-1').appliedPosition >= s.log.committedHead;
    });
    await expectNodesMatchLog([nodes[1]!], databaseUrl, loadedId, 'loaded', acknowledged);
    for (const g of [second, first]) {
      const w = await http(g.url, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [`via-${g.port}`], embeddings: [[1, 2, 3]] });
      expect(w.status, w.text).toBe(201);
      expect(w.headers.get('x-chroma-ha-node')).toBe('replica-1');
    }
    const s1 = await status(first);
    const s2 = await status(second);
    expect([s1.epoch, s2.epoch]).toEqual([1, 1]);
    expect([s1.failovers.count, s2.failovers.count]).toEqual([1, 1]);
    expect(s1.decision.lastAction).toMatchObject({ action: 'failover', target: 'replica-1' });
    expect(s2.decision.lastAction).toMatchObject({ action: 'follow', target: 'replica-1' });
    const promoted = (await nodeContent(nodes[1]!.url)).find((c) => c.name === 'promoted')!;
    expect(promoted.records.map((r) => r.id).sort()).toEqual([`via-${first.port}`, `via-${second.port}`].sort());
  });

  it('a gateway without the lease cut from PostgreSQL refuses writes and strong reads with 503 while the other serves on', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const direct = new URL(await h.pgDatabaseUrl());
    const proxy = await h.tcpProxy(direct.hostname, Number(direct.port || 5432));
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const first = await h.gatewayProcess(h.gatewayEnv(nodes, { ...PATIENT_PROBES, DATABASE_URL: direct.toString() }));
    await waitFor('the first gateway to take the lease', async () => (await status(first)).lease.held);
    const cut = await h.gatewayProcess(h.gatewayEnv(nodes, { ...PATIENT_PROBES, DATABASE_URL: viaProxy.toString() }));
    const id = (await http(cut.url, 'POST', COLLECTIONS, { name: 'partitioned' })).json.id as string;
    expect((await http(cut.url, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['before'], embeddings: [[1, 1, 1]] })).status).toBe(201);

    await proxy.cut();
    const write = await http(cut.url, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['refused'], embeddings: [[2, 2, 2]] });
    expect(write.status, write.text).toBe(503);
    expect(write.json.message).toMatch(/replication log store is unreachable/);
    // The other gateway writes on: the cut one cannot know it, so it refuses a read that would have to show it...
    expect((await http(first.url, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['during'], embeddings: [[3, 3, 3]] })).status).toBe(201);
    const strong = await http(cut.url, 'POST', `${COLLECTIONS}/${id}/get`, { ids: ['during'] });
    expect(strong.status, strong.text).toBe(503);
    expect(strong.json.error).toBe('ServiceUnavailableError');
    // ...and serves one that asks for no such promise.
    const eventual = await http(cut.url, 'POST', `${COLLECTIONS}/${id}/get`, { ids: ['before'] }, { 'x-chroma-ha-consistency': 'eventual' });
    expect(eventual.status, eventual.text).toBe(200);
    expect(eventual.json.ids).toEqual(['before']);
    expect((await status(first)).lease.held).toBe(true);

    await proxy.restore();
    await waitFor('the cut gateway to read the other\'s write once the store is back', async () => {
      const r = await http(cut.url, 'POST', `${COLLECTIONS}/${id}/get`, { ids: ['during'] });
      return r.status === 200 && r.json.ids[0] === 'during';
    }, 20_000, 100);
    await waitStatusInSync(first.url);
    for (const node of nodes) expect((await recordsOnNode(node.url, 'partitioned'))!.map((r) => r.id), node.url).toEqual(['before', 'during']);
  });
});
