// Acceptance 5: history rows land in PostgreSQL when DATABASE_URL is set and in SQLite otherwise; retention
// deletes old rows (simulated clock, 31 days later); with PostgreSQL cut off (a real TCP proxy that
// refuses) the monitor keeps checking and notifying, buffers within its bound, says so, and writes the
// buffer when the database is back. `chroma-ha monitor report` prints uptime and incidents from it.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, Harness, PG_URL, waitFor } from '../helpers/cluster.js';
import { capturingLogger, MonitorFixture, ofKind, SimulatedClock } from '../helpers/monitor.js';

const DAY = 86_400_000;
const run = promisify(execFile);

async function pgCount(url: string, table: string, where = 'true'): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return Number((await c.query(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`)).rows[0].n);
  } finally {
    await c.end();
  }
}

describe('monitor history', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('writes SQLite under DATA_DIR without DATABASE_URL, and retention deletes old rows', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(1);
    const clock = new SimulatedClock(Date.now() - 31 * DAY);
    const monitor = await fx.monitor(fx.env(nodes, { CHECK_INTERVAL: '1', HISTORY_RETENTION_DAYS: '30' }), { now: clock.now, start: false });
    for (let i = 0; i < 5; i++) {
      await monitor.checkOnce();
      clock.advance(1_000);
    }
    await monitor.history.flush();
    const file = join(h.dir, 'monitor', 'monitor-history.sqlite');
    const count = (where = '1') => {
      const db = new Database(file, { readonly: true });
      try {
        return (db.prepare(`SELECT COUNT(*) AS n FROM monitor_checks WHERE ${where}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    expect(count()).toBe(5);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT target, target_kind, ok, state, latency_ms FROM monitor_checks ORDER BY at LIMIT 1').get()).toMatchObject({ target: 'primary', target_kind: 'node', ok: 1, state: 'up' });
    expect((db.prepare('SELECT COUNT(*) AS n FROM monitor_state_changes').get() as { n: number }).n).toBe(1);
    db.close();

    // 31 days later the first round prunes everything older than 30 days, and keeps what is newer.
    clock.t = Date.now();
    await monitor.checkOnce();
    await waitFor('retention to delete the old rows', () => count() === 1);
    expect(count(`at >= ${clock.t}`)).toBe(1);
  });

  it('writes PostgreSQL when DATABASE_URL is set; survives the database going away and catches up', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const url = await h.pgDatabaseUrl();
    const pgAddr = new URL(PG_URL);
    const proxy = await h.tcpProxy(pgAddr.hostname, Number(pgAddr.port || 5432));
    const viaProxy = new URL(url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const hook = await fx.receiver();
    const logs = capturingLogger();
    const monitor = await fx.monitor(
      fx.env(nodes, {
        CHECK_INTERVAL: '0.5',
        FAILURE_THRESHOLD: '2',
        DATABASE_URL: viaProxy.toString(),
        JSON_WEBHOOK_URLS: hook.url(),
        HISTORY_BUFFER_LIMIT: '8',
      }),
      { logger: logs.logger },
    );
    await waitFor('rows in PostgreSQL', async () => (await pgCount(url, 'monitor_checks')) >= 4);
    expect(await pgCount(url, 'monitor_checks', `target = 'replica-1' AND ok AND state = 'up'`)).toBeGreaterThan(0);
    expect(await pgCount(url, 'monitor_state_changes')).toBe(2);
    // Nothing of it went to SQLite.
    await expect(import('node:fs').then((fs) => fs.existsSync(join(h.dir, 'monitor', 'monitor-history.sqlite')))).resolves.toBe(false);

    await proxy.cut();
    await waitFor('the monitor to notice the store is down', () => !monitor.history.available);
    expect(logs.text()).toContain('history store unreachable');
    // Checking and notifying go on without the store.
    await nodes[1]!.kill();
    await hook.waitForRequests(1, 'node-down while the store is down', 5_000, ofKind('node-down', 'firing'));
    await waitFor('the buffer to fill up and drop old check rows', () => monitor.history.dropped > 0);
    expect(monitor.history.buffered).toBeLessThanOrEqual(8);
    expect(logs.text()).toContain('history buffer full');

    await proxy.restore();
    await waitFor('the buffered rows to be written', async () => monitor.history.available && (await pgCount(url, 'monitor_alerts', `kind = 'node-down'`)) === 1, 15_000);
    expect(logs.text()).toContain('history store reachable again');
    // State changes and alerts outrank check rows in the bounded buffer: none was lost.
    expect(await pgCount(url, 'monitor_state_changes', `target = 'replica-1' AND to_state = 'down'`)).toBe(1);
    expect(await pgCount(url, 'monitor_deliveries', `kind = 'node-down' AND ok`)).toBe(1);
  });

  it('`chroma-ha monitor report` prints uptime per node and incidents for a period', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const clock = new SimulatedClock(Date.parse('2026-03-01T10:00:00Z'));
    const monitor = await fx.monitor(fx.env(nodes, { CHECK_INTERVAL: '1', FAILURE_THRESHOLD: '2', RECOVERY_THRESHOLD: '1' }), { now: clock.now, start: false });
    const rounds = async (n: number) => {
      for (let i = 0; i < n; i++) {
        await monitor.checkOnce();
        clock.advance(1_000);
      }
    };
    await rounds(10);
    await nodes[1]!.kill();
    await rounds(30); // down from 10:00:10 to 10:00:40
    await nodes[1]!.spawn();
    await rounds(60);
    await monitor.history.flush();

    const env = { ...process.env, DATA_DIR: join(h.dir, 'monitor'), DATABASE_URL: '' };
    const args = [CLI, 'monitor', 'report', '--from', '2026-03-01T10:00:00Z', '--to', '2026-03-01T11:00:00Z'];
    const text = (await run(process.execPath, args, { env })).stdout;
    expect(text).toMatch(/^primary\s+node\s+100\s+100\.000 %/m);
    expect(text).toMatch(/^replica-1\s+node\s+100\s+70\.000 %\s+\S+ ms\s+1\s+30s$/m);
    expect(text).toContain('replica-1: down 2026-03-01T10:00:10.000Z to 2026-03-01T10:00:40.000Z (30s)');
    expect(text).toContain('Notifications: 2 (node-down 2)');
    // A period ending mid-outage counts only its part and shows the outage as still going; a bad period is a clear error.
    const cut = JSON.parse((await run(process.execPath, [CLI, 'monitor', 'report', '--json', '--since', '20s', '--to', '2026-03-01T10:00:30Z'], { env })).stdout);
    expect(cut.incidents).toEqual([expect.objectContaining({ start: Date.parse('2026-03-01T10:00:10Z'), durationSeconds: 20, end: null })]);
    const bad = await run(process.execPath, [CLI, 'monitor', 'report', '--since', 'yesterday'], { env }).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since="yesterday" is not a period');
  });
});
