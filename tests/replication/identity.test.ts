// The identity verdict (replication/identity.ts) for every case a node can come back in.
import { describe, expect, it } from 'vitest';
import { judgeIdentity, type IdentityInput, type Marker } from '../../src/replication/identity.js';

const marker = (m: Partial<Marker> = {}): Marker => ({ clusterId: 'c1', nodeId: 'n1', incarnation: 'i1', position: 40, ...m });
const input = (i: Partial<IdentityInput> = {}): IdentityInput => ({ clusterId: 'c1', nodeId: 'n1', storedIncarnation: 'i1', marker: marker(), isPrimary: false, ...i });

describe('judgeIdentity', () => {
  it('keeps a node that is the one remembered, from the position its marker vouches for', () => {
    expect(judgeIdentity(input())).toEqual({ kind: 'member', position: 40 });
  });
  it('refills an empty or wiped node', () => {
    expect(judgeIdentity(input({ marker: null })).kind).toBe('resync');
    expect(judgeIdentity(input({ marker: null, storedIncarnation: null })).kind).toBe('resync');
    expect(judgeIdentity(input({ marker: null, isPrimary: true })).kind).toBe('resync');
  });
  it('refills a disk restored from before the last refill, an interrupted refill, and another node\'s disk', () => {
    expect(judgeIdentity(input({ marker: marker({ incarnation: 'i0' }) })).kind).toBe('resync');
    expect(judgeIdentity(input({ storedIncarnation: '' })).kind).toBe('resync');
    expect(judgeIdentity(input({ marker: marker({ nodeId: 'n2' }) })).kind).toBe('resync');
  });
  it('never overwrites another cluster\'s node', () => {
    expect(judgeIdentity(input({ marker: marker({ clusterId: 'other' }) })).kind).toBe('foreign');
    expect(judgeIdentity(input({ marker: marker({ clusterId: 'other' }), storedIncarnation: null, isPrimary: true })).kind).toBe('foreign');
  });
  it('takes a primary it has never seen as it is', () => {
    expect(judgeIdentity(input({ storedIncarnation: null, isPrimary: true, marker: null }))).toEqual({ kind: 'stamp' });
    expect(judgeIdentity(input({ storedIncarnation: null, isPrimary: true }))).toEqual({ kind: 'stamp' });
  });
});
