// Acceptance 4: Slack payloads validate against the Block Kit shape used (blocks + text fallback, severity
// visible) and generic payloads against their documented JSON Schema, for every kind and status the
// detector produces. The alerts come from the real detector fed with a scripted sequence of check results.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { nodeConfig } from '../../src/config/load.js';
import { Detector } from '../../src/monitor/detector.js';
import type { GatewayProbe, GatewayStatusView } from '../../src/monitor/probe.js';
import type { Alert } from '../../src/notify/alert.js';
import { jsonPayload, jsonPayloadSchema } from '../../src/notify/json-payload.js';
import { slackPayload, SLACK_LIMITS } from '../../src/notify/slack.js';
import { testAlert } from '../../src/notify/test-alert.js';

/** The subset of Block Kit the Slack sink uses, with Slack's documented limits. */
const blockKitSchema = {
  type: 'object',
  required: ['text', 'blocks'],
  additionalProperties: false,
  properties: {
    text: { type: 'string', minLength: 1, maxLength: SLACK_LIMITS.text },
    blocks: {
      type: 'array',
      minItems: 1,
      maxItems: 50,
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'text'],
            properties: {
              type: { const: 'header' },
              text: {
                type: 'object',
                additionalProperties: false,
                required: ['type', 'text'],
                properties: { type: { const: 'plain_text' }, text: { type: 'string', minLength: 1, maxLength: 150 }, emoji: { type: 'boolean' } },
              },
            },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'text'],
            properties: {
              type: { const: 'section' },
              text: { $ref: '#/definitions/mrkdwn3000' },
              fields: { type: 'array', minItems: 1, maxItems: 10, items: { $ref: '#/definitions/mrkdwn2000' } },
            },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['type', 'elements'],
            properties: { type: { const: 'context' }, elements: { type: 'array', minItems: 1, maxItems: 10, items: { $ref: '#/definitions/mrkdwn2000' } } },
          },
        ],
      },
    },
  },
  definitions: {
    mrkdwn3000: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'text'],
      properties: { type: { const: 'mrkdwn' }, text: { type: 'string', minLength: 1, maxLength: 3000 } },
    },
    mrkdwn2000: {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'text'],
      properties: { type: { const: 'mrkdwn' }, text: { type: 'string', minLength: 1, maxLength: 2000 } },
    },
  },
};

const ok = { ok: true, latencyMs: 2, error: null };
const fail = { ok: false, latencyMs: null, error: 'connect ECONNREFUSED 127.0.0.1:9' };

function statusView(over: { count?: number; last?: GatewayStatusView['failovers']['last']; replica?: Partial<GatewayStatusView['nodes'][number]>; primaryName?: string }): GatewayStatusView {
  const node = (name: string, port: number, role: 'primary' | 'replica'): GatewayStatusView['nodes'][number] => ({
    name,
    url: `http://127.0.0.1:${port}`,
    role,
    priority: 0,
    health: 'up',
    healthSince: new Date(0).toISOString(),
    consecutiveFailures: 0,
    consecutiveSuccesses: 1,
    lastCheck: null,
    latencyMs: 1,
    lastError: null,
    appliedPosition: 10,
    lagEntries: 0,
    lagSeconds: 0,
    syncState: 'in-sync',
    divergedReason: null,
    inFlight: 0,
  });
  const primaryName = over.primaryName ?? 'primary';
  return {
    status: 'healthy',
    version: '0.0.0',
    uptimeSeconds: 1,
    primary: primaryName,
    epoch: over.count ?? 0,
    failovers: { count: over.count ?? 0, last: over.last ?? null },
    nodes: [
      node('primary', 9001, primaryName === 'primary' ? 'primary' : 'replica'),
      { ...node('replica-1', 9002, primaryName === 'replica-1' ? 'primary' : 'replica'), ...over.replica },
    ],
    log: { store: 'sqlite', storeReachable: true, head: 10, committedHead: 10, entries: 10, bytes: 100, pendingWrites: 0 },
  };
}

const gw = (status: GatewayStatusView | null, reachable = true): GatewayProbe =>
  reachable
    ? { ok: true, latencyMs: 3, error: null, healthCode: 200, healthStatus: 'healthy', status, statusError: null }
    : { ok: false, latencyMs: null, error: 'connect ECONNREFUSED', healthCode: null, healthStatus: null, status: null, statusError: null };

/** Drives the detector through every kind of event; returns every alert it raised. */
function scriptedAlerts(): Alert[] {
  const nodes = [nodeConfig('http://127.0.0.1:9001', 0, undefined), nodeConfig('http://user:pw@127.0.0.1:9002', 1, undefined)];
  const gateway = { ...nodeConfig('http://127.0.0.1:9000', 0, undefined), name: 'gateway' };
  const d = new Detector(
    { clusterName: 'payload-test', failureThreshold: 2, recoveryThreshold: 1, reminderIntervalMs: 10_000, flapWindowMs: 60_000, flapThreshold: 3, lagThresholdSeconds: 60, lagThresholdEntries: 5 },
    gateway,
  );
  const alerts: Alert[] = [];
  let t = Date.parse('2026-01-01T00:00:00Z');
  const step = (p: boolean, r: boolean, g: GatewayProbe | null) => {
    t += 1000;
    alerts.push(...d.observe({ at: t, nodes: [{ config: nodes[0]!, result: p ? ok : fail }, { config: nodes[1]!, result: r ? ok : fail }], gateway: g }).alerts);
  };
  const base = statusView({});
  step(true, true, gw(base));
  step(true, false, gw(base));
  step(true, false, gw(base)); // replica down
  for (let i = 0; i < 10; i++) step(true, false, gw(base)); // reminder
  step(true, true, gw(base)); // recovered
  step(false, false, gw(base));
  step(false, false, gw(base)); // both down, all nodes down, replica flapping (3 changes)
  step(true, true, gw(base)); // all recovered
  step(true, true, gw(null, false));
  step(true, true, gw(null, false)); // gateway unreachable
  step(true, true, gw(base)); // reachable
  const failover = { at: t, from: 'primary', to: 'replica-1', reason: 'primary primary is down: refused', kind: 'failover' as const };
  step(true, true, gw(statusView({ count: 1, last: failover, primaryName: 'replica-1' })));
  const switchover = { at: t, from: 'replica-1', to: 'primary', reason: 'primary has priority 100', kind: 'switchover' as const };
  step(true, true, gw(statusView({ count: 2, last: switchover })));
  const lagging = statusView({ count: 2, last: switchover, replica: { lagEntries: 9, lagSeconds: 3 } });
  step(true, true, gw(lagging));
  step(true, true, gw(lagging)); // lag firing
  step(true, true, gw(statusView({ count: 2, last: switchover }))); // caught up
  const diverged = statusView({ count: 2, last: switchover, replica: { syncState: 'diverged', divergedReason: 'entry 7 (add): answered 404' } });
  step(true, true, gw(diverged));
  step(true, true, gw(statusView({ count: 2, last: switchover }))); // repaired
  t += 61_000;
  step(true, true, gw(base)); // stable for a flapping window
  alerts.push(testAlert('payload-test', t));
  return alerts;
}

describe('notification payloads', () => {
  const alerts = scriptedAlerts();
  const ajv = new Ajv({ allErrors: true, strict: false });

  it('covers every kind and status the monitor sends', () => {
    const seen = new Set(alerts.map((a) => `${a.kind}/${a.status}`));
    expect([...seen].sort()).toEqual(
      [
        'node-down/firing', 'node-down/reminder', 'node-down/resolved', 'node-flapping/firing', 'node-flapping/reminder', 'node-flapping/resolved',
        'all-nodes-down/firing', 'all-nodes-down/resolved', 'gateway-unreachable/firing', 'gateway-unreachable/resolved',
        'failover/notice', 'switchover/notice', 'replica-lag/firing', 'replica-lag/resolved', 'node-diverged/firing',
        'node-diverged/resolved', 'test/notice',
      ].sort(),
    );
  });

  it('Slack payloads validate against the Block Kit shape, with severity visible and a text fallback', () => {
    const validate = ajv.compile(blockKitSchema);
    for (const alert of alerts) {
      const payload = slackPayload(alert);
      expect(validate(payload), `${alert.kind}/${alert.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      const header = (payload.blocks[0] as any).text.text as string;
      expect(header).toContain(alert.severity.toUpperCase());
      expect(header.codePointAt(0)).toBeGreaterThan(0x2000); // starts with the severity (or resolved) emoji
      expect(payload.text).toContain(alert.severity.toUpperCase());
      expect(payload.text).toContain(alert.title);
      // Credentials in a node URL never reach a notification.
      expect(JSON.stringify(payload)).not.toContain('user:pw');
    }
    const critical = slackPayload(alerts.find((a) => a.kind === 'all-nodes-down' && a.status === 'firing')!);
    expect((critical.blocks[0] as any).text.text).toMatch(/^🔴 CRITICAL: /);
    const resolved = slackPayload(alerts.find((a) => a.kind === 'node-down' && a.status === 'resolved')!);
    expect((resolved.blocks[0] as any).text.text).toMatch(/^✅ INFO · RESOLVED: Recovered: replica-1 \(down for /);
  });

  it('generic payloads validate against the documented JSON Schema, version 1', () => {
    const validate = ajv.compile(jsonPayloadSchema);
    for (const alert of alerts) {
      const payload = jsonPayload(alert);
      expect(validate(payload), `${alert.kind}/${alert.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      expect(payload.schemaVersion).toBe(1);
      expect(payload.checks.length).toBeGreaterThan(0);
    }
    // The schema is strict enough to catch a broken payload.
    const good = jsonPayload(alerts[0]!);
    expect(validate({ ...good, schemaVersion: 2 })).toBe(false);
    const { severity: _dropped, ...withoutSeverity } = good;
    expect(validate(withoutSeverity)).toBe(false);
    expect(validate({ ...good, extra: true })).toBe(false);
  });

  it('the schema printed in docs/monitoring.md is the one the code sends', () => {
    const doc = readFileSync(new URL('../../docs/monitoring.md', import.meta.url), 'utf8');
    const block = /<!-- json-schema:start -->\s*```json\n([\s\S]*?)```\s*<!-- json-schema:end -->/.exec(doc);
    expect(block, 'docs/monitoring.md has the schema between json-schema markers').not.toBeNull();
    expect(JSON.parse(block![1]!)).toEqual(JSON.parse(JSON.stringify(jsonPayloadSchema)));
  });

  it('every notification says what happened, since when, and what to check', () => {
    for (const a of alerts) {
      expect(a.title.length).toBeGreaterThan(5);
      expect(a.summary).toMatch(/\d{4}-\d{2}-\d{2}T|Nothing is wrong/);
      expect(a.checks.length).toBeGreaterThan(0);
    }
    const recovered = alerts.find((a) => a.kind === 'node-down' && a.status === 'resolved')!;
    expect(recovered.durationSeconds).toBe(12); // first failure at +2 s, first success at +14 s
    const failover = alerts.find((a) => a.kind === 'failover')!;
    expect(failover.details).toMatchObject({ from: 'primary', to: 'replica-1' });
    expect(failover.title).toBe('Failover: replica-1 is now primary (was primary)');
  });
});
