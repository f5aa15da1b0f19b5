// The verify pacer (src/replication/pacer.ts): records per second averaged over time, at most one second's
// worth in a burst, no wait when unlimited. Pure: a fake clock.
import { describe, expect, it } from 'vitest';
import { RecordPacer } from '../../src/replication/pacer.js';

function fakeClock(start = 10_000) {
  const clock = {
    t: start,
    slept: [] as number[],
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.slept.push(ms);
      clock.t += ms;
    },
  };
  return clock;
}

describe('RecordPacer', () => {
  it('never waits when unlimited', () => {
    const p = new RecordPacer(0, fakeClock());
    expect(p.delayFor(1_000_000, 10_000)).toBe(0);
  });

  it('lets one second of records through at once, then paces to the rate', () => {
    const p = new RecordPacer(200, fakeClock());
    expect(p.delayFor(100, 10_000)).toBe(0);
    expect(p.delayFor(100, 10_000)).toBe(0);
    expect(p.delayFor(100, 10_000)).toBe(500);
    expect(p.delayFor(100, 10_500)).toBe(500);
  });

  it('averages the rate over a long run', async () => {
    const clock = fakeClock();
    const p = new RecordPacer(500, clock);
    for (let i = 0; i < 100; i++) await p.take(100); // 10,000 records
    // One second's allowance up front, then 9,500 records at 500/s.
    expect(clock.t - 10_000).toBeCloseTo(19_000, 0);
  });

  it('forfeits allowance older than a second: a burst after idling is at most one second worth', () => {
    const p = new RecordPacer(100, fakeClock());
    expect(p.delayFor(100, 10_000)).toBe(0);
    // An hour idle buys no more than one second of records.
    expect(p.delayFor(100, 3_610_000)).toBe(0);
    expect(p.delayFor(100, 3_610_000)).toBe(1_000);
  });

  it('counts time spent reading between takes', () => {
    const p = new RecordPacer(100, fakeClock());
    expect(p.delayFor(100, 10_000)).toBe(0);
    expect(p.delayFor(100, 10_400)).toBe(600);
  });
});
