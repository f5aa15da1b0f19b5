// Unit tests of the update guard's pure plan (src/replication/update-guard.ts): which updates are
// rewritten, how, and which are left for Chroma to reject with its own error.
import { describe, expect, it } from 'vitest';
import { idsToLookUp, planUpdate } from '../../src/replication/update-guard.js';

const body = (v: unknown) => Buffer.from(JSON.stringify(v));
const parsed = (plan: ReturnType<typeof planUpdate>) => (plan.kind === 'rewrite' ? JSON.parse(plan.body.toString()) : null);
const b64 = (v: number[]) => Buffer.from(new Float32Array(v).buffer).toString('base64');

describe('update guard', () => {
  it('needs a lookup only for updates that carry embeddings for every id', () => {
    expect(idsToLookUp(body({ ids: ['a', 'b', 'a'], embeddings: [[1], [2], [3]] }))).toEqual(['a', 'b']);
    expect(idsToLookUp(body({ ids: ['a'], documents: ['d'] }))).toBeNull();
    expect(idsToLookUp(body({ ids: ['a'], embeddings: null }))).toBeNull();
    expect(idsToLookUp(body({ ids: ['a', 'b'], embeddings: [[1]] }))).toBeNull(); // Chroma rejects it
    expect(idsToLookUp(body({ ids: [], embeddings: [] }))).toBeNull();
    expect(idsToLookUp(Buffer.from('{not json'))).toBeNull();
    expect(idsToLookUp(null)).toBeNull();
  });

  it('leaves an update of existing ids unchanged', () => {
    expect(planUpdate(body({ ids: ['a'], embeddings: [[1, 2]] }), new Set(['a']), 2)).toEqual({ kind: 'unchanged' });
  });

  it('nulls the embeddings of missing ids and keeps everything else', () => {
    const plan = planUpdate(body({ ids: ['a', 'x'], embeddings: [[1, 2], [3, 4]], documents: ['da', 'dx'], metadatas: [{ k: 1 }, null] }), new Set(['a']), 2);
    expect(plan.kind).toBe('rewrite');
    expect(plan.kind === 'rewrite' && plan.missing).toEqual(['x']);
    expect(parsed(plan)).toEqual({ ids: ['a', 'x'], embeddings: [[1, 2], null], documents: ['da', 'dx'], metadatas: [{ k: 1 }, null] });
  });

  it('handles base64 embeddings and a collection whose dimension is not set yet', () => {
    const plan = planUpdate(body({ ids: ['x'], embeddings: [b64([1, 2, 3])] }), new Set(), null);
    expect(parsed(plan)).toEqual({ ids: ['x'], embeddings: [null] });
  });

  it('leaves for Chroma to reject: a wrong dimension, inconsistent dimensions, a vector that is neither form', () => {
    expect(planUpdate(body({ ids: ['x'], embeddings: [[1, 2]] }), new Set(), 3)).toEqual({ kind: 'unchanged' });
    expect(planUpdate(body({ ids: ['x', 'a'], embeddings: [[1, 2, 3, 4], [1, 2, 3]] }), new Set(['a']), 3)).toEqual({ kind: 'unchanged' });
    expect(planUpdate(body({ ids: ['x'], embeddings: [b64([1, 2]).slice(0, 5)] }), new Set(), null)).toEqual({ kind: 'unchanged' });
    expect(planUpdate(body({ ids: ['x'], embeddings: [7] }), new Set(), null)).toEqual({ kind: 'unchanged' });
  });

  it('ignores per-record nulls the client already sent', () => {
    expect(planUpdate(body({ ids: ['x', 'a'], embeddings: [null, [1]] }), new Set(['a']), 1)).toEqual({ kind: 'unchanged' });
  });
});
