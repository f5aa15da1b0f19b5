// The monitor's configuration: the guide's variables and defaults, fractional seconds, and start-up errors
// that name the variable at fault.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { loadMonitorConfig, monitorSettings } from '../../src/config/monitor-settings.js';

describe('monitor configuration', () => {
  it('reads the guide\'s variables with their defaults', () => {
    const c = loadMonitorConfig({
      PRIMARY_URL: 'https://chroma-primary.onrender.com',
      REPLICA_URL: 'https://user:secret@chroma-replica.onrender.com',
      LOAD_BALANCER_URL: 'https://chroma-load-balancer.onrender.com',
      NOTIFICATION_WEBHOOK: 'https://hooks.slack.com/services/YOUR/WEBHOOK',
      DATABASE_URL: 'postgres://user:pass@hostname:5432/database',
    });
    expect(c.nodes.map((n) => [n.name, n.url])).toEqual([
      ['primary', 'https://chroma-primary.onrender.com'],
      ['replica-1', 'https://chroma-replica.onrender.com'],
    ]);
    expect(c.nodes[1]!.authHeaders.authorization).toBe(`Basic ${Buffer.from('user:secret').toString('base64')}`);
    expect(c.gateway?.url).toBe('https://chroma-load-balancer.onrender.com');
    expect(c).toMatchObject({
      checkIntervalMs: 30_000,
      checkTimeoutMs: 5_000,
      failureThreshold: 3,
      recoveryThreshold: 2,
      reminderIntervalMs: 3_600_000,
      historyRetentionMs: 30 * 86_400_000,
      metricsPort: 9470,
      databaseUrl: 'postgres://user:pass@hostname:5432/database',
      sinks: [{ name: 'slack-1', kind: 'slack', variable: 'NOTIFICATION_WEBHOOK' }],
    });
  });

  it('watches a node named in both REPLICA_URL and REPLICA_URLS once, and sends NODE_TOKEN to the nodes only', () => {
    const token = 't'.repeat(24);
    const c = loadMonitorConfig({
      PRIMARY_URL: 'chroma-primary:8000',
      REPLICA_URL: 'chroma-replica:8000',
      REPLICA_URLS: 'http://chroma-replica:8000',
      LOAD_BALANCER_URL: 'chroma-load-balancer:8000',
      NODE_TOKEN: token,
    });
    expect(c.nodes.map((n) => [n.name, n.url, n.authHeaders.authorization])).toEqual([
      ['primary', 'http://chroma-primary:8000', `Bearer ${token}`],
      ['replica-1', 'http://chroma-replica:8000', `Bearer ${token}`],
    ]);
    expect(c.gateway?.authHeaders).toEqual({});
  });

  it('accepts fractional seconds and caps the check timeout at the interval', () => {
    const c = loadMonitorConfig({ PRIMARY_URL: 'http://127.0.0.1:1', CHECK_INTERVAL: '0.2', REMINDER_INTERVAL: '0', HISTORY_RETENTION_DAYS: '0.5' });
    expect(c.checkIntervalMs).toBe(200);
    expect(c.checkTimeoutMs).toBe(200);
    expect(c.reminderIntervalMs).toBe(0);
    expect(c.historyRetentionMs).toBe(43_200_000);
  });

  it('names the variable at fault', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{}, /^PRIMARY_URL is required/],
      [{ PRIMARY_URL: 'http://a:1', CHECK_INTERVAL: 'soon' }, /^CHECK_INTERVAL="soon" is invalid/],
      [{ PRIMARY_URL: 'http://a:1', FAILURE_THRESHOLD: '0' }, /^FAILURE_THRESHOLD="0" is invalid/],
      [{ PRIMARY_URL: 'http://a:1', LOAD_BALANCER_URL: 'ftp://x' }, /^LOAD_BALANCER_URL="ftp:\/\/x" is invalid/],
      [{ PRIMARY_URL: 'http://a:1', DATABASE_URL: 'mysql://u:p@h/d' }, /^DATABASE_URL=\(hidden\) is invalid/],
      [{ PRIMARY_URL: 'http://a:1', REPLICA_URLS: 'http://a:1' }, /^REPLICA_URL\/REPLICA_URLS name http:\/\/a:1, which is PRIMARY_URL/],
      [{ PRIMARY_URL: 'http://a:1', MONITOR_METRICS_PORT: '70000' }, /^MONITOR_METRICS_PORT="70000" is invalid/],
    ];
    for (const [env, message] of cases) {
      expect(() => loadMonitorConfig(env)).toThrowError(ConfigError);
      expect(() => loadMonitorConfig(env)).toThrowError(message);
    }
  });

  it('every setting is in the configuration table of docs/monitoring.md, with its default', () => {
    const doc = readFileSync(new URL('../../docs/monitoring.md', import.meta.url), 'utf8');
    for (const setting of Object.values(monitorSettings)) {
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${setting.env}\` |`));
      expect(row, setting.env).toBeDefined();
      if ('default' in setting) expect(row, setting.env).toContain(`| \`${setting.default}\` |`);
    }
  });
});
