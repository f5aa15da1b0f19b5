// The applier lease on a real PostgreSQL store, with a short period so the test runs in about a second:
// one keeper holds it, the other waits; when the holder loses the store its lease lapses locally before the
// other can take it (never two holders at once, and the old holder's send signal is aborted before the new one
// sends), and the other takes it over within the lease period, then sends only after the drain margin past the
// expiry (lease-grace.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, waitFor } from '../helpers/cluster.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { LeaseKeeper } from '../../src/replication/lease-keeper.js';
import { leaseMargins } from '../../src/replication/lease-grace.js';
import { createLogger } from '../../src/log/logger.js';

const TIMING = { ttlMs: 600, renewMs: 150 };

describe('applier lease', () => {
  let h: Harness;
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await h.cleanup();
  });

  async function keeper(url: string, id: string) {
    const store = new PostgresStore(url);
    await store.init();
    const k = new LeaseKeeper(store, id, createLogger('silent'), TIMING);
    cleanups.push(() => store.close(), () => k.stop());
    await k.start();
    return { store, k };
  }

  it('has one holder at a time, hands over within the period when the holder loses the store, and on release', async () => {
    h = new Harness();
    const url = await h.pgDatabaseUrl();
    const a = await keeper(url, 'gw-a');
    const b = await keeper(url, 'gw-b');
    expect(a.k.isHeld()).toBe(true);
    expect(b.k.view()).toEqual({ held: false, holder: 'gw-a', expiresAt: 0 });

    const changes: boolean[] = [];
    a.k.onChange((held) => changes.push(held));
    const aSends = a.k.sendSignal();
    expect(aSends.aborted).toBe(false);
    let both = 0;
    // Never two holders, and never the new one sending while the old one's requests are not yet aborted.
    const sampler = setInterval(() => (both += b.k.isHeld() && (a.k.isHeld() || !aSends.aborted) ? 1 : 0), 5);
    try {
      await a.store.close(); // the holder can no longer renew
      const cutAt = Date.now();
      await waitFor('the other keeper to take the lease', () => b.k.view().holder === 'gw-b', 10_000, 5);
      const takeover = Date.now() - cutAt;
      // At most one period after the last renewal, plus a renewal tick; generous for a busy machine.
      expect(takeover).toBeLessThan(TIMING.ttlMs + TIMING.renewMs + 500);
      expect(b.k.takeover()?.reason).toMatch(/^the predecessor's lease expired \d+ ms ago/);
      await waitFor('the other keeper to start sending', () => b.k.isHeld(), 10_000, 5);
      // ...once the old holder's requests were aborted (its lease end) and the drain margin after the expiry passed.
      expect(aSends.aborted).toBe(true);
      expect(b.k.takeover()!.waitMs).toBeLessThanOrEqual(leaseMargins(TIMING.ttlMs).drainMs);
      expect(Date.now() - cutAt).toBeLessThan(TIMING.ttlMs + leaseMargins(TIMING.ttlMs).drainMs + TIMING.renewMs + 500);
      expect(a.k.isHeld()).toBe(false);
      expect(changes).toEqual([false]); // told when it lapsed, not only at the next renewal
    } finally {
      clearInterval(sampler);
    }
    expect(both).toBe(0);

    // A clean stop releases it: a third keeper takes it at once, without waiting for expiry.
    const c = await keeper(url, 'gw-c');
    expect(c.k.isHeld()).toBe(false);
    await b.k.stop();
    await waitFor('the third keeper to take the released lease', () => c.k.isHeld(), TIMING.ttlMs, 5);
  });
});
