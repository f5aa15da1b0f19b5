// The takeover grace (src/replication/lease-grace.ts) and how the lease keeper applies it, with an injected
// clock and a store stub that answers acquireLease as PostgreSQL would: a released lease is used at once, an
// expired one only after the rest of its holder's send bound (one lease period after it expired).
import { describe, expect, it } from 'vitest';
import { takeoverGrace } from '../../src/replication/lease-grace.js';
import { LeaseKeeper } from '../../src/replication/lease-keeper.js';
import { createLogger } from '../../src/log/logger.js';
import type { LeaseClaim, ReplicationStore } from '../../src/store/types.js';

describe('takeoverGrace', () => {
  it('renewing its own lease waits for nothing', () => {
    expect(takeoverGrace({ took: 'ours', sendBoundMs: 5_000 })).toEqual({ waitMs: 0, reason: "renewed this gateway's own lease" });
  });

  it('a released (or never taken) lease is used at once: its holder had stopped sending', () => {
    expect(takeoverGrace({ took: 'released', sendBoundMs: 5_000 })).toEqual({
      waitMs: 0,
      reason: 'the lease was free or given up on a clean shutdown: its holder had stopped sending',
    });
  });

  it('an expired lease waits out the rest of the old holder\'s send bound', () => {
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: 1_200, sendBoundMs: 5_000 })).toEqual({
      waitMs: 3_800,
      reason: "the predecessor's lease expired 1200 ms ago and its requests may stay in flight for 5000 ms after that: waiting 3800 ms before sending",
    });
    // Just expired: the whole bound. A clock reading before the expiry counts as just expired, never more.
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: 0, sendBoundMs: 5_000 }).waitMs).toBe(5_000);
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: -40, sendBoundMs: 5_000 }).waitMs).toBe(5_000);
  });

  it('an expired lease older than the send bound is used at once', () => {
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: 5_000, sendBoundMs: 5_000 })).toEqual({
      waitMs: 0,
      reason: "the predecessor's lease expired 5000 ms ago, beyond its 5000 ms send bound: nothing of it can still be in flight",
    });
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: 60_000, sendBoundMs: 5_000 }).waitMs).toBe(0);
  });
});

describe('LeaseKeeper takeover grace', () => {
  const TIMING = { ttlMs: 5_000, renewMs: 1_000 };

  /** A store whose acquireLease answers what the test queues, and a clock the test moves. */
  function setup(claims: Array<Omit<LeaseClaim, 'expiresInMs'>>) {
    let now = 1_000_000;
    const store = {
      acquireLease: async (): Promise<LeaseClaim> => ({ expiresInMs: TIMING.ttlMs, ...(claims.shift() ?? { holder: 'gw-new' }) }),
      releaseLease: async () => undefined,
    } as unknown as ReplicationStore;
    const keeper = new LeaseKeeper(store, 'gw-new', createLogger('silent'), TIMING, () => now);
    const changes: boolean[] = [];
    keeper.onChange((held) => changes.push(held));
    return { keeper, changes, advance: (ms: number) => (now += ms), now: () => now };
  }

  it('holds a released lease at once', async () => {
    const { keeper, changes } = setup([{ holder: 'gw-new' }]);
    await keeper.start();
    try {
      expect(keeper.isHeld()).toBe(true);
      expect(keeper.view().graceUntil).toBeUndefined();
      expect(keeper.takeover()).toBeNull();
      expect(changes).toEqual([true]);
    } finally {
      await keeper.stop();
    }
  });

  it('takes an expired lease but sends nothing until the rest of the old holder\'s send bound has passed', async () => {
    const { keeper, changes, advance, now } = setup([{ holder: 'gw-new', expiredPredecessor: { holder: 'gw-old', expiredAgoMs: 2_000 } }]);
    const startedAt = now();
    await keeper.start();
    try {
      expect(keeper.isHeld()).toBe(false);
      expect(keeper.view()).toEqual({ held: false, holder: 'gw-new', expiresAt: 0, graceUntil: startedAt + 3_000 });
      expect(keeper.takeover()).toEqual({ at: startedAt, waitMs: 3_000, reason: expect.stringContaining('waiting 3000 ms before sending') });
      expect(changes).toEqual([]);
      advance(2_999);
      expect(keeper.isHeld()).toBe(false);
      advance(1);
      expect(keeper.isHeld()).toBe(true);
      expect(keeper.view().graceUntil).toBeUndefined();
      expect(keeper.sharedWithOthers()).toBe(true);
    } finally {
      await keeper.stop();
    }
  });
});
