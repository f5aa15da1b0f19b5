// The decision module, branch by branch: each case builds observations with an injected clock and checks
// the action and that the reason names what led to it.
import { describe, expect, it } from 'vitest';
import { CAUGHT_UP_SLACK, LEASE_SAFETY_MS, SWITCHOVER_BACKOFF_MS, decide, type NodeView, type Observations } from '../../src/replication/decide.js';

const NOW = 1_000_000;

function node(id: string, over: Partial<NodeView> = {}): NodeView {
  return { id, name: id, health: 'up', syncState: 'in-sync', lifecycle: 'member', appliedSeq: 100, priority: 0, lastError: null, ...over };
}

/** A healthy three-node cluster, this gateway holding the lease with plenty of time left. */
function observe(over: Partial<Observations> = {}, nodes?: NodeView[]): Observations {
  return {
    now: NOW,
    nodes: nodes ?? [node('a', { priority: 2 }), node('b', { priority: 1 }), node('c')],
    primaryId: 'a',
    epoch: 3,
    stored: { primaryId: 'a', epoch: 3 },
    committedHead: 100,
    lease: { held: true, holder: 'gw-1', expiresAt: NOW + 5_000 },
    lastSkippedSwitchover: null,
    ...over,
  };
}

describe('decide', () => {
  it('does nothing while the primary is healthy and has the highest priority', () => {
    const d = decide(observe());
    expect(d).toEqual({ action: 'none', reason: expect.stringMatching(/primary a is healthy and no usable node has a higher priority/) });
  });

  describe('following the store', () => {
    it('follows a newer epoch recorded by another gateway, even without the lease', () => {
      const d = decide(observe({ stored: { primaryId: 'b', epoch: 4 }, lease: { held: false, holder: 'gw-2', expiresAt: 0 } }));
      expect(d).toEqual({ action: 'follow', primaryId: 'b', epoch: 4, reason: expect.stringMatching(/epoch 4 with primary b, newer than this gateway's epoch 3/) });
    });

    it('follows a newer epoch before acting on its own view (a dead primary another gateway already replaced)', () => {
      const nodes = [node('a', { health: 'down', priority: 2 }), node('b', { priority: 1 }), node('c', { priority: 5 })];
      const d = decide(observe({ stored: { primaryId: 'b', epoch: 4 } }, nodes));
      expect(d.action).toBe('follow');
    });

    it('ignores a recorded primary that is not configured here, saying so', () => {
      const d = decide(observe({ stored: { primaryId: 'zz', epoch: 9 } }));
      expect(d).toEqual({ action: 'none', reason: expect.stringMatching(/primary zz, which is not a configured node; keeping epoch 3/) });
    });

    it('does not follow an older or equal stored epoch', () => {
      expect(decide(observe({ stored: { primaryId: 'b', epoch: 2 } })).action).toBe('none');
      expect(decide(observe({ stored: { primaryId: 'b', epoch: 3 } })).action).toBe('none');
    });
  });

  describe('the lease', () => {
    const deadPrimary = [node('a', { health: 'down' }), node('b')];

    it('changes no role without the lease, naming the holder', () => {
      const d = decide(observe({ lease: { held: false, holder: 'gw-2', expiresAt: 0 } }, deadPrimary));
      expect(d).toEqual({ action: 'none', reason: expect.stringMatching(/does not hold the applier lease \(held by gw-2\)/) });
    });

    it('changes no role while waiting out the grace after taking over an expired lease', () => {
      const d = decide(observe({ lease: { held: false, holder: 'gw-1', expiresAt: 0, graceUntil: NOW + 2_500 } }, deadPrimary));
      expect(d).toEqual({
        action: 'none',
        reason: "this gateway took the applier lease over after it expired and changes no role for 2500 ms, until the old holder's requests are surely over",
      });
    });

    it('says when nobody holds the lease', () => {
      const d = decide(observe({ lease: { held: false, holder: null, expiresAt: 0 } }, deadPrimary));
      expect(d.reason).toMatch(/\(unheld\)/);
    });

    it('starts no promotion when the lease is about to expire', () => {
      const d = decide(observe({ lease: { held: true, holder: 'gw-1', expiresAt: NOW + LEASE_SAFETY_MS - 1 } }, deadPrimary));
      expect(d).toEqual({ action: 'none', reason: `the applier lease expires in ${LEASE_SAFETY_MS - 1} ms, too soon to change roles safely` });
    });

    it('acts with exactly the safety margin left', () => {
      const d = decide(observe({ lease: { held: true, holder: 'gw-1', expiresAt: NOW + LEASE_SAFETY_MS } }, deadPrimary));
      expect(d.action).toBe('failover');
    });

    it('reports an already expired lease as 0 ms left', () => {
      const d = decide(observe({ lease: { held: true, holder: 'gw-1', expiresAt: NOW - 10 } }, deadPrimary));
      expect(d.reason).toMatch(/expires in 0 ms/);
    });
  });

  describe('node identity (replication/lifecycle.ts)', () => {
    it('waits while an up primary has its identity checked', () => {
      const d = decide(observe({}, [node('a', { priority: 2, lifecycle: 'unverified' }), node('b', { priority: 1 })]));
      expect(d).toEqual({ action: 'none', reason: expect.stringMatching(/primary a is up and its identity is being checked/) });
    });

    it('fails over from an up primary that turned out wiped, to a member only', () => {
      const nodes = [
        node('a', { priority: 2, lifecycle: 'resync', lifecycleReason: 'its data is gone' }),
        node('b', { priority: 9, lifecycle: 'resync' }),
        node('c', { priority: 1 }),
      ];
      const d = decide(observe({}, nodes));
      expect(d).toEqual({ action: 'failover', to: 'c', reason: expect.stringMatching(/primary a is up but not a member \(its data is gone\)/) });
    });

    it('promotes no replica that is not a member', () => {
      const nodes = [node('a', { health: 'down', priority: 2 }), node('b', { lifecycle: 'unverified' }), node('c', { lifecycle: 'foreign' })];
      expect(decide(observe({}, nodes))).toEqual({ action: 'none', reason: expect.stringMatching(/no replica is up, a member and not diverged/) });
    });
  });

  it('does nothing when the current primary is not a configured node', () => {
    const d = decide(observe({ primaryId: 'gone', stored: { primaryId: 'gone', epoch: 3 } }));
    expect(d).toEqual({ action: 'none', reason: 'primary gone is not a configured node' });
  });

  describe('failover', () => {
    it('waits for a verdict on a primary that has not been probed yet', () => {
      const d = decide(observe({}, [node('a', { health: 'unknown' }), node('b')]));
      expect(d).toEqual({ action: 'none', reason: 'primary a has not been probed yet: waiting for a verdict' });
    });

    it('fails over from a down primary to the highest-priority replica, citing the error', () => {
      const nodes = [node('a', { health: 'down', lastError: 'connect ECONNREFUSED' }), node('b', { priority: 1 }), node('c', { priority: 7 })];
      const d = decide(observe({}, nodes));
      expect(d).toEqual({ action: 'failover', to: 'c', reason: expect.stringMatching(/primary a is down: connect ECONNREFUSED; c \(priority 7, position 100\)/) });
    });

    it('says "failed checks" when a down primary has no recorded error', () => {
      const d = decide(observe({}, [node('a', { health: 'down' }), node('b')]));
      expect(d.reason).toMatch(/primary a is down: failed checks/);
    });

    it('fails over from a diverged primary that is still up', () => {
      const d = decide(observe({}, [node('a', { syncState: 'diverged' }), node('b')]));
      expect(d).toEqual({ action: 'failover', to: 'b', reason: expect.stringMatching(/^primary a diverged; b/) });
    });

    it('prefers priority only among the most caught-up replicas', () => {
      const nodes = [
        node('a', { health: 'down' }),
        node('far-behind', { priority: 9, appliedSeq: 1_000 - CAUGHT_UP_SLACK - 1 }),
        node('slack-edge', { priority: 3, appliedSeq: 1_000 - CAUGHT_UP_SLACK }),
        node('ahead', { priority: 1, appliedSeq: 1_000 }),
      ];
      expect(decide(observe({ committedHead: 1_000 }, nodes))).toMatchObject({ action: 'failover', to: 'slack-edge' });
    });

    it('breaks a priority tie by position, then by name', () => {
      const byPosition = [node('a', { health: 'down' }), node('b', { appliedSeq: 99 }), node('c', { appliedSeq: 100 })];
      expect(decide(observe({}, byPosition))).toMatchObject({ action: 'failover', to: 'c' });
      const byName = [node('a', { health: 'down' }), node('c'), node('b')];
      expect(decide(observe({}, byName))).toMatchObject({ action: 'failover', to: 'b' });
    });

    it('never picks a down, unknown or diverged replica', () => {
      const nodes = [
        node('a', { health: 'down' }),
        node('down', { health: 'down', priority: 9 }),
        node('unknown', { health: 'unknown', priority: 8 }),
        node('diverged', { syncState: 'diverged', priority: 7 }),
        node('ok', { priority: 0, appliedSeq: 1 }),
      ];
      expect(decide(observe({}, nodes))).toMatchObject({ action: 'failover', to: 'ok' });
    });

    it('does nothing when no replica can take over, saying why the primary is out', () => {
      const nodes = [node('a', { health: 'down', lastError: 'timeout' }), node('b', { health: 'down' }), node('c', { syncState: 'diverged' })];
      expect(decide(observe({}, nodes))).toEqual({
        action: 'none',
        reason: 'primary a is down: timeout, and no replica is up, a member and not diverged to take over',
      });
    });
  });

  describe('switchover (failback)', () => {
    // b is primary after a failover; a, with the higher priority, has come back.
    const back = (over: Partial<NodeView> = {}) => [node('a', { priority: 2, ...over }), node('b', { priority: 1 }), node('c')];

    it('switches back to a healthy higher-priority node within reach of the committed head', () => {
      const d = decide(observe({ primaryId: 'b', stored: { primaryId: 'b', epoch: 3 } }, back({ appliedSeq: 100 - CAUGHT_UP_SLACK })));
      expect(d).toEqual({ action: 'switchover', to: 'a', reason: `a has priority 2 (above b's 1) and is ${CAUGHT_UP_SLACK} entries short of the committed head` });
    });

    it('waits for a higher-priority node that is too far behind', () => {
      const d = decide(observe({ primaryId: 'b', stored: { primaryId: 'b', epoch: 3 } }, back({ appliedSeq: 100 - CAUGHT_UP_SLACK - 1 })));
      expect(d).toEqual({ action: 'none', reason: `a has a higher priority than b but is ${CAUGHT_UP_SLACK + 1} entries behind: waiting for it to catch up` });
    });

    it('does not switch to a higher-priority node that is down or diverged', () => {
      for (const over of [{ health: 'down' as const }, { syncState: 'diverged' as const }, { health: 'unknown' as const }]) {
        const d = decide(observe({ primaryId: 'b', stored: { primaryId: 'b', epoch: 3 } }, back(over)));
        expect(d.action, JSON.stringify(over)).toBe('none');
      }
    });

    it('backs off from a node whose switchover could not complete, then retries', () => {
      const at = (ago: number) => observe({ primaryId: 'b', stored: { primaryId: 'b', epoch: 3 }, lastSkippedSwitchover: { nodeId: 'a', at: NOW - ago } }, back());
      expect(decide(at(1_000))).toEqual({ action: 'none', reason: `a switchover to a could not complete 1000 ms ago: retrying after ${SWITCHOVER_BACKOFF_MS} ms` });
      expect(decide(at(SWITCHOVER_BACKOFF_MS)).action).toBe('switchover');
    });

    it('a skipped switchover to another node does not hold this one back', () => {
      const d = decide(observe({ primaryId: 'b', stored: { primaryId: 'b', epoch: 3 }, lastSkippedSwitchover: { nodeId: 'c', at: NOW } }, back()));
      expect(d.action).toBe('switchover');
    });

    it('picks the highest of several higher-priority nodes', () => {
      const nodes = [node('a', { priority: 2 }), node('b', { priority: 1 }), node('c', { priority: 5 })];
      expect(decide(observe({ primaryId: 'b', stored: { primaryId: 'b', epoch: 3 } }, nodes))).toMatchObject({ action: 'switchover', to: 'c' });
    });
  });
});
