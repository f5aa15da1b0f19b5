// Which replica a backup pins: an up, member, non-diverged replica, in-sync ones first and the most caught-up
// among them; never the primary; and when there is none, a reason naming each replica's state.
import { describe, expect, it } from 'vitest';
import { ClusterNode } from '../../src/cluster/node.js';
import { pickSnapshotSource } from '../../src/backup/snapshot.js';

function node(name: string, state: Partial<Pick<ClusterNode, 'health' | 'lifecycle' | 'syncState' | 'appliedSeq'>> = {}): ClusterNode {
  const role = name === 'primary' ? 'primary' : 'replica';
  const n = new ClusterNode({ id: `http://${name}:8000`, name, url: `http://${name}:8000`, authHeaders: {}, priority: 0, configuredRole: role }, 1_000);
  Object.assign(n, { health: 'up', lifecycle: 'member', syncState: 'in-sync', appliedSeq: 10, ...state });
  return n;
}

describe('pickSnapshotSource', () => {
  it('pins the most caught-up in-sync replica, never the primary', () => {
    const primary = node('primary', { appliedSeq: 50 });
    const behind = node('replica-1', { appliedSeq: 40 });
    const ahead = node('replica-2', { appliedSeq: 45 });
    const syncing = node('replica-3', { appliedSeq: 49, syncState: 'syncing' });
    expect(pickSnapshotSource({ primary, nodes: [primary, behind, ahead, syncing] })).toBe(ahead);
    expect(pickSnapshotSource({ primary, nodes: [primary, syncing] })).toBe(syncing);
  });

  it('refuses with each replica\'s state when none can be pinned, and says why a lone primary is not paused', () => {
    const primary = node('primary');
    const reason = pickSnapshotSource({
      primary,
      nodes: [primary, node('replica-1', { health: 'down' }), node('replica-2', { syncState: 'diverged' }), node('replica-3', { lifecycle: 'resync' })],
    });
    expect(reason).toBe('no replica can be pinned (replica-1: down, replica-2: diverged, replica-3: resync)');
    expect(pickSnapshotSource({ primary, nodes: [primary] })).toMatch(/the cluster has no replica: .*pausing the primary instead would stop every write/);
  });
});
