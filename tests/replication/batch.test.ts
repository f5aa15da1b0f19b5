// Which runs of log entries merge into one request, for a replica catching up (committed entries) and for
// the primary's group commit (pending entries): the run's extent, what ends it, and the merged body.
import { describe, expect, it } from 'vitest';
import { mergeRun } from '../../src/replication/batch.js';
import type { LogEntry } from '../../src/store/types.js';

function entry(seq: number, body: unknown, over: Partial<LogEntry> = {}): LogEntry {
  return {
    seq,
    op: 'add',
    tenant: 't',
    database: 'd',
    collectionId: 'c1',
    collectionName: null,
    body: Buffer.from(JSON.stringify(body)),
    state: 'pending',
    status: null,
    createdAt: 0,
    origin: 'gw',
    claimed: false,
    ...over,
  };
}

const rec = (id: string, dim = 3) => ({ ids: [id], embeddings: [Array.from({ length: dim }, (_, i) => i)] });
const body = (run: { entry: LogEntry }) => JSON.parse(run.entry.body!.toString());

describe('mergeRun for the primary (pending entries)', () => {
  const pending = { state: 'pending' as const, ops: new Set(['add', 'upsert', 'delete']) };

  it('merges consecutive pending writes into one body carrying the last seq', () => {
    const run = mergeRun([entry(1, rec('a')), entry(2, rec('b')), entry(3, rec('c'))], 0, pending)!;
    expect(run).toMatchObject({ lastIndex: 2, merged: 3 });
    expect(run.entry.seq).toBe(3);
    expect(body(run).ids).toEqual(['a', 'b', 'c']);
  });

  it('stops at an entry the caller does not accept, at a decided entry, and at a repeated id', () => {
    const accept = (e: LogEntry) => e.seq !== 3;
    expect(mergeRun([entry(1, rec('a')), entry(2, rec('b')), entry(3, rec('c'))], 0, { ...pending, accept })!.lastIndex).toBe(1);
    expect(mergeRun([entry(1, rec('a')), entry(2, rec('b')), entry(3, rec('c'), { state: 'rejected' })], 0, pending)!.lastIndex).toBe(1);
    expect(mergeRun([entry(1, rec('a')), entry(2, rec('b')), entry(3, rec('a'))], 0, pending)!.lastIndex).toBe(1);
  });

  it('ends the run at a write to another collection or of another kind (merging is on kind and collection, not on a path)', () => {
    expect(mergeRun([entry(1, rec('a')), entry(2, rec('b')), entry(3, rec('c'), { collectionId: 'c2' })], 0, pending)!.lastIndex).toBe(1);
    expect(mergeRun([entry(1, rec('a')), entry(2, rec('b'), { op: 'upsert' })], 0, pending)).toBeNull();
    expect(mergeRun([entry(1, rec('a')), entry(2, rec('b')), entry(3, rec('c'), { tenant: 't2' })], 0, pending)!.lastIndex).toBe(1);
  });

  it('keeps a write with another embedding dimension out of the run (Chroma would refuse the whole request)', () => {
    expect(mergeRun([entry(1, rec('a')), entry(2, rec('b', 2)), entry(3, rec('c'))], 0, pending)).toBeNull();
    expect(mergeRun([entry(1, rec('a')), entry(2, rec('b')), entry(3, rec('c', 2))], 0, pending)!.lastIndex).toBe(1);
  });

  it('does not merge operations outside the given set, nor committed entries', () => {
    expect(mergeRun([entry(1, rec('a'), { op: 'update' }), entry(2, rec('b'), { op: 'update' })], 0, pending)).toBeNull();
    expect(mergeRun([entry(1, rec('a'), { state: 'committed' }), entry(2, rec('b'), { state: 'committed' })], 0, pending)).toBeNull();
  });
});

describe('mergeRun for a replica (committed entries)', () => {
  it('skips rejected and aborted entries inside the run', () => {
    const c = { state: 'committed' as const };
    const run = mergeRun([entry(1, rec('a'), c), entry(2, rec('x', 2), { state: 'rejected' }), entry(3, rec('b'), { state: 'aborted' }), entry(4, rec('c'), c)], 0)!;
    expect(run).toMatchObject({ lastIndex: 3, merged: 2 });
    expect(body(run).ids).toEqual(['a', 'c']);
  });
});
