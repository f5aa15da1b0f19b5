// Planned switchover decisions (decideSwitchover), branch by branch, and the operator's choice outranking
// configured priorities in decide() so automatic failback does not undo a switchover.
import { describe, expect, it } from 'vitest';
import { CAUGHT_UP_SLACK, decide, decideSwitchover, type Observations, type SwitchoverNodeView, type SwitchoverRequest } from '../../src/replication/decide.js';

function node(id: string, over: Partial<SwitchoverNodeView> = {}): SwitchoverNodeView {
  return { id: `http://${id}:8000`, name: id, health: 'up', syncState: 'in-sync', lifecycle: 'member', appliedSeq: 100, priority: 0, lastError: null, drained: false, ...over };
}

function request(target: string, nodes: SwitchoverNodeView[] = [node('primary', { priority: 100 }), node('replica-1'), node('replica-2')], over: Partial<SwitchoverRequest> = {}): SwitchoverRequest {
  return { target, nodes, primaryId: 'http://primary:8000', committedHead: 100, lease: { held: true, holder: 'gw-1' }, ...over };
}

describe('decideSwitchover', () => {
  it('switches over to a healthy, in-sync member named by its name or its URL, saying from and to', () => {
    expect(decideSwitchover(request('replica-1'))).toEqual({
      action: 'switchover',
      to: 'http://replica-1:8000',
      reason: expect.stringMatching(/planned switchover from primary to replica-1 requested by an operator \(0 entries short/),
    });
    expect(decideSwitchover(request('http://replica-2:8000'))).toMatchObject({ action: 'switchover', to: 'http://replica-2:8000' });
  });

  it('accepts a target a few entries short: the switchover waits for it with writes held', () => {
    const d = decideSwitchover(request('replica-1', [node('primary'), node('replica-1', { appliedSeq: 100 - CAUGHT_UP_SLACK })]));
    expect(d).toMatchObject({ action: 'switchover', reason: expect.stringMatching(/100 entries short/) });
  });

  it('refuses an unknown node with 404, listing the nodes', () => {
    expect(decideSwitchover(request('replica-9'))).toEqual({ action: 'refuse', status: 404, reason: 'no node named replica-9; nodes: primary, replica-1, replica-2' });
  });

  it('refuses on a gateway that does not hold the lease, naming the holder', () => {
    const d = decideSwitchover(request('replica-1', undefined, { lease: { held: false, holder: 'gw-2' } }));
    expect(d).toEqual({ action: 'refuse', status: 409, reason: expect.stringMatching(/does not hold the applier lease \(held by gw-2\)/) });
  });

  it('refuses the node that already is primary', () => {
    expect(decideSwitchover(request('primary'))).toEqual({ action: 'refuse', status: 409, reason: 'primary is already the primary' });
  });

  it('refuses a down node with its last error, and one not probed yet', () => {
    const down = decideSwitchover(request('replica-1', [node('primary'), node('replica-1', { health: 'down', lastError: 'connect ECONNREFUSED' })]));
    expect(down).toEqual({ action: 'refuse', status: 409, reason: 'replica-1 is down: connect ECONNREFUSED' });
    const unknown = decideSwitchover(request('replica-1', [node('primary'), node('replica-1', { health: 'unknown' })]));
    expect(unknown).toEqual({ action: 'refuse', status: 409, reason: 'replica-1 is not probed yet' });
  });

  it('refuses a diverged node', () => {
    const d = decideSwitchover(request('replica-1', [node('primary'), node('replica-1', { syncState: 'diverged' })]));
    expect(d).toEqual({ action: 'refuse', status: 409, reason: expect.stringMatching(/replica-1 diverged/) });
  });

  it('refuses a node that is not a member yet (being filled by copy)', () => {
    const d = decideSwitchover(request('replica-1', [node('primary'), node('replica-1', { lifecycle: 'resync', lifecycleReason: 'no identity marker' })]));
    expect(d).toEqual({ action: 'refuse', status: 409, reason: 'replica-1 is not a member yet (resync: no identity marker)' });
  });

  it('refuses a drained node', () => {
    const d = decideSwitchover(request('replica-1', [node('primary'), node('replica-1', { drained: true })]));
    expect(d).toEqual({ action: 'refuse', status: 409, reason: 'replica-1 is drained: undrain it first' });
  });

  it('refuses a node too far behind, saying by how much', () => {
    const d = decideSwitchover(request('replica-1', [node('primary'), node('replica-1', { appliedSeq: 100 - CAUGHT_UP_SLACK - 1 })]));
    expect(d).toEqual({ action: 'refuse', status: 409, reason: expect.stringMatching(new RegExp(`replica-1 is ${CAUGHT_UP_SLACK + 1} entries behind`)) });
  });

  it('refuses while the primary is down: that is the automatic failover\'s job', () => {
    const d = decideSwitchover(request('replica-1', [node('primary', { health: 'down' }), node('replica-1')]));
    expect(d).toEqual({ action: 'refuse', status: 409, reason: expect.stringMatching(/the primary primary is not up: automatic failover handles that/) });
  });
});

describe('the operator\'s choice in decide', () => {
  const NOW = 1_000_000;
  const observe = (over: Partial<Observations>): Observations => ({
    now: NOW,
    nodes: [node('primary', { priority: 100 }), node('replica-1', { priority: 80 }), node('replica-2', { priority: 79 })],
    primaryId: 'http://replica-1:8000',
    epoch: 4,
    stored: { primaryId: 'http://replica-1:8000', epoch: 4 },
    committedHead: 100,
    lease: { held: true, holder: 'gw-1', expiresAt: NOW + 5_000 },
    lastSkippedSwitchover: null,
    ...over,
  });

  it('without it, a healthy higher-priority configured primary takes the role back (failback)', () => {
    expect(decide(observe({}))).toMatchObject({ action: 'switchover', to: 'http://primary:8000' });
  });

  it('with it, the chosen primary keeps the role although the configured primary has a higher priority', () => {
    const d = decide(observe({ preferredPrimaryId: 'http://replica-1:8000' }));
    expect(d).toEqual({ action: 'none', reason: expect.stringMatching(/primary replica-1 is healthy and no usable node has a higher priority/) });
  });

  it('after a failover away from the chosen node, the role goes back to it, not to the configured primary', () => {
    const d = decide(observe({ primaryId: 'http://replica-2:8000', stored: { primaryId: 'http://replica-2:8000', epoch: 4 }, preferredPrimaryId: 'http://replica-1:8000' }));
    expect(d).toMatchObject({ action: 'switchover', to: 'http://replica-1:8000' });
  });

  it('a preference for a node no longer a member is ignored', () => {
    expect(decide(observe({ preferredPrimaryId: 'http://gone:8000' }))).toMatchObject({ action: 'switchover', to: 'http://primary:8000' });
  });
});
