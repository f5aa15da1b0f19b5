// The identity verdict (replication/identity.ts) for every case a node can come back in, and verify's record digests.
import { describe, expect, it } from 'vitest';
import { judgeIdentity, type IdentityInput, type Marker } from '../../src/replication/identity.js';
import { diffDigests, recordDigest } from '../../src/replication/verify.js';

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

describe('record digests (verify)', () => {
  const e = [0.1, 0.2, 0.30000001192092896];
  const b64 = Buffer.from(new Float32Array(e).buffer).toString('base64');
  it('are float32-exact whether a node answers arrays or base64, and ignore metadata key order', () => {
    expect(recordDigest(e, 'doc', { a: 1, b: [1, 2] })).toBe(recordDigest(b64, 'doc', { b: [1, 2], a: 1 }));
    expect(recordDigest([Math.fround(0.1)], null, null)).toBe(recordDigest([0.1], null, null));
  });
  it('see embeddings, documents and metadata', () => {
    const d = recordDigest(e, 'doc', { a: 1 });
    expect(recordDigest([0.1, 0.2, 0.31], 'doc', { a: 1 })).not.toBe(d);
    expect(recordDigest(e, 'doc!', { a: 1 })).not.toBe(d);
    expect(recordDigest(e, 'doc', { a: 2 })).not.toBe(d);
    expect(recordDigest(e, 'doc', { a: 1, b: null })).not.toBe(d);
  });
  it('narrow a difference down to missing, extra and different records', () => {
    const primary = new Map([['a', '1'], ['b', '2'], ['c', '3']]);
    const node = new Map([['a', '1'], ['b', 'x'], ['d', '4']]);
    expect(diffDigests(primary, node)).toEqual({ missing: ['c'], extra: ['d'], different: ['b'] });
  });
});
