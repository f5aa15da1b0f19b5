// The monitor's own /metrics (on MONITOR_METRICS_PORT): parses as Prometheus text, exposes every documented
// metric, and moves with the checks, a node going down, and the notifications it caused.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayUrl, Harness, waitFor } from '../helpers/cluster.js';
import { MonitorFixture, ofKind } from '../helpers/monitor.js';
import { scrape } from '../helpers/prometheus.js';

function documented(section: string): string[] {
  const doc = readFileSync(new URL('../../docs/monitoring.md', import.meta.url), 'utf8');
  const start = doc.indexOf(section);
  const end = doc.indexOf('\n#', start + section.length);
  return [...doc.slice(start, end === -1 ? undefined : end).matchAll(/^\| `(chroma_ha_[a-z_]+)` \|/gm)].map((m) => m[1]!);
}

describe('monitor /metrics', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('counts checks, targets up, alerts and deliveries', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes);
    const hook = await fx.receiver();
    const monitor = await fx.monitor(fx.env(nodes, { LOAD_BALANCER_URL: gatewayUrl(gw), CHECK_INTERVAL: '0.5', FAILURE_THRESHOLD: '2', JSON_WEBHOOK_URLS: hook.url() }));
    const url = `http://127.0.0.1:${monitor.metricsPort}/metrics`;
    const m0 = await waitFor('every target up', async () => {
      const m = await scrape(url);
      return m.value('chroma_ha_monitor_target_up', { target: 'gateway', kind: 'gateway' }) === 1 && m.value('chroma_ha_monitor_target_up') === 3 ? m : null;
    });
    const documentedNames = documented('### Monitor');
    expect(documentedNames.length).toBeGreaterThan(10);
    for (const name of documentedNames) expect(m0.family(name), `${name} is exposed`).toBeDefined();
    expect(m0.value('chroma_ha_monitor_checks_total', { target: 'primary', result: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(m0.value('chroma_ha_monitor_check_duration_seconds_count', { target: 'replica-1' })).toBeGreaterThanOrEqual(1);
    expect(m0.value('chroma_ha_monitor_replica_lag_entries', { node: 'replica-1' })).toBe(0);
    expect(m0.value('chroma_ha_monitor_history_store_up')).toBe(1);
    expect(m0.value('chroma_ha_monitor_last_check_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 5);

    await nodes[1]!.kill();
    await hook.waitForRequests(1, 'node-down', 10_000, ofKind('node-down', 'firing'));
    const m1 = await waitFor('the delivery to be counted', async () => {
      const m = await scrape(url);
      return m.value('chroma_ha_monitor_notifications_total', { sink: 'json-1', outcome: 'delivered' }) === 1 ? m : null;
    });
    expect(m1.value('chroma_ha_monitor_target_up', { target: 'replica-1' })).toBe(0);
    expect(m1.value('chroma_ha_monitor_target_up', { target: 'primary' })).toBe(1);
    expect(m1.value('chroma_ha_monitor_checks_total', { target: 'replica-1', result: 'failed' })).toBeGreaterThanOrEqual(2);
    expect(m1.value('chroma_ha_monitor_alerts_total', { kind: 'node-down', status: 'firing', severity: 'warning' })).toBe(1);
    expect(m1.value('chroma_ha_monitor_open_incidents')).toBe(1);
    expect(m1.value('chroma_ha_monitor_notification_attempts_total', { sink: 'json-1' })).toBe(1);
    expect(m1.value('chroma_ha_monitor_checks_total', { target: 'primary', result: 'ok' })).toBeGreaterThan(m0.value('chroma_ha_monitor_checks_total', { target: 'primary', result: 'ok' })!);
  });
});
