// Delivery to webhooks against a real local HTTP receiver: 429 + Retry-After honoured and delivered once,
// 5xx retried with backoff up to the bound then recorded as failed, other 4xx not retried, a hanging sink
// bounded by the timeout and never holding up send() or the other sinks, and webhook URLs kept out of logs.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { loadMonitorConfig, loadNotifyConfig, type SinkConfig } from '../../src/config/monitor-settings.js';
import { parseRetryAfter } from '../../src/notify/delivery.js';
import { Notifier, type DeliveryRecord } from '../../src/notify/notifier.js';
import { testAlert } from '../../src/notify/test-alert.js';
import { waitFor } from '../helpers/cluster.js';
import { capturingLogger } from '../helpers/monitor.js';
import { WebhookReceiver, type Responder } from '../helpers/webhook-receiver.js';

const SECRET = 'secret-token-path';

describe('notification delivery', () => {
  const receivers: WebhookReceiver[] = [];
  const notifiers: Notifier[] = [];
  afterEach(async () => {
    await Promise.all(notifiers.splice(0).map((n) => n.stop(0)));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  async function receiver(respond?: Responder): Promise<WebhookReceiver> {
    const r = await WebhookReceiver.start(respond);
    receivers.push(r);
    return r;
  }

  function notifier(sinks: SinkConfig[], delivery: { timeoutMs: number; maxAttempts: number; retryDelayMs: number }) {
    const logs = capturingLogger('debug');
    const records: DeliveryRecord[] = [];
    const n = new Notifier({ sinks, delivery, logger: logs.logger, onDelivery: (r) => records.push(r) });
    notifiers.push(n);
    return { n, records, logs };
  }

  const slack = (r: WebhookReceiver, name = 'slack-1'): SinkConfig => ({ name, kind: 'slack', url: r.url(), variable: 'NOTIFICATION_WEBHOOK' });
  const json = (r: WebhookReceiver, name = 'json-1'): SinkConfig => ({ name, kind: 'json', url: r.url(), variable: 'JSON_WEBHOOK_URLS' });

  it('waits for Retry-After on 429 and then delivers exactly once', async () => {
    const r = await receiver((req) => (req.index === 0 ? { status: 429, headers: { 'retry-after': '2' }, body: 'rate_limited' } : { status: 200, body: 'ok' }));
    const { n, records, logs } = notifier([slack(r)], { timeoutMs: 2_000, maxAttempts: 5, retryDelayMs: 100 });
    n.send(testAlert('delivery-test'));
    const [rec] = await waitFor('the delivery outcome', () => (records.length > 0 ? records : null));
    expect(rec).toMatchObject({ ok: true, attempts: 2, httpStatus: 200, sink: 'slack-1' });
    expect(r.requests).toHaveLength(2);
    const waited = r.requests[1]!.at - r.requests[0]!.at;
    expect(waited).toBeGreaterThanOrEqual(1_950); // Retry-After: 2, not the 100 ms backoff
    expect(waited).toBeLessThan(3_500);
    expect(r.requests[0]!.body).toBe(r.requests[1]!.body); // the same notification, delivered once
    expect(logs.text()).not.toContain(SECRET);
  });

  it('retries a sink answering 500 with backoff, gives up after the bound and records the failure', async () => {
    const r = await receiver(() => ({ status: 500, body: 'boom' }));
    const { n, records, logs } = notifier([json(r)], { timeoutMs: 1_000, maxAttempts: 3, retryDelayMs: 100 });
    n.send(testAlert('delivery-test'));
    const [rec] = await waitFor('the failed outcome', () => (records.length > 0 ? records : null));
    expect(rec).toMatchObject({ ok: false, attempts: 3, httpStatus: 500, error: 'answered 500: boom', dropped: false });
    expect(r.requests).toHaveLength(3);
    const gaps = [r.requests[1]!.at - r.requests[0]!.at, r.requests[2]!.at - r.requests[1]!.at];
    expect(gaps[0]).toBeGreaterThanOrEqual(75); // 100 ms -20 % jitter
    expect(gaps[1]).toBeGreaterThanOrEqual(150); // doubled
    expect(logs.text()).toContain('giving up');
    expect(logs.text()).toContain('127.0.0.1'); // the host is shown...
    expect(logs.text()).not.toContain(SECRET); // ...the secret path never
  });

  it('does not retry a sink that refuses the payload for good (4xx other than 408/429)', async () => {
    const r = await receiver(() => ({ status: 404, body: 'no_service' }));
    const { n, records } = notifier([slack(r)], { timeoutMs: 1_000, maxAttempts: 5, retryDelayMs: 50 });
    n.send(testAlert('delivery-test'));
    const [rec] = await waitFor('the failed outcome', () => (records.length > 0 ? records : null));
    expect(rec).toMatchObject({ ok: false, attempts: 1, httpStatus: 404 });
    expect(r.requests).toHaveLength(1);
  });

  it('a hanging sink is bounded by the timeout and holds up neither send() nor the other sinks', async () => {
    const dead = await receiver(() => ({ hang: true }));
    const good = await receiver();
    const other = await receiver();
    const { n, records, logs } = notifier([json(dead, 'json-1'), slack(good), json(other, 'json-2')], { timeoutMs: 500, maxAttempts: 2, retryDelayMs: 100 });
    const started = performance.now();
    for (let i = 0; i < 3; i++) n.send(testAlert('delivery-test'));
    expect(performance.now() - started).toBeLessThan(500); // queued: awaiting the dead sink would take its 500 ms timeout
    await good.waitForRequests(3, 'all three notifications', 2_000);
    await other.waitForRequests(3, 'all three notifications', 2_000);
    expect(dead.open).toBe(1); // meanwhile the dead sink still holds the first one
    expect(n.pending('json-1')).toBe(3);
    // The dead sink's three notifications each fail after 2 attempts of 500 ms.
    const failed = await waitFor('the dead sink to give up on all three', () => {
      const f = records.filter((x) => x.sink === 'json-1');
      return f.length === 3 ? f : null;
    }, 10_000);
    for (const f of failed) expect(f).toMatchObject({ ok: false, attempts: 2, httpStatus: null, error: 'no answer within 500 ms' });
    expect(dead.requests).toHaveLength(6);
    expect(records.filter((x) => x.ok)).toHaveLength(6);
    expect(logs.text()).not.toContain(SECRET);
  });

  it('reads Retry-After as seconds or an HTTP date, capped at 5 minutes', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2_000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('86400', now)).toBe(300_000);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });

  it('rejects a malformed webhook URL at start-up, naming the variable and not echoing the value', () => {
    const base = { PRIMARY_URL: 'http://127.0.0.1:8000' };
    for (const [variable, value] of [
      ['NOTIFICATION_WEBHOOK', 'hooks.slack.com/services/T/B/secret-token-path'],
      ['SLACK_WEBHOOK_URLS', 'https://hooks.slack.com/services/x,ftp://secret-token-path'],
      ['JSON_WEBHOOK_URLS', 'not a url secret-token-path'],
    ] as const) {
      expect(() => loadMonitorConfig({ ...base, [variable]: value })).toThrowError(ConfigError);
      try {
        loadNotifyConfig({ [variable]: value });
        expect.unreachable();
      } catch (err) {
        expect((err as Error).message).toMatch(new RegExp(`^${variable}=\\(hidden\\) is invalid`));
        expect((err as Error).message).not.toContain(SECRET);
      }
    }
    const ok = loadNotifyConfig({ NOTIFICATION_WEBHOOK: 'https://hooks.slack.com/a', SLACK_WEBHOOK_URLS: 'https://hooks.slack.com/b', JSON_WEBHOOK_URLS: 'http://x/1, http://y/2' });
    expect(ok.sinks.map((s) => `${s.name}:${s.kind}:${s.variable}`)).toEqual([
      'slack-1:slack:NOTIFICATION_WEBHOOK',
      'slack-2:slack:SLACK_WEBHOOK_URLS',
      'json-1:json:JSON_WEBHOOK_URLS',
      'json-2:json:JSON_WEBHOOK_URLS',
    ]);
  });
});
