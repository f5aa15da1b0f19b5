// Membership changes seen through the gateway's /status: a node added and then removed at run time through
// the admin API gives one notice each (node-membership, info), the ones the gateway had before the
// monitor started give none; a planned switchover is announced as such, with its write pause.
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayUrl, Harness, waitFor } from '../helpers/cluster.js';
import { MonitorFixture, ofKind, waitForRounds } from '../helpers/monitor.js';
import { ADMIN_TOKEN, admin } from '../helpers/admin.js';

describe('monitor: nodes added and removed at run time', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('sends one notice per membership change and announces a planned switchover with its write pause', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const [primary, r1, early, late] = await h.chromaCluster(4);
    const gw = await h.gateway([primary!, r1!], { ADMIN_TOKEN });
    const base = gatewayUrl(gw);
    expect((await admin(base, 'POST', '/admin/nodes', { url: early!.url, name: 'early' })).status).toBe(201);
    const hook = await fx.receiver();
    const monitor = await fx.monitor(fx.env([primary!, r1!], { LOAD_BALANCER_URL: base, CHECK_INTERVAL: '0.5', JSON_WEBHOOK_URLS: hook.url() }));
    await waitForRounds(monitor, 2);

    expect((await admin(base, 'POST', '/admin/nodes', { url: late!.url, name: 'late' })).status).toBe(201);
    const [added] = await hook.waitForRequests(1, 'node added', 15_000, ofKind('node-membership'));
    expect(added!.json).toMatchObject({ status: 'notice', severity: 'info', target: { name: 'late', url: late!.url }, details: { action: 'added' } });
    expect(added!.json.title).toBe('Node added: late');

    await waitFor('late to be a member', () => gw.cluster.nodes.find((n) => n.name === 'late')?.isMember, 30_000);
    expect((await admin(base, 'DELETE', '/admin/nodes/late')).status).toBe(200);
    const notices = await hook.waitForRequests(2, 'node removed', 15_000, ofKind('node-membership'));
    expect(notices[1]!.json).toMatchObject({ target: { name: 'late' }, details: { action: 'removed' }, title: 'Node removed: late' });

    const switched = await admin(base, 'POST', '/admin/switchover', { to: 'replica-1' });
    expect(switched.status).toBe(200);
    const [announced] = await hook.waitForRequests(1, 'switchover', 15_000, ofKind('switchover'));
    expect(announced!.json.title).toBe('Planned switchover: replica-1 is primary (was primary)');
    expect(announced!.json.summary).toMatch(/New writes were held \d+ ms/);
    expect(announced!.json.details.writePauseMs).toEqual(expect.any(Number));
    expect(hook.matching(ofKind('node-membership'))).toHaveLength(2); // nothing for "early", added before the monitor
  });
});
