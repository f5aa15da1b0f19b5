// `chroma-ha notify test` as an operator runs it (the built CLI in a child process): it sends a test
// notification to every configured sink and says, per sink, whether it was accepted; exit 1 if one was not.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cluster.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

const run = promisify(execFile);
const SECRET = 'secret-token-path';

describe('chroma-ha notify test', () => {
  const receivers: WebhookReceiver[] = [];
  afterEach(async () => {
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  it('reports which sinks accepted the test notification', async () => {
    const slack = await WebhookReceiver.start();
    const broken = await WebhookReceiver.start(() => ({ status: 500, body: 'internal' }));
    receivers.push(slack, broken);
    const env = {
      ...process.env,
      NOTIFICATION_WEBHOOK: slack.url(),
      JSON_WEBHOOK_URLS: broken.url(`/hooks/${SECRET}`),
      NOTIFY_MAX_ATTEMPTS: '2',
      NOTIFY_RETRY_DELAY: '0.1',
      CLUSTER_NAME: 'cli-test',
    };
    const result = await run(process.execPath, [CLI, 'notify', 'test'], { env }).catch((e) => e);
    expect(result.code).toBe(1);
    const out: string = result.stdout;
    expect(out).toMatch(/^ {2}accepted {6}slack-1 \(slack, NOTIFICATION_WEBHOOK, http:\/\/127\.0\.0\.1:\d+\/…\): HTTP 200, 1 attempt\(s\)/m);
    expect(out).toMatch(/^ {2}NOT accepted {2}json-1 \(json, JSON_WEBHOOK_URLS, http:\/\/127\.0\.0\.1:\d+\/…\): answered 500: internal, 2 attempt\(s\)/m);
    expect(out).toContain('1 of 2 sink(s) did not accept it.');
    expect(out + result.stderr).not.toContain(SECRET);
    expect(slack.requests).toHaveLength(1);
    expect(slack.requests[0]!.json.text).toContain('cli-test: Test notification from the chroma-ha monitor');
    expect(broken.requests).toHaveLength(2);
    expect(broken.requests[0]!.json).toMatchObject({ schemaVersion: 1, kind: 'test', status: 'notice', cluster: 'cli-test' });
    expect(broken.requests[0]!.headers['x-chroma-ha-schema-version']).toBe('1');

    broken.respond = () => ({ status: 204 });
    const ok = await run(process.execPath, [CLI, 'notify', 'test'], { env });
    expect(ok.stdout).toContain('Every sink accepted the test notification.');
  });

  it('fails at once, naming the variable, on a malformed webhook or none at all', async () => {
    const bad = await run(process.execPath, [CLI, 'notify', 'test'], { env: { ...process.env, JSON_WEBHOOK_URLS: `hooks.example.com/${SECRET}` } }).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('configuration error: JSON_WEBHOOK_URLS=(hidden) is invalid');
    expect(bad.stderr).not.toContain(SECRET);
    const none = await run(process.execPath, [CLI, 'notify', 'test'], { env: { ...process.env, NOTIFICATION_WEBHOOK: '', SLACK_WEBHOOK_URLS: '', JSON_WEBHOOK_URLS: '' } }).catch((e) => e);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no notification sink configured');
  });
});
