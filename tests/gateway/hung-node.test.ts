// Acceptance 3: a node that hangs (SIGSTOP: it still accepts connections but never answers). A single-node
// cluster, so a read has nowhere else to go and must reach the hung node: it gets 504 in Chroma's shape at
// REQUEST_TIMEOUT. The node goes down only after FAILURE_THRESHOLD failed checks, and after SIGCONT comes
// back up only after RECOVERY_THRESHOLD successful ones.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor } from '../helpers/cluster.js';

const REQUEST_TIMEOUT_S = 1;
const FALL = 3;
const RISE = 2;

interface Observation {
  health: string;
  consecutiveFailures: number;
}

describe('a primary that hangs (SIGSTOP)', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('times requests out with 504, goes down after FAILURE_THRESHOLD checks and recovers after RECOVERY_THRESHOLD', async () => {
    h = new Harness();
    const node = await h.chroma();
    const gw = await h.gateway([node], {
      REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_S),
      FAILURE_THRESHOLD: String(FALL),
      RECOVERY_THRESHOLD: String(RISE),
    });
    const base = gatewayUrl(gw);
    const created = await http(base, 'POST', COLLECTIONS, { name: 'hung' });
    expect(created.status, created.text).toBe(200);
    const id = created.json.id as string;
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['a', 'b'], embeddings: [[1, 2, 3], [4, 5, 6]] })).status).toBe(201);

    const transitions: Array<{ to: string; reason: string; at: number }> = [];
    gw.events.on('node-health', ({ to, reason, at }) => transitions.push({ to, reason, at }));
    // What /status shows while the node is hung, polled from outside.
    const observations: Observation[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const s = (await http(base, 'GET', '/status')).json;
        observations.push({ health: s.nodes[0].health, consecutiveFailures: s.nodes[0].consecutiveFailures });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    try {
      const stoppedAt = Date.now();
      node.signal('SIGSTOP');

      const started = performance.now();
      const timedOut = await http(base, 'GET', `${COLLECTIONS}/${id}/count`);
      const elapsed = performance.now() - started;
      expect(timedOut.status).toBe(504);
      expect(timedOut.json).toEqual({ error: 'GatewayTimeoutError', message: expect.stringContaining(`${REQUEST_TIMEOUT_S * 1000} ms`) });
      expect(elapsed).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_S * 1000 - 50);
      // Bounded by the timeout, not a hang; the slack is for a busy 2-core machine running other tests.
      expect(elapsed).toBeLessThan(REQUEST_TIMEOUT_S * 1000 + 3_000);

      await waitFor('the hung node to be marked down', () => transitions.some((t) => t.to === 'down'), 20_000);
      await waitFor('/status to show it down', () => observations.some((o) => o.health === 'down'));
      polling = false;
      await poller;
      const down = transitions.find((t) => t.to === 'down')!;
      console.log(`SIGSTOP: 504 after ${Math.round(elapsed)} ms; node marked down ${down.at - stoppedAt} ms after SIGSTOP`);
      expect(down.reason).toMatch(new RegExp(`^${FALL} failed check\\(s\\)`));
      // While up, it never showed FALL failures; it was seen up with a failure streak below FALL before going down.
      expect(observations.filter((o) => o.health === 'up').every((o) => o.consecutiveFailures < FALL)).toBe(true);
      expect(observations.some((o) => o.health === 'up' && o.consecutiveFailures > 0)).toBe(true);
      expect(observations.find((o) => o.health === 'down')!.consecutiveFailures).toBeGreaterThanOrEqual(FALL);

      const health = await http(base, 'GET', '/health');
      expect(health.status).toBe(503);
      expect(health.json.status).toBe('unhealthy');
      const status = (await http(base, 'GET', '/status')).json;
      expect(status.nodes[0]).toMatchObject({ health: 'down', consecutiveFailures: expect.any(Number) });
      expect(status.nodes[0].consecutiveFailures).toBeGreaterThanOrEqual(FALL);
      // A down node is not waited on: the next read is refused at once.
      const refused = await http(base, 'GET', `${COLLECTIONS}/${id}/count`);
      expect(refused.status).toBe(503);
      expect(refused.json.error).toBe('ServiceUnavailableError');
    } finally {
      polling = false;
      await poller;
      node.signal('SIGCONT');
    }

    await waitFor('the node to come back up', () => transitions.some((t) => t.to === 'up'), 20_000);
    expect(transitions.slice(0, 2).map((t) => t.to)).toEqual(['down', 'up']);
    expect(transitions[1]!.reason).toBe(`${RISE} successful check(s)`);
    const status = (await http(base, 'GET', '/status')).json;
    expect(status.nodes[0]).toMatchObject({ health: 'up', consecutiveFailures: 0 });
    // Back up, it serves again once its identity marker is checked (a node that was away may return as anything).
    await waitFor('the gateway healthy again', async () => (await http(base, 'GET', '/health')).json.status === 'healthy', 10_000);
    const count = await http(base, 'GET', `${COLLECTIONS}/${id}/count`);
    expect(count.status).toBe(200);
    expect(count.json).toBe(2);
  });
});
