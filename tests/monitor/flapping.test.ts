// Acceptance 2 (real time): a replica that goes down and up every 2 s for 30 s (SIGSTOP / SIGCONT of the
// real Chroma process) yields one "flapping" notification, not a storm; once it stays up for a whole
// flapping window, one "stable again". The history shows it really changed state many times.
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from '../helpers/cluster.js';
import { MonitorFixture, ofKind } from '../helpers/monitor.js';

describe('monitor: a flapping node', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('reports flapping once instead of a storm of down/recovered', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const hook = await fx.receiver();
    const monitor = await fx.monitor(
      fx.env(nodes, {
        CHECK_INTERVAL: '0.4',
        FAILURE_THRESHOLD: '2',
        RECOVERY_THRESHOLD: '1',
        FLAP_WINDOW: '8',
        FLAP_THRESHOLD: '3',
        JSON_WEBHOOK_URLS: hook.url(),
      }),
    );
    await waitFor('both nodes up', () => monitor.detector.nodeState('replica-1') === 'up' && monitor.detector.nodeState('primary') === 'up');

    const replica = nodes[1]!;
    const end = Date.now() + 30_000;
    let stopped = false;
    while (Date.now() < end) {
      replica.signal(stopped ? 'SIGCONT' : 'SIGSTOP');
      stopped = !stopped;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    if (stopped) replica.signal('SIGCONT');
    const flappingEnded = Date.now();

    const [stable] = await hook.waitForRequests(1, 'stable again', 15_000, ofKind('node-flapping', 'resolved'));
    expect(stable!.at - flappingEnded).toBeGreaterThanOrEqual(7_000); // only after a whole quiet window (8 s)
    expect(stable!.json).toMatchObject({ severity: 'info', details: { state: 'up' } });

    await monitor.history.flush();
    const changes = (await monitor.history.store.stateChanges(Date.now() + 1)).filter((c) => c.target === 'replica-1' && c.fromState !== 'unknown');
    expect(changes.length).toBeGreaterThanOrEqual(10); // it really went down and up about 15 times...

    // What people heard about replica-1 up to the "stable again" notification: at most the down and recovered
    // before flapping was recognised (FLAP_THRESHOLD - 1 changes), one flapping, and nothing while it flapped.
    const about = hook.requests.filter((r) => r.json.target.name === 'replica-1' && r.at <= stable!.at).map((r) => `${r.json.kind}/${r.json.status}`);
    const flappingAt = about.indexOf('node-flapping/firing');
    expect(about.filter((k) => k === 'node-flapping/firing')).toHaveLength(1);
    expect(about.slice(0, flappingAt).every((k) => k.startsWith('node-down/'))).toBe(true);
    expect(flappingAt).toBeLessThanOrEqual(2);
    expect(about.slice(flappingAt + 1)).toEqual(['node-flapping/resolved']);
    expect(hook.matching(ofKind('node-flapping', 'firing'))).toHaveLength(1);
    const flapping = hook.matching(ofKind('node-flapping', 'firing'))[0]!.json;
    expect(flapping.summary).toContain('Notifications for replica-1 are paused');
    expect(hook.requests.filter((r) => r.json.target.name === 'primary')).toHaveLength(0);
    console.info(`replica-1 changed state ${changes.length} times; ${about.length} notifications were sent about it`);
  });
});
