// The lease's end for its holder and the takeover grace (src/replication/lease-grace.ts), and how the lease
// keeper applies them, with an injected clock and a store stub that answers acquireLease as PostgreSQL would:
// the holder's lease ends a safety margin before the store's expiry (its send signal is aborted then); a
// released lease is used at once, an expired one only after the drain margin past the store's expiry.
import { describe, expect, it } from 'vitest';
import { leaseMargins, takeoverGrace } from '../../src/replication/lease-grace.js';
import { LeaseKeeper } from '../../src/replication/lease-keeper.js';
import { createLogger } from '../../src/log/logger.js';
import type { LeaseClaim, ReplicationStore } from '../../src/store/types.js';

describe('leaseMargins', () => {
  it('is 1 s on each side of the store\'s expiry, or a fifth of a shorter period', () => {
    expect(leaseMargins(5_000)).toEqual({ safetyMs: 1_000, drainMs: 1_000 });
    expect(leaseMargins(60_000)).toEqual({ safetyMs: 1_000, drainMs: 1_000 });
    expect(leaseMargins(3_000)).toEqual({ safetyMs: 600, drainMs: 600 });
  });
});

describe('takeoverGrace', () => {
  it('renewing its own lease waits for nothing', () => {
    expect(takeoverGrace({ took: 'ours', drainMs: 1_000 })).toEqual({ waitMs: 0, reason: "renewed this gateway's own lease" });
  });

  it('a released (or never taken) lease is used at once: its holder had stopped sending', () => {
    expect(takeoverGrace({ took: 'released', drainMs: 1_000 })).toEqual({
      waitMs: 0,
      reason: 'the lease was free or given up on a clean shutdown: its holder had stopped sending',
    });
  });

  it('an expired lease waits out the rest of the drain margin past its expiry', () => {
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: 300, drainMs: 1_000 })).toEqual({
      waitMs: 700,
      reason:
        "the predecessor's lease expired 300 ms ago (its requests were aborted before that) and a node may still be processing its last one for 1000 ms: waiting 700 ms before sending",
    });
    // Just expired: the whole margin. A store answer saying it expires in the future counts as just expired, never more.
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: 0, drainMs: 1_000 }).waitMs).toBe(1_000);
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: -40, drainMs: 1_000 }).waitMs).toBe(1_000);
    // No age known: the whole margin.
    expect(takeoverGrace({ took: 'expired', drainMs: 1_000 }).waitMs).toBe(1_000);
  });

  it('an expired lease older than the drain margin is used at once', () => {
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: 1_000, drainMs: 1_000 })).toEqual({
      waitMs: 0,
      reason: "the predecessor's lease expired 1000 ms ago, beyond the 1000 ms a node may still be processing its last request: nothing of it can still be in flight",
    });
    expect(takeoverGrace({ took: 'expired', expiredAgoMs: 60_000, drainMs: 1_000 }).waitMs).toBe(0);
  });
});

describe('LeaseKeeper', () => {
  const TIMING = { ttlMs: 5_000, renewMs: 1_000 };

  /** A store whose acquireLease answers what the test queues (after `storeDelayMs` of the test's clock), and a clock the test moves. */
  function setup(claims: Array<Omit<LeaseClaim, 'expiresInMs'>>, storeDelayMs = 0) {
    let now = 1_000_000;
    const store = {
      acquireLease: async (): Promise<LeaseClaim> => {
        now += storeDelayMs;
        return { expiresInMs: TIMING.ttlMs, ...(claims.shift() ?? { holder: 'gw-new' }) };
      },
      releaseLease: async () => undefined,
    } as unknown as ReplicationStore;
    const keeper = new LeaseKeeper(store, 'gw-new', createLogger('silent'), TIMING, () => now);
    const changes: boolean[] = [];
    keeper.onChange((held) => changes.push(held));
    return { keeper, changes, advance: (ms: number) => (now += ms), now: () => now };
  }

  it('holds a released lease at once, until a safety margin before the store\'s expiry, and aborts its send signal then', async () => {
    const { keeper, changes, advance, now } = setup([{ holder: 'gw-new' }]);
    expect(keeper.sendSignal().aborted).toBe(true); // not held yet: nothing may be sent
    const sentAt = now();
    await keeper.start();
    try {
      expect(keeper.isHeld()).toBe(true);
      expect(keeper.view()).toEqual({ held: true, holder: 'gw-new', expiresAt: sentAt + 4_000 });
      expect(keeper.takeover()).toBeNull();
      expect(changes).toEqual([true]);
      const signal = keeper.sendSignal();
      expect(signal.aborted).toBe(false);
      // No renewal gets through (the interval timer does not run on this clock): the hold ends at sentAt + 4 s.
      advance(3_999);
      expect(keeper.sendSignal().aborted).toBe(false);
      advance(1);
      expect(keeper.isHeld()).toBe(false);
      expect(keeper.sendSignal().aborted).toBe(true);
      expect(signal.aborted).toBe(true);
      expect(changes).toEqual([true, false]);
    } finally {
      await keeper.stop();
    }
  });

  it('takes an expired lease but sends nothing until the drain margin past the old lease\'s expiry', async () => {
    const { keeper, changes, advance, now } = setup([{ holder: 'gw-new', expiredPredecessor: { holder: 'gw-old', expiredAgoMs: 300 } }]);
    const startedAt = now();
    await keeper.start();
    try {
      expect(keeper.isHeld()).toBe(false);
      expect(keeper.sendSignal().aborted).toBe(true);
      expect(keeper.view()).toEqual({ held: false, holder: 'gw-new', expiresAt: 0, graceUntil: startedAt + 700 });
      expect(keeper.takeover()).toEqual({ at: startedAt, waitMs: 700, reason: expect.stringContaining('waiting 700 ms before sending') });
      expect(changes).toEqual([]);
      advance(699);
      expect(keeper.isHeld()).toBe(false);
      advance(1);
      expect(keeper.isHeld()).toBe(true);
      expect(keeper.sendSignal().aborted).toBe(false);
      expect(keeper.view().graceUntil).toBeUndefined();
      expect(keeper.sharedWithOthers()).toBe(true);
    } finally {
      await keeper.stop();
    }
  });

  it('counts the grace from when the store answered, so a slow answer never makes it start early', async () => {
    // The store measured "expired 300 ms ago" somewhere during a 250 ms round trip: 700 ms from the answer.
    const { keeper, now } = setup([{ holder: 'gw-new', expiredPredecessor: { holder: 'gw-old', expiredAgoMs: 300 } }], 250);
    const sentAt = now();
    await keeper.start();
    try {
      expect(keeper.view().graceUntil).toBe(sentAt + 250 + 700);
      expect(keeper.takeover()?.at).toBe(sentAt + 250);
    } finally {
      await keeper.stop();
    }
  });

  it('an expired lease taken long after its expiry is used at once, and the takeover is still reported', async () => {
    const { keeper, changes, now } = setup([{ holder: 'gw-new', expiredPredecessor: { holder: 'gw-old', expiredAgoMs: 8_000 } }]);
    const startedAt = now();
    await keeper.start();
    try {
      expect(keeper.isHeld()).toBe(true);
      expect(changes).toEqual([true]);
      expect(keeper.takeover()).toEqual({ at: startedAt, waitMs: 0, reason: expect.stringContaining('nothing of it can still be in flight') });
    } finally {
      await keeper.stop();
    }
  });

  it('another gateway holding the lease: not held, the send signal aborted', async () => {
    const { keeper, changes } = setup([{ holder: 'gw-other' }]);
    await keeper.start();
    try {
      expect(keeper.isHeld()).toBe(false);
      expect(keeper.view()).toEqual({ held: false, holder: 'gw-other', expiresAt: 0 });
      expect(keeper.sendSignal().aborted).toBe(true);
      expect(changes).toEqual([]);
    } finally {
      await keeper.stop();
    }
  });
});
