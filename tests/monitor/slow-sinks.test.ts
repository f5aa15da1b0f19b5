// Acceptance 3 through the running monitor: one sink answers 429 with Retry-After: 2 (the monitor waits and
// delivers once), another never answers; meanwhile the rounds of checks go on at their interval, as the
// check timestamps in the history show.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from '../helpers/cluster.js';
import { MonitorFixture, ofKind } from '../helpers/monitor.js';

const INTERVAL_MS = 500;

describe('monitor: slow and rate-limiting sinks', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('honours Retry-After and is not held up by a sink that hangs', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const limited = await fx.receiver((req) => (req.index === 0 ? { status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' } : { status: 200, body: 'ok' }));
    const hanging = await fx.receiver(() => ({ hang: true }));
    const monitor = await fx.monitor(
      fx.env(nodes, {
        CHECK_INTERVAL: String(INTERVAL_MS / 1000),
        FAILURE_THRESHOLD: '2',
        NOTIFICATION_WEBHOOK: limited.url(),
        JSON_WEBHOOK_URLS: hanging.url(),
        NOTIFY_TIMEOUT: '30',
        NOTIFY_RETRY_DELAY: '0.1',
      }),
    );
    await waitFor('replica-1 up', () => monitor.detector.nodeState('replica-1') === 'up');

    await nodes[1]!.kill();
    await waitFor('the hanging sink to hold the down notification', () => hanging.open === 1);
    const hangFrom = Date.now();
    const [first, second] = await limited.waitForRequests(2, 'the retried delivery', 10_000);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_950);
    expect(second!.body).toBe(first!.body); // the same notification, delivered once
    await waitFor('three seconds of rounds during the hang', () => Date.now() - hangFrom > 3_000, 10_000);
    expect(hanging.open).toBe(1); // still hanging all along
    await monitor.history.flush();

    const db = new Database(join(h.dir, 'monitor', 'monitor-history.sqlite'), { readonly: true });
    const ats = (db.prepare(`SELECT at FROM monitor_checks WHERE target = 'primary' AND at >= ? ORDER BY at`).all(hangFrom) as Array<{ at: number }>).map((r) => r.at);
    const delivery = db.prepare(`SELECT * FROM monitor_deliveries WHERE sink = 'slack-1'`).all() as Array<Record<string, unknown>>;
    db.close();
    // Rounds went on while one sink hung (for the whole window) and the other waited out Retry-After (2 s):
    // had either held the checks up, there would be a gap of seconds. The bounds leave room for a busy machine.
    const gaps = ats.slice(1).map((a, i) => a - ats[i]!);
    expect(ats.length).toBeGreaterThanOrEqual(Math.floor(3_000 / INTERVAL_MS / 2));
    expect(Math.max(...gaps)).toBeLessThan(3 * INTERVAL_MS);
    expect(delivery[0]).toMatchObject({ ok: 1, attempts: 2, http_status: 200, kind: 'node-down' });
    expect(limited.requests.filter((r) => r.body === first!.body)).toHaveLength(2); // refused once, accepted once
    expect(hanging.matching((j) => ofKind('node-down', 'firing')(j) && j.target.name === 'replica-1')).toHaveLength(1);
    console.info(`${ats.length} rounds during the hang, largest gap ${Math.max(...gaps)} ms (interval ${INTERVAL_MS} ms); Retry-After wait ${second!.at - first!.at} ms`);
  });
});
