// Issue 9, acceptance 5 (first half): nodes added and removed at run time through the admin API. A third,
// empty replica added under continuous client load is bootstrapped by copy, follows the log and becomes
// in-sync, never serving a read before; verify then says every node is identical and no acknowledged write
// is lost or doubled. The membership is kept in the store: after a gateway restart the added node is still a
// member (recognised by its marker, not copied again) and a removed configured node stays out. A removed
// node gets no read from the moment it is removed; the primary cannot be removed. Both stores; and two
// gateways on one PostgreSQL log see each other's membership changes and the leaseholder's switchover.
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { clientLoad, contentOf, seedNode, type SeedCollection } from '../helpers/lifecycle.js';
import { ADMIN_TOKEN, admin, runCli } from '../helpers/admin.js';
import type { ClusterNode } from '../../src/cluster/node.js';
import type { Gateway } from '../../src/gateway/gateway.js';

// Held by the primary before the gateway starts (adopted), so a new node is filled by copy, not by replay.
const SEED: SeedCollection[] = [{ database: 'default_database', name: 'articles', records: 800, dimensions: 32 }];
const DATABASES = ['default_database'];

/** Every lifecycle state a node goes through (sampled every few milliseconds), and whether it served a read before it was a member. */
function watchNode(gw: Gateway, name: string) {
  const states = new Set<string>();
  const timer = setInterval(() => {
    const n: ClusterNode | undefined = gw.cluster.nodes.find((x) => x.name === name);
    if (n) states.add(n.lifecycle);
  }, 2);
  return { states, stop: () => clearInterval(timer) };
}

/** Reads through the gateway until stopped; the nodes that answered them (X-Chroma-HA-Node). */
function readLoop(base: string, collectionId: string) {
  let running = true;
  const served: string[] = [];
  const failures: string[] = [];
  const done = (async () => {
    while (running) {
      const r = await http(base, 'POST', `/api/v2/tenants/default_tenant/databases/default_database/collections/${collectionId}/get`, { ids: ['articles-1', 'articles-2'] });
      if (r.status !== 200 || r.json.ids.length !== 2) failures.push(`${r.status} ${r.text.slice(0, 200)}`);
      served.push(r.headers.get('x-chroma-ha-node') ?? '?');
    }
  })();
  return {
    served,
    failures,
    async stop() {
      running = false;
      await done;
    },
  };
}

describe.each(['sqlite', 'postgres'] as const)('nodes added and removed at run time (%s store)', (store) => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('bootstraps an added empty replica under load, keeps membership across a restart, and stops reads to a removed node', async () => {
    h = new Harness();
    const [primary, r1, added] = await Promise.all([h.chroma({ name: 'primary' }), h.chroma({ name: 'r1' }), h.chroma({ name: 'added' })]);
    const ids = await seedNode(primary.url, SEED);
    const env = { ...PATIENT_PROBES, ADMIN_TOKEN, ...(store === 'postgres' ? { DATABASE_URL: await h.pgDatabaseUrl() } : {}) };
    let gw = await h.gateway([primary, r1], env);
    let base = gatewayUrl(gw);
    await waitFor('the first replica filled', () => gw.cluster.nodes.every((n) => n.isMember), 60_000);

    // Bad input first: nothing is added.
    expect((await admin(base, 'POST', '/admin/nodes', { url: added.url }, null)).status).toBe(401);
    const badUrl = await admin(base, 'POST', '/admin/nodes', { url: 'ftp://nowhere' });
    expect(badUrl).toMatchObject({ status: 400, json: { error: 'InvalidArgumentError', message: expect.stringMatching(/http or https/) } });
    expect((await admin(base, 'POST', '/admin/nodes', '{not json')).status).toBe(400);
    const dup = await admin(base, 'POST', '/admin/nodes', { url: `${r1.url}/` });
    expect(dup).toMatchObject({ status: 409, json: { error: 'ConflictError', message: expect.stringMatching(/already a member, named replica-1/) } });
    expect((await admin(base, 'POST', '/admin/nodes', { url: added.url, name: 'replica-1' })).status).toBe(409);
    expect(gw.cluster.nodes.map((n) => n.name)).toEqual(['primary', 'replica-1']);

    // Acceptance 5: add the empty node while a client reads seeded records and writes new ones.
    const load = clientLoad(base, SEED, ids);
    await waitFor('some writes before the add', () => load.writesSoFar() >= 5, 30_000);
    const watch = watchNode(gw, 'extra');
    const res = await admin(base, 'POST', '/admin/nodes', { url: added.url, name: 'extra' });
    expect(res).toMatchObject({ status: 201, json: { name: 'extra', role: 'replica' } });
    await waitFor('the added node a member and in sync', () => {
      const n = gw.cluster.nodes.find((x) => x.name === 'extra');
      return n?.isMember && n.appliedSeq >= gw.log.committedHead;
    }, 60_000);
    const writesAtJoin = load.writesSoFar();
    await waitFor('writes the added node follows from the log', () => load.writesSoFar() >= writesAtJoin + 10, 30_000);
    const seen = await load.stop();
    watch.stop();
    expect(seen.failures).toEqual([]);
    expect([...watch.states]).toContain('resync'); // filled by copy
    const status = await waitStatusInSync(base, 60_000);
    expect(status.nodes.map((n) => n.name)).toEqual(['primary', 'replica-1', 'extra']);
    expect(status.membership?.changes).toEqual([expect.objectContaining({ action: 'added', node: 'extra', url: added.url })]);

    // verify (admin API): every node identical to the primary.
    const verify = await admin(base, 'POST', '/admin/verify');
    expect(verify.status).toBe(200);
    expect(verify.json.identical).toBe(true);
    expect(verify.json.nodes.map((n: { node: string }) => n.node).sort()).toEqual(['extra', 'replica-1']);
    // Nothing lost or doubled: the seed plus exactly one record per acknowledged write, on every node.
    const [onPrimary, onR1, onAdded] = await Promise.all([primary, r1, added].map((n) => contentOf(n.url, DATABASES)));
    const records = onPrimary!.default_database!.find((c) => c.name === 'articles')!.records.map((r) => r.id);
    expect(records.length).toBe(SEED[0]!.records + seen.writes);
    expect(new Set(records).size).toBe(records.length);
    for (let n = 0; n < seen.writes; n++) expect(records).toContain(`articles-live-${n}`);
    expect(onR1).toEqual(onPrimary);
    expect(onAdded).toEqual(onPrimary);

    // Remove the configured replica: from that moment it serves no read.
    const reads = readLoop(base, ids.articles!);
    await waitFor('reads served', () => reads.served.length >= 20, 30_000);
    expect((await admin(base, 'DELETE', '/admin/nodes/replica-1')).status).toBe(200);
    const removedAt = reads.served.length;
    await waitFor('reads after the removal', () => reads.served.length >= removedAt + 50, 30_000);
    await reads.stop();
    expect(reads.failures).toEqual([]);
    // A read already routed when the removal landed may finish on it; none is sent after.
    expect(reads.served.slice(removedAt + 1)).not.toContain('replica-1');
    expect(gw.cluster.nodes.map((n) => n.name)).toEqual(['primary', 'extra']);
    const metrics = (await http(base, 'GET', '/metrics')).text;
    expect(metrics).toContain('chroma_ha_node_up{node="extra"} 1');
    expect(metrics).not.toContain('chroma_ha_node_up{node="replica-1"}');
    // The primary and unknown nodes cannot be removed.
    expect(await admin(base, 'DELETE', '/admin/nodes/primary')).toMatchObject({ status: 409, json: { error: 'ConflictError', message: expect.stringMatching(/primary: switch over to another node first/) } });
    expect((await admin(base, 'DELETE', '/admin/nodes/nope')).status).toBe(404);

    // A restart keeps the membership: the added node is recognised (no copy), the removed one stays out.
    await h.stopGateway(gw);
    gw = await h.gateway([primary, r1], env);
    base = gatewayUrl(gw);
    const again = watchNode(gw, 'extra');
    expect(gw.cluster.nodes.map((n) => n.name)).toEqual(['primary', 'extra']);
    await waitFor('the added node a member after the restart', () => gw.cluster.nodes.find((n) => n.name === 'extra')?.isMember, 30_000);
    again.stop();
    expect([...again.states]).not.toContain('resync');
    const list = await runCli(['nodes', 'list', '--url', base], { ADMIN_TOKEN });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^primary\s+primary\s+up/m);
    expect(list.stdout).toMatch(/^extra\s+replica\s+up\s+member/m);
    expect(list.stdout).not.toMatch(/replica-1/);
    const refused = await runCli(['nodes', 'remove', 'primary', '--url', base, '--token', ADMIN_TOKEN]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused \(409\): primary is the primary/);
    expect(await admin(base, 'POST', '/admin/nodes', { url: 'http://127.0.0.1:9', name: 'replica-1' })).toMatchObject({ status: 409, json: { message: expect.stringMatching(/name of a configured node/) } });
    const badAdd = await runCli(['nodes', 'add', 'ftp://nowhere', '--url', base], { ADMIN_TOKEN });
    expect(badAdd.code).toBe(1);
    expect(badAdd.stderr).toMatch(/refused \(400\): url must be http or https/);
    // The removed configured node comes back through the CLI, under its configured name, checked before it serves.
    const back = await runCli(['nodes', 'add', r1.url, '--url', base], { ADMIN_TOKEN });
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/^added replica-1 \(/);
    await waitFor('replica-1 a member again', () => gw.cluster.nodes.find((n) => n.name === 'replica-1')?.isMember, 30_000);
    expect(gw.cluster.nodes.map((n) => n.name)).toEqual(['primary', 'extra', 'replica-1']);
  });
});

describe('membership seen by every gateway on one PostgreSQL log', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('a node added through one gateway is attached by the other, a removal likewise; only the leaseholder switches over, the other follows', async () => {
    h = new Harness();
    const [primary, r1, extra] = await h.chromaCluster(3);
    const env = { ...PATIENT_PROBES, ADMIN_TOKEN, DATABASE_URL: await h.pgDatabaseUrl() };
    const first = await h.gateway([primary!, r1!], env);
    const second = await h.gateway([primary!, r1!], env);
    const holder = first.lease.isHeld() ? first : second;
    const follower = holder === first ? second : first;
    expect(follower.lease.isHeld()).toBe(false);

    // Added through the gateway without the lease: the leaseholder attaches it and fills it.
    expect((await admin(gatewayUrl(follower), 'POST', '/admin/nodes', { url: extra!.url })).status).toBe(201);
    await waitFor('the leaseholder to attach and fill the added node', () => holder.cluster.nodes.find((n) => n.name === 'replica-2')?.isMember, 30_000);
    await waitFor('the other gateway to see it a member too', () => follower.cluster.nodes.find((n) => n.name === 'replica-2')?.isMember, 30_000);

    const refused = await admin(gatewayUrl(follower), 'POST', '/admin/switchover', { to: 'replica-2' });
    expect(refused).toMatchObject({ status: 409, json: { message: expect.stringMatching(/does not hold the applier lease/) } });

    // Removed through the leaseholder: the other gateway detaches it within its next poll.
    expect((await admin(gatewayUrl(holder), 'DELETE', '/admin/nodes/replica-2')).status).toBe(200);
    await waitFor('the other gateway to detach it', () => follower.cluster.nodes.every((n) => n.name !== 'replica-2'), 10_000);
    expect(holder.cluster.nodes.map((n) => n.name)).toEqual(['primary', 'replica-1']);
    const published = await holder.store.readClusterValues();
    expect(published.get(`lifecycle:${extra!.url}`)).toBe('unverified:removed from the cluster');

    // Added again: checked afresh by the leaseholder, and a member on both gateways once it passed.
    expect((await admin(gatewayUrl(follower), 'POST', '/admin/nodes', { url: extra!.url, name: 'back' })).status).toBe(201);
    await waitFor('the node back as a member on both gateways', () => [holder, follower].every((g) => g.cluster.nodes.find((n) => n.name === 'back')?.isMember), 30_000);

    // A switchover through the leaseholder: the other gateway follows the epoch it recorded.
    expect((await admin(gatewayUrl(holder), 'POST', '/admin/switchover', { to: 'replica-1' })).status).toBe(200);
    await waitFor('the other gateway to route writes to the new primary', () => follower.cluster.primary.name === 'replica-1', 10_000);
  });
});

describe('a node removed while it is filled by copy', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('stops the copy and is never published as a member', async () => {
    h = new Harness();
    const [primary, added] = await h.chromaCluster(2);
    await seedNode(primary!.url, [{ database: 'default_database', name: 'big', records: 6_000, dimensions: 32 }]);
    const gw = await h.gateway([primary!], { ...PATIENT_PROBES, ADMIN_TOKEN });
    const base = gatewayUrl(gw);
    expect((await admin(base, 'POST', '/admin/nodes', { url: added!.url, name: 'extra' })).status).toBe(201);
    const node = gw.cluster.nodes.find((n) => n.name === 'extra')!;
    await waitFor('the copy under way', () => (gw.lifecycle.copyStatus(node)?.recordsCopied ?? 0) > 0, 30_000, 5);
    expect((await admin(base, 'DELETE', '/admin/nodes/extra')).status).toBe(200);
    await waitFor('the copy abandoned', () => gw.lifecycle.copyStatus(node) === null, 10_000);
    const copied = async () => (await http(added!.url, 'POST', `/api/v2/tenants/default_tenant/databases/default_database/collections/${(await http(added!.url, 'GET', '/api/v2/tenants/default_tenant/databases/default_database/collections/big')).json.id}/get`, { include: [], limit: 10_000 })).json.ids.length;
    const afterAbort = await copied();
    expect(afterAbort).toBeLessThan(6_000);
    // Whatever was in flight has landed once two reads agree; nothing is written after that.
    await waitFor('the node to stop changing', async () => (await copied()) === (await copied()), 10_000, 200);
    expect(await copied()).toBeLessThan(6_000);
    expect(node.lifecycle).toBe('unverified');
    expect((await gw.store.readClusterValues()).get(`lifecycle:${added!.url}`)).toBe('unverified:removed from the cluster');
  });
});
