// Acceptance 1 (real time): the primary Chroma is killed with kill -9 behind a real gateway. Within
// CHECK_INTERVAL x FAILURE_THRESHOLD the receivers get exactly one "down" and one "failover"; after a
// restart exactly one "recovered" carrying the outage's duration; the history shows the incident.
import { afterEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/monitor/report.js';
import { COLLECTIONS, gatewayUrl, Harness, http, waitFor } from '../helpers/cluster.js';
import { MonitorFixture, ofKind, waitForRounds } from '../helpers/monitor.js';

const INTERVAL_MS = 500;
const THRESHOLD = 3;

describe('monitor: primary killed and restarted', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('notifies down and failover once each within interval x threshold, then recovered once with the duration', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes);
    const slack = await fx.receiver();
    const hook = await fx.receiver();
    const monitor = await fx.monitor(
      fx.env(nodes, {
        LOAD_BALANCER_URL: gatewayUrl(gw),
        CHECK_INTERVAL: String(INTERVAL_MS / 1000),
        FAILURE_THRESHOLD: String(THRESHOLD),
        RECOVERY_THRESHOLD: '2',
        NOTIFICATION_WEBHOOK: slack.url(),
        JSON_WEBHOOK_URLS: hook.url('/hook'),
      }),
    );
    await waitFor('the monitor to see every target up', () => monitor.detector.nodeState('primary') === 'up' && monitor.detector.nodeState('replica-1') === 'up' && monitor.detector.gatewayState === 'up');
    // A write, so the outage has something to replicate afterwards.
    expect((await http(gatewayUrl(gw), 'POST', COLLECTIONS, { name: 'monitored' })).status).toBe(200);

    const killedAt = Date.now();
    await nodes[0]!.kill();
    const [down] = await hook.waitForRequests(1, 'node-down', 10_000, ofKind('node-down', 'firing'));
    const [failover] = await hook.waitForRequests(1, 'failover', 10_000, ofKind('failover'));
    // Measured from the kill: the first failed check comes within one interval, the third two intervals later;
    // the allowance covers round scheduling and delivery on a busy 2-core machine.
    const budget = INTERVAL_MS * THRESHOLD;
    expect(down!.json.details.failedChecks).toBe(THRESHOLD);
    expect(down!.at - killedAt).toBeLessThanOrEqual(budget + 1_000);
    expect(failover!.at - killedAt).toBeLessThanOrEqual(budget + 1_000);
    console.info(`kill -9 to notification: down ${down!.at - killedAt} ms, failover ${failover!.at - killedAt} ms (interval x threshold = ${budget} ms)`);
    expect(down!.json).toMatchObject({ schemaVersion: 1, target: { name: 'primary', url: nodes[0]!.url }, details: { failedChecks: THRESHOLD } });
    expect(down!.json.summary).toContain('ECONNREFUSED');
    expect(failover!.json).toMatchObject({ severity: 'warning', target: { name: 'replica-1', role: 'primary' }, details: { from: 'primary', to: 'replica-1', failoverKind: 'failover' } });
    expect(failover!.json.details.reason).toContain('primary primary is down');
    expect(typeof failover!.json.details.writesPausedMs).toBe('number');

    // Four more rounds without a new notification: one per transition, not one per check.
    await waitForRounds(monitor, 4);
    expect(hook.requests.map((r) => `${r.json.kind}/${r.json.status}`).sort()).toEqual(['failover/notice', 'node-down/firing']);
    expect(slack.requests).toHaveLength(2);
    expect(slack.requests.every((r) => Array.isArray(r.json.blocks) && typeof r.json.text === 'string')).toBe(true);

    const restartedAt = Date.now();
    await nodes[0]!.spawn();
    const [recovered] = await hook.waitForRequests(1, 'recovered', 10_000, ofKind('node-down', 'resolved'));
    const outage = recovered!.json.durationSeconds as number;
    // From the first failed check (at most one interval after the kill) to the first good check after the restart.
    expect(outage).toBeGreaterThanOrEqual((restartedAt - killedAt - INTERVAL_MS) / 1000);
    expect(outage).toBeLessThanOrEqual((recovered!.at - killedAt) / 1000);
    expect(recovered!.json.title).toMatch(/^Recovered: primary \(down for \d+s\)$/);
    expect(recovered!.json.incident.id).toBe(down!.json.incident.id);
    // The primary takes its role back once it caught up: announced as a switchover, not a failover.
    await hook.waitForRequests(1, 'switchover', 15_000, ofKind('switchover'));
    expect(hook.matching(ofKind('node-down', 'resolved'))).toHaveLength(1);
    expect(hook.matching(ofKind('node-down', 'firing'))).toHaveLength(1);
    expect(hook.matching(ofKind('failover'))).toHaveLength(1);

    // The history (SQLite under DATA_DIR) tells the same story.
    await monitor.history.flush();
    const report = await buildReport(monitor.history.store, killedAt - 60_000, Date.now() + 1);
    const primary = report.targets.find((t) => t.target === 'primary')!;
    expect(primary.incidents).toBe(1);
    expect(primary.uptimePercent).toBeLessThan(100);
    const replica = report.targets.find((t) => t.target === 'replica-1')!;
    expect(replica.incidents).toBe(0);
    expect(replica.uptimePercent).toBeGreaterThan(primary.uptimePercent);
    expect(report.incidents[0]!.durationSeconds).toBeCloseTo(outage, 1);
    expect(report.alerts.byKind).toMatchObject({ 'node-down': 2, failover: 1, switchover: 1 });
    expect(report.deliveries.failed).toBe(0);
  });
});
