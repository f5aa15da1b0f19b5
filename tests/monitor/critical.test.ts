// The critical alerts, for real: every Chroma node killed (all nodes down), then the gateway stopped
// (gateway unreachable); each is announced once as critical and resolved once when it ends.
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayUrl, Harness } from '../helpers/cluster.js';
import { MonitorFixture, ofKind, waitForRounds } from '../helpers/monitor.js';

describe('monitor: critical situations', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('all nodes down, and the gateway unreachable, are critical and announced once', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes, { SHUTDOWN_TIMEOUT: '0.5' });
    const slack = await fx.receiver();
    const hook = await fx.receiver();
    const monitor = await fx.monitor(
      fx.env(nodes, { LOAD_BALANCER_URL: gatewayUrl(gw), CHECK_INTERVAL: '1', FAILURE_THRESHOLD: '2', RECOVERY_THRESHOLD: '1', NOTIFICATION_WEBHOOK: slack.url(), JSON_WEBHOOK_URLS: hook.url() }),
    );
    await waitForRounds(monitor, 1);

    await Promise.all(nodes.map((n) => n.kill()));
    const [all] = await hook.waitForRequests(1, 'all-nodes-down', 10_000, ofKind('all-nodes-down', 'firing'));
    expect(all!.json).toMatchObject({ severity: 'critical', target: { kind: 'cluster' } });
    expect(all!.json.title).toBe('All 2 Chroma nodes are down');
    const slackAll = slack.matching((j) => j.text.includes('All 2 Chroma nodes are down'));
    expect(slackAll).toHaveLength(1);
    expect(slackAll[0]!.json.blocks[0].text.text).toMatch(/^🔴 CRITICAL: /);

    await h.stopGateway(gw);
    const [unreachable] = await hook.waitForRequests(1, 'gateway-unreachable', 10_000, ofKind('gateway-unreachable', 'firing'));
    expect(unreachable!.json).toMatchObject({ severity: 'critical', target: { name: 'gateway', kind: 'gateway' } });
    expect(unreachable!.json.summary).toContain('clients cannot reach Chroma through it');

    await nodes[0]!.spawn();
    const [restored] = await hook.waitForRequests(1, 'service restored', 10_000, ofKind('all-nodes-down', 'resolved'));
    expect(restored!.json.title).toMatch(/^Service restored: primary up again \(all down for \d+s\)$/);
    await waitForRounds(monitor, 3);
    const heard = hook.requests.map((r) => `${r.json.kind}/${r.json.status}/${r.json.target.name}`).join(', ');
    expect(hook.matching(ofKind('all-nodes-down', 'firing')), heard).toHaveLength(1);
    expect(hook.matching(ofKind('all-nodes-down', 'resolved')), heard).toHaveLength(1);
    expect(hook.matching(ofKind('gateway-unreachable', 'firing')), heard).toHaveLength(1);
    expect(hook.matching((j) => ofKind('node-down', 'firing')(j) && j.target.name === 'replica-1'), heard).toHaveLength(1);
    console.info(`notifications: ${heard}`);
  });
});
