// Acceptance 6: the gateway's GET /metrics parses with an independent Prometheus text-format parser, and
// its counters and gauges move as the test drives real traffic, a hung primary and a failover. Two
// gateways in one process keep separate registries.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, gatewayUrl, Harness, http, waitFor } from '../helpers/cluster.js';
import { scrape, type Scrape } from '../helpers/prometheus.js';

/** Metric names listed in one table of docs/monitoring.md, between a heading and the next one. */
function documented(section: string): string[] {
  const doc = readFileSync(new URL('../../docs/monitoring.md', import.meta.url), 'utf8');
  const start = doc.indexOf(section);
  const end = doc.indexOf('\n#', start + section.length);
  return [...doc.slice(start, end).matchAll(/^\| `(chroma_ha_[a-z_]+)` \|/gm)].map((m) => m[1]!);
}

describe('gateway /metrics', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('counts traffic, replication and a failover, in Prometheus text format', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes, { REQUEST_TIMEOUT: '1' });
    // Its own node: two gateways (two logs) in front of the same nodes would each claim them (their identity markers).
    const other = await h.gateway([await h.chroma()], { DATA_DIR: join(h.dir, 'second-gateway') });
    const base = gatewayUrl(gw);
    const metrics = () => scrape(`${base}/metrics`);
    const delta = (a: Scrape, b: Scrape, name: string, labels: Record<string, string> = {}) => (b.value(name, labels) ?? 0) - (a.value(name, labels) ?? 0);

    const m0 = await metrics();
    for (const name of documented('### Gateway')) expect(m0.family(name), `${name} is exposed`).toBeDefined();
    expect(m0.family('chroma_ha_requests_total')!.type).toBe('counter');
    expect(m0.family('chroma_ha_request_duration_seconds')!.type).toBe('histogram');
    expect(m0.family('process_cpu_seconds_total')).toBeDefined();
    expect(m0.value('chroma_ha_node_up', { node: 'primary' })).toBe(1);
    expect(m0.value('chroma_ha_node_up', { node: 'replica-1' })).toBe(1);
    expect(m0.value('chroma_ha_node_role', { node: 'primary', role: 'primary' })).toBe(1);
    expect(m0.value('chroma_ha_node_role', { node: 'replica-1', role: 'replica' })).toBe(1);
    expect(m0.value('chroma_ha_in_flight_requests')).toBeGreaterThanOrEqual(1); // this very scrape

    // Traffic: 1 create + 3 adds (writes), 4 counts and a 404 (reads).
    const created = await http(base, 'POST', COLLECTIONS, { name: 'metrics' });
    expect(created.status).toBe(200);
    const id = created.json.id;
    for (let i = 0; i < 3; i++) expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: [`r${i}`], embeddings: [[i, 1, 2]] })).status).toBe(201);
    for (let i = 0; i < 4; i++) expect((await http(base, 'GET', `${COLLECTIONS}/${id}/count`)).status).toBe(200);
    expect((await http(base, 'GET', `${COLLECTIONS}/no-such-collection`)).status).toBe(404);
    const m1 = await waitFor('the replica to apply every entry', async () => {
      const m = await metrics();
      return m.value('chroma_ha_node_lag_entries', { node: 'replica-1' }) === 0 && m.value('chroma_ha_node_applied_position', { node: 'replica-1' }) === m.value('chroma_ha_log_committed_position') ? m : null;
    });
    expect(delta(m0, m1, 'chroma_ha_requests_total', { route_class: 'write', status: '201' })).toBe(3);
    expect(delta(m0, m1, 'chroma_ha_requests_total', { route_class: 'write', status: '200' })).toBe(1);
    expect(delta(m0, m1, 'chroma_ha_requests_total', { route_class: 'read', status: '200' })).toBe(4);
    expect(delta(m0, m1, 'chroma_ha_requests_total', { route_class: 'read', status: '404' })).toBe(1);
    expect(delta(m0, m1, 'chroma_ha_request_duration_seconds_count', { route_class: 'write', status: '201' })).toBe(3);
    expect(delta(m0, m1, 'chroma_ha_node_requests_total')).toBeGreaterThanOrEqual(9);
    expect(m1.value('chroma_ha_log_committed_position')).toBeGreaterThanOrEqual(4);
    expect(m1.value('chroma_ha_log_entries')).toBeGreaterThanOrEqual(4);
    expect(m1.value('chroma_ha_log_size_bytes')).toBeGreaterThan(0);
    expect(m1.value('chroma_ha_node_sync_state', { node: 'replica-1', state: 'in-sync' })).toBe(1);

    // The primary hangs (SIGSTOP): a request forwarded to it times out, the gateway fails over.
    nodes[0]!.signal('SIGSTOP');
    const hung = http(base, 'GET', '/api/v2/not-a-chroma-route');
    await waitFor('the failover', async () => (await metrics()).value('chroma_ha_failovers_total', { kind: 'failover' }) === 1, 15_000);
    expect((await hung).status).toBe(504);
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['after'], embeddings: [[9, 9, 9]] })).status).toBe(201);
    await nodes[0]!.kill();
    const m2 = await metrics();
    expect(m2.value('chroma_ha_node_up', { node: 'primary' })).toBe(0);
    expect(m2.value('chroma_ha_node_role', { node: 'replica-1', role: 'primary' })).toBe(1);
    expect(m2.value('chroma_ha_node_role', { node: 'primary', role: 'primary' })).toBe(0);
    expect(delta(m1, m2, 'chroma_ha_node_health_changes_total', { node: 'primary', to: 'down' })).toBe(1);
    expect(delta(m1, m2, 'chroma_ha_upstream_errors_total', { node: 'primary', kind: 'timeout' })).toBe(1);
    expect(delta(m1, m2, 'chroma_ha_requests_total', { route_class: 'passthrough', status: '504' })).toBe(1);
    expect(delta(m1, m2, 'chroma_ha_cluster_epoch')).toBe(1);
    expect(m2.value('chroma_ha_last_failover_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(m2.value('chroma_ha_node_lag_entries', { node: 'primary' })).toBeGreaterThanOrEqual(1); // it missed the last write
    expect(m2.value('chroma_ha_node_lag_seconds', { node: 'primary' })).toBeGreaterThan(0);
    expect(m2.value('chroma_ha_failovers_total', { kind: 'switchover' })).toBe(0);

    // The second gateway in this process has its own registry: none of that traffic is in its counters.
    const o = await scrape(`${gatewayUrl(other)}/metrics`);
    expect(o.value('chroma_ha_requests_total')).toBeUndefined(); // no request has completed on it yet
    expect(o.value('chroma_ha_node_requests_total')).toBe(0);
    expect(m2.value('chroma_ha_node_requests_total')).toBeGreaterThan(9);
  });
});
