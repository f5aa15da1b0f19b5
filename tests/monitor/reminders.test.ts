// Acceptance 1, second half: a 5-minute outage of a real (killed) Chroma node, checked every simulated
// second. The monitor's clock is driven by the test, so 300 rounds of real checks run in a few seconds;
// the receiver gets one "down", no more reminders than REMINDER_INTERVAL allows, and one "recovered".
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../helpers/cluster.js';
import { MonitorFixture, ofKind, SimulatedClock } from '../helpers/monitor.js';

describe('monitor: a long outage in simulated time', () => {
  let h: Harness;
  let fx: MonitorFixture;
  afterEach(async () => {
    await fx.cleanup();
    await h.cleanup();
  });

  it('sends one down, at most the configured reminders over 5 minutes, and one recovered', async () => {
    h = new Harness();
    fx = new MonitorFixture(h);
    const nodes = await h.chromaCluster(2);
    const hourly = await fx.receiver();
    const everyMinute = await fx.receiver();
    const clock = new SimulatedClock();
    const common = { CHECK_INTERVAL: '1', FAILURE_THRESHOLD: '3', RECOVERY_THRESHOLD: '2' };
    // One monitor with the default reminder interval (1 h), one reminding every minute, in lockstep.
    const monitors = [
      await fx.monitor(fx.env(nodes, { ...common, DATA_DIR: `${h.dir}/m1`, JSON_WEBHOOK_URLS: hourly.url() }), { now: clock.now, start: false }),
      await fx.monitor(fx.env(nodes, { ...common, DATA_DIR: `${h.dir}/m2`, JSON_WEBHOOK_URLS: everyMinute.url(), REMINDER_INTERVAL: '60' }), { now: clock.now, start: false }),
    ];
    const round = async () => {
      clock.advance(1_000);
      await Promise.all(monitors.map((m) => m.checkOnce()));
    };
    for (let i = 0; i < 3; i++) await round();

    await nodes[1]!.kill();
    const outageStart = clock.t + 1_000; // the next round is the first failed check
    const started = performance.now();
    for (let i = 0; i < 300; i++) await round();
    const wallMs = performance.now() - started;
    await nodes[1]!.spawn();
    for (let i = 0; i < 2; i++) await round();

    for (const r of [hourly, everyMinute]) await r.waitForRequests(1, 'recovered', 5_000, ofKind('node-down', 'resolved'));
    // Reminders come every 60 simulated seconds after the down notification (3rd failed check), while the outage lasts.
    const downAt = outageStart + 2_000;
    const lastFailedAt = outageStart + 299_000;
    const expectedReminders = Math.floor((lastFailedAt - downAt) / 60_000);
    expect(expectedReminders).toBe(4);
    expect(everyMinute.matching(ofKind('node-down', 'firing'))).toHaveLength(1);
    const reminders = everyMinute.matching(ofKind('node-down', 'reminder'));
    expect(reminders).toHaveLength(expectedReminders);
    expect(reminders.length).toBeLessThanOrEqual(300 / 60);
    expect(reminders.map((r) => r.json.durationSeconds)).toEqual([62, 122, 182, 242]);
    expect(reminders[0]!.json.title).toBe('Still down: replica-1 (1m 2s)');
    expect(everyMinute.matching(ofKind('node-down', 'resolved'))).toHaveLength(1);
    expect(everyMinute.requests).toHaveLength(1 + expectedReminders + 1);
    // With the default interval (1 h) a 5-minute outage gets no reminder at all.
    expect(hourly.requests.map((r) => `${r.json.kind}/${r.json.status}`)).toEqual(['node-down/firing', 'node-down/resolved']);
    const recovered = hourly.requests[1]!.json;
    expect(recovered.durationSeconds).toBe(300); // first failed check to first good check, in simulated seconds
    expect(recovered.since).toBe(new Date(outageStart).toISOString());
    console.info(`300 simulated rounds (2 monitors, real checks) took ${Math.round(wallMs)} ms of wall time`);
  });
});
