// Replication trouble seen through the gateway's /status, for real: a replica that falls behind (its
// process stopped while the gateway, configured to be patient, still counts it up) raises one "lagging"
// and one "caught up"; a replica changed behind the gateway's back diverges and raises one critical alert; a
// replica being refilled by copy, far behind the log meanwhile, is not reported as lagging.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, gatewayUrl, Harness, http, waitFor } from '../helpers/cluster.js';
import { MonitorFixture, ofKind, waitForRounds } from '../helpers/monitor.js';
import { waitStatusInSync } from '../helpers/convergence.js';

describe('monitor: replica lag and divergence', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('notifies a lagging replica once, then its catching up once', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    // The gateway keeps the stopped replica "up" (it would need 1000 failed checks), so its lag grows visibly.
    const gw = await h.gateway(nodes, { FAILURE_THRESHOLD: '1000', REQUEST_TIMEOUT: '1' });
    const base = gatewayUrl(gw);
    const hook = await fx.receiver();
    await fx.monitor(
      fx.env([nodes[0]!], { LOAD_BALANCER_URL: base, CHECK_INTERVAL: '0.5', FAILURE_THRESHOLD: '2', LAG_THRESHOLD_ENTRIES: '3', JSON_WEBHOOK_URLS: hook.url() }),
    );
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'lagging' })).json.id;
    await waitFor('the replica to hold the collection', async () => (await http(nodes[1]!.url, 'GET', `${COLLECTIONS}/lagging`)).status === 200);

    nodes[1]!.signal('SIGSTOP');
    for (let i = 0; i < 5; i++) expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [`r${i}`], embeddings: [[i, 0, 1]] })).status).toBe(201);
    const [lag] = await hook.waitForRequests(1, 'replica-lag', 10_000, ofKind('replica-lag', 'firing'));
    expect(lag!.json).toMatchObject({ severity: 'warning', target: { name: 'replica-1', role: 'replica' } });
    expect(lag!.json.details.lagEntries).toBeGreaterThanOrEqual(4);
    expect(lag!.json.summary).toContain('more than 3 entries');

    nodes[1]!.signal('SIGCONT');
    const [caughtUp] = await hook.waitForRequests(1, 'caught up', 20_000, ofKind('replica-lag', 'resolved'));
    expect(caughtUp!.json.incident.id).toBe(lag!.json.incident.id);
    expect(caughtUp!.json.durationSeconds).toBeGreaterThan(0);
    expect(hook.matching(ofKind('replica-lag'))).toHaveLength(2);
  });

  it('notifies a diverged replica once, as critical', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes);
    const base = gatewayUrl(gw);
    const hook = await fx.receiver();
    const monitor = await fx.monitor(fx.env(nodes, { LOAD_BALANCER_URL: base, CHECK_INTERVAL: '0.5', JSON_WEBHOOK_URLS: hook.url() }));
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'diverging' })).json.id;
    await waitFor('the replica to hold the collection', async () => (await http(nodes[1]!.url, 'GET', `${COLLECTIONS}/diverging`)).status === 200);
    // Someone deletes the collection on the replica itself, bypassing the gateway.
    expect((await http(nodes[1]!.url, 'DELETE', `${COLLECTIONS}/diverging`)).status).toBe(200);
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['x'], embeddings: [[1, 2, 3]] })).status).toBe(201);

    const [diverged] = await hook.waitForRequests(1, 'node-diverged', 20_000, ofKind('node-diverged', 'firing'));
    expect(diverged!.json).toMatchObject({ severity: 'critical', target: { name: 'replica-1' } });
    expect(diverged!.json.details.reason).toMatch(/^entry \d+ \(add\)/);
    expect(diverged!.json.checks.join(' ')).toContain('bypassing the gateway');
    // It stays diverged: no repeat, and no lag alert on top of it.
    await waitForRounds(monitor, 3);
    expect((await http(base, 'GET', '/status')).json.nodes[1].syncState).toBe('diverged');
    expect(hook.matching(ofKind('node-diverged'))).toHaveLength(1);
    expect(hook.matching(ofKind('replica-lag'))).toHaveLength(0);
  });

  it('does not report a replica being refilled by copy as lagging', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const token = 'admin-token-for-tests-0123456789';
    // Patient health checks: the stopped replica stays "up" while its refill waits on it.
    const gw = await h.gateway(nodes, { FAILURE_THRESHOLD: '1000', REQUEST_TIMEOUT: '1', ADMIN_TOKEN: token });
    const base = gatewayUrl(gw);
    const hook = await fx.receiver();
    const monitor = await fx.monitor(
      fx.env([nodes[0]!], { LOAD_BALANCER_URL: base, CHECK_INTERVAL: '0.5', FAILURE_THRESHOLD: '2', LAG_THRESHOLD_ENTRIES: '3', JSON_WEBHOOK_URLS: hook.url() }),
    );
    const id = (await http(base, 'POST', COLLECTIONS, { name: 'refilled' })).json.id;
    await waitStatusInSync(base);

    // The refill holds on the stopped replica (each try times out and starts again) while writes go on.
    nodes[1]!.signal('SIGSTOP');
    expect((await http(base, 'POST', '/admin/nodes/replica-1/resync', undefined, { authorization: `Bearer ${token}` })).status).toBe(202);
    for (let i = 0; i < 6; i++) expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [`r${i}`], embeddings: [[i, 0, 1]] })).status).toBe(201);
    const during = (await http(base, 'GET', '/status')).json.nodes[1];
    expect(during).toMatchObject({ health: 'up', syncState: 'resync' });
    expect(during.lagEntries).toBeGreaterThan(3);
    await waitForRounds(monitor, 4);
    expect((await http(base, 'GET', '/status')).json.nodes[1].syncState).toBe('resync');

    nodes[1]!.signal('SIGCONT');
    await waitStatusInSync(base);
    await waitForRounds(monitor, 2);
    expect(hook.matching(ofKind('replica-lag'))).toHaveLength(0);
  });
});
