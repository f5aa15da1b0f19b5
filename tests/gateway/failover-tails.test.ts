// Issue 11, acceptance 5 (failover tails), with the product's default health settings and an open-loop
// client stream (a read every 10 ms: heartbeat, count and get in turn; a write every 20 ms):
// - kill -9 of the primary and a restart about 2 s later: no client error (heartbeats included) and no
//   write waiting over 1 s, through the failover and the failback;
// - SIGSTOP of the primary: writes resume within 1.5 s (a stalled write counts as a failed check, and
//   probe timeouts follow the node's observed latency instead of a fixed second);
// - a node slowed to 5× its usual latency (a delaying TCP proxy in front of it) is not failed over.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { OpenLoopStream } from '../helpers/open-loop.js';
import { gatewaySettings } from '../../src/config/settings.js';
import type { Gateway } from '../../src/gateway/gateway.js';

/** The health settings a user gets without setting any (FAST_HEALTH is for tests of other things). */
const DEFAULT_HEALTH = Object.fromEntries(
  (['CHECK_INTERVAL', 'FAST_CHECK_INTERVAL', 'FAILURE_THRESHOLD', 'RECOVERY_THRESHOLD', 'HEALTH_CHECK_TIMEOUT', 'HEALTH_CHECK_MIN_TIMEOUT'] as const).map((k) => [
    k,
    gatewaySettings[k].default,
  ]),
);

async function createCollection(base: string, name: string): Promise<string> {
  const created = await http(base, 'POST', COLLECTIONS, { name });
  expect(created.status, created.text).toBe(200);
  return created.json.id as string;
}

/** Every acknowledged write is on the current primary (read through the gateway, which reads your writes). */
async function expectAllAcked(base: string, id: string, acked: string[]): Promise<void> {
  const r = await http(base, 'POST', `${COLLECTIONS}/${id}/get`, { ids: acked, include: [] });
  expect(r.status, r.text).toBe(200);
  expect(new Set(r.json.ids).size).toBe(acked.length);
}

const primaryName = (gw: Gateway) => gw.cluster.primary.name;
const elapsedSince = (t: number) => () => performance.now() - t;

describe('failover tails under an open-loop stream', () => {
  let h: Harness;
  let stream: OpenLoopStream | undefined;
  afterEach(async () => {
    await stream?.stop();
    stream = undefined;
    await h.cleanup();
  });

  it('kill -9 of the primary and its restart: no client error, no write waits over 1 s', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes, DEFAULT_HEALTH);
    const base = gatewayUrl(gw);
    const id = await createCollection(base, 'tails-kill');
    stream = new OpenLoopStream(base, id, { readEveryMs: 10, writeEveryMs: 20 });
    stream.start();
    await waitFor('writes acknowledged by the primary', () => stream!.writeSamples.filter((s) => s.ok && s.node === 'primary').length >= 25);

    const killedAt = performance.now();
    await nodes[0]!.kill();
    await waitFor('the replica to be promoted', () => primaryName(gw) === 'replica-1');
    const promotedAt = performance.now();
    await waitFor('about 2 s to pass', () => elapsedSince(killedAt)() >= 2_000);
    await nodes[0]!.spawn();
    const restartedAt = performance.now();
    await waitFor('the old primary to take its role back', () => primaryName(gw) === 'primary', 30_000);
    const failbackAt = performance.now();
    await waitFor('writes acknowledged by the old primary again', () => stream!.writeSamples.filter((s) => s.ok && s.startedAt > failbackAt && s.node === 'primary').length >= 25, 15_000);
    await stream.stop();

    const failures = stream.failures;
    const around = (t: number) => stream!.maxWriteMs(t - 1_000, t + 1_000);
    console.log(
      `kill -9 + restart: ${stream.samples.length} requests (${stream.writeSamples.length} writes), ${failures.length} failed; ` +
        `promoted ${Math.round(promotedAt - killedAt)} ms after the kill, failback ${Math.round(failbackAt - restartedAt)} ms after the restart; ` +
        `longest write: ${Math.round(stream.maxWriteMs())} ms (around the kill ${Math.round(around(killedAt))} ms, around the failback ${Math.round(around(failbackAt))} ms)`,
    );
    expect(failures.map((f) => `${f.kind}: ${f.detail}`)).toEqual([]);
    expect(stream.maxWriteMs()).toBeLessThan(1_000);
    expect(gw.cluster.failoverCount).toBe(2);
    await expectAllAcked(base, id, stream.ackedIds());
  });

  it('SIGSTOP of the primary: writes resume within 1.5 s and none fails', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    // Reads caught on the hung node end at REQUEST_TIMEOUT (504); they are not what this test measures.
    const gw = await h.gateway(nodes, { ...DEFAULT_HEALTH, REQUEST_TIMEOUT: '3' });
    const base = gatewayUrl(gw);
    const id = await createCollection(base, 'tails-stop');
    stream = new OpenLoopStream(base, id, { readEveryMs: 10, writeEveryMs: 20 });
    stream.start();
    await waitFor('writes acknowledged by the primary', () => stream!.writeSamples.filter((s) => s.ok && s.node === 'primary').length >= 25);

    const stoppedAt = performance.now();
    nodes[0]!.signal('SIGSTOP');
    try {
      await waitFor('the replica to be promoted', () => primaryName(gw) === 'replica-1', 10_000);
      const promotedAt = performance.now();
      await waitFor('writes acknowledged by the new primary', () => stream!.writeSamples.filter((s) => s.ok && s.node === 'replica-1').length >= 25);
      await stream.stop();
      const writes = stream.writeSamples;
      const resumedAt = Math.min(...writes.filter((s) => s.ok && s.node === 'replica-1').map((s) => s.endedAt));
      const readFailures = stream.failures.filter((s) => s.kind !== 'write');
      console.log(
        `SIGSTOP: promoted ${Math.round(promotedAt - stoppedAt)} ms after the stop; first write acknowledged by the new primary ` +
          `${Math.round(resumedAt - stoppedAt)} ms after it; longest write ${Math.round(stream.maxWriteMs())} ms; ` +
          `${writes.filter((s) => !s.ok).length} failed writes of ${writes.length}; ${readFailures.length} reads caught on the hung node`,
      );
      expect(writes.filter((s) => !s.ok).map((s) => s.detail)).toEqual([]);
      expect(resumedAt - stoppedAt).toBeLessThan(1_500);
      expect(stream.maxWriteMs()).toBeLessThan(1_500);
      expect(gw.failover.lastAction?.reason).toMatch(/primary primary is down/);
      await expectAllAcked(base, id, stream.ackedIds());
    } finally {
      nodes[0]!.signal('SIGCONT');
    }
  });

  it('a primary slowed to 5× its usual latency is not failed over', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const proxy = await h.tcpProxy('127.0.0.1', nodes[0]!.port);
    // About 50 ms per heartbeat, 250 ms slowed: above HEALTH_CHECK_MIN_TIMEOUT (a fixed timeout there would fail
    // the node), well under HEALTH_CHECK_TIMEOUT (which caps the adaptive bound), with room for a busy machine.
    const BASE_DELAY_MS = 25;
    proxy.setDelay(BASE_DELAY_MS);
    const gw = await h.gateway([{ url: `http://127.0.0.1:${proxy.port}` }, nodes[1]!], DEFAULT_HEALTH);
    const base = gatewayUrl(gw);
    const id = await createCollection(base, 'tails-slow');
    const downs: string[] = [];
    gw.events.on('node-health', ({ node, to, reason }) => to === 'down' && downs.push(`${node}: ${reason}`));
    // Writes are spaced so that even the slowed primary keeps up with them.
    stream = new OpenLoopStream(base, id, { readEveryMs: 20, writeEveryMs: 600 });
    stream.start();
    await waitFor('the primary\'s usual latency to be learned', () => stream!.writeSamples.filter((s) => s.ok && s.node === 'primary').length >= 6);
    const usual = { probe: gw.health.probeTimeoutMs(gw.cluster.primary), writeMs: gw.health.usualWriteMs(gw.cluster.primary)! };

    proxy.setDelay(5 * BASE_DELAY_MS);
    const slowedAt = performance.now();
    await waitFor(
      'several writes and probes of the slowed primary',
      () => elapsedSince(slowedAt)() >= 5_000 && stream!.writeSamples.filter((s) => s.ok && s.startedAt > slowedAt && s.node === 'primary').length >= 6,
      20_000,
    );
    await stream.stop();
    const slowWrites = stream.writeSamples.filter((s) => s.startedAt > slowedAt && s.ok).map((s) => s.endedAt - s.startedAt);
    const slowed = { probe: gw.health.probeTimeoutMs(gw.cluster.primary), writeMs: gw.health.usualWriteMs(gw.cluster.primary)! };
    console.log(
      `slowed 5×: usual write ${usual.writeMs} ms -> ${slowed.writeMs} ms (slowest ${Math.round(Math.max(...slowWrites))} ms); ` +
        `probe timeout ${usual.probe} ms -> ${slowed.probe} ms; ${downs.length} down transitions`,
    );
    expect(downs).toEqual([]);
    // The slowdown was real: a write crosses the proxy twice, each way held 5× BASE_DELAY_MS.
    expect(slowed.writeMs).toBeGreaterThanOrEqual(2 * 5 * BASE_DELAY_MS);
    expect(primaryName(gw)).toBe('primary');
    expect(gw.cluster.failoverCount).toBe(0);
    expect(stream.failures.map((f) => `${f.kind}: ${f.detail}`)).toEqual([]);
  });
});
