// The catch-up planner (replication/catch-up-plan.ts): which entries a window covers, what ends it, how each
// collection's writes merge, and, over random logs checked against a model of Chroma's record semantics,
// that applying the plan (or any prefix of it and then all of it, as after a crash) leaves every collection
// exactly as applying the entries one by one does.
import { describe, expect, it } from 'vitest';
import { planCatchUp } from '../../src/replication/catch-up-plan.js';
import type { EntryState, LogEntry, WriteOp } from '../../src/store/types.js';

function entry(seq: number, op: WriteOp, collectionId: string | null, body: unknown, state: EntryState = 'committed'): LogEntry {
  return {
    seq,
    op,
    tenant: 't',
    database: 'd',
    collectionId,
    collectionName: null,
    body: body === null ? null : Buffer.from(JSON.stringify(body)),
    state,
    status: null,
    createdAt: 0,
    origin: 'gw',
    claimed: false,
  };
}

const add = (seq: number, c: string, id: string, v = seq, state: EntryState = 'committed') =>
  entry(seq, 'add', c, { ids: [id], embeddings: [[v, 0]] }, state);
const upsert = (seq: number, c: string, id: string, v = seq) => entry(seq, 'upsert', c, { ids: [id], embeddings: [[v, 1]] });
const del = (seq: number, c: string, id: string) => entry(seq, 'delete', c, { ids: [id] });
const update = (seq: number, c: string, id: string, v = seq) => entry(seq, 'update', c, { ids: [id], embeddings: [[v, 2]] });
const ids = (e: LogEntry) => JSON.parse(e.body!.toString()).ids as string[];

describe('planCatchUp: the window', () => {
  it('merges interleaved writes per collection, keeping each collection in log order', () => {
    const log = [add(1, 'A', 'a1'), add(2, 'B', 'b1'), add(3, 'C', 'c1'), add(4, 'A', 'a2'), add(5, 'B', 'b2'), add(6, 'A', 'a3')];
    const plan = planCatchUp(log, 0)!;
    expect(plan.lastIndex).toBe(5);
    expect(plan.entries).toBe(6);
    expect(plan.chains.map((c) => c.map((r) => [r.collectionId, r.seq, ids(r)]))).toEqual([
      [['A', 6, ['a1', 'a2', 'a3']]],
      [['B', 5, ['b1', 'b2']]],
      [['C', 3, ['c1']]],
    ]);
  });

  it('ends at an update, a delete by filter, a collection-level operation and a pending entry', () => {
    const barriers = [
      update(3, 'A', 'x'),
      entry(3, 'delete', 'A', { where: { k: 1 } }),
      entry(3, 'delete', 'A', { ids: ['x'], where: { k: 1 } }),
      entry(3, 'create_collection', 'D', { name: 'd' }),
      entry(3, 'delete_collection', 'B', null),
      entry(3, 'modify_collection', 'A', { new_name: 'z' }),
      entry(3, 'reset', null, null),
      add(3, 'A', 'x', 3, 'pending'),
      entry(3, 'add', 'A', { ids: ['x'], embeddings: [[1, 0]], extra: 1 }),
    ];
    for (const barrier of barriers) {
      const plan = planCatchUp([add(1, 'A', 'a'), add(2, 'B', 'b'), add(3, 'A', 'c'), barrier, add(5, 'A', 'd')].map((e, i) => ({ ...e, seq: i + 1 })), 0)!;
      expect(plan.lastIndex, barrier.op).toBe(2);
      expect(plan.chains.flat().map((r) => r.seq)).toEqual([3, 2]);
    }
  });

  it('is null when it saves no request: a barrier or single entry first, or no two entries merge', () => {
    expect(planCatchUp([update(1, 'A', 'x'), add(2, 'A', 'a'), add(3, 'A', 'b')], 0)).toBeNull();
    expect(planCatchUp([add(1, 'A', 'a'), update(2, 'A', 'x')], 0)).toBeNull();
    expect(planCatchUp([add(1, 'A', 'a'), add(2, 'B', 'b'), add(3, 'C', 'c')], 0)).toBeNull();
    // The same id twice in one collection cannot share a request.
    expect(planCatchUp([add(1, 'A', 'a'), add(2, 'A', 'a')], 0)).toBeNull();
    expect(planCatchUp([add(1, 'A', 'a', 1, 'pending'), add(2, 'A', 'b', 2, 'pending')], 0)).toBeNull();
  });

  it('skips rejected and aborted entries inside the window and covers them', () => {
    const log = [add(1, 'A', 'a'), add(2, 'A', 'bad', 2, 'rejected'), add(3, 'B', 'b'), add(4, 'A', 'c', 4, 'aborted'), add(5, 'A', 'd'), add(6, 'B', 'x', 6, 'rejected')];
    const plan = planCatchUp(log, 0)!;
    expect(plan.lastIndex).toBe(5);
    expect(plan.entries).toBe(3);
    expect(plan.chains.map((c) => c.map(ids))).toEqual([[['a', 'd']], [['b']]]);
  });

  it('groups the writes to one collection by operation, moving a write ahead only of writes to other ids', () => {
    const log = [
      add(1, 'A', 'a'),
      add(2, 'B', 'b'),
      add(3, 'A', 'c'),
      upsert(4, 'A', 'x'),
      add(5, 'A', 'd'),
      entry(6, 'add', 'A', { ids: ['e'], embeddings: [[1, 2, 3]] }),
      del(7, 'A', 'a'),
      upsert(8, 'A', 'y'),
      del(9, 'A', 'c'),
      add(10, 'A', 'a'),
      add(11, 'A', 'f'),
    ];
    const plan = planCatchUp(log, 0)!;
    expect(plan.chains[0]!.map((r) => [r.op, r.seq, ids(r)])).toEqual([
      ['add', 5, ['a', 'c', 'd']],
      ['upsert', 8, ['x', 'y']],
      ['add', 6, ['e']],
      ['delete', 9, ['a', 'c']],
      ['add', 11, ['a', 'f']],
    ]);
  });

  it('starts at the given index and leaves the entries after the window to the next call', () => {
    const log = [update(1, 'A', 'x'), add(2, 'A', 'a'), add(3, 'B', 'b'), add(4, 'A', 'c'), update(5, 'B', 'b'), add(6, 'B', 'd'), add(7, 'B', 'e')];
    expect(planCatchUp(log, 1)!.lastIndex).toBe(3);
    expect(planCatchUp(log, 5)!.chains.map((c) => c.map(ids))).toEqual([[['d', 'e']]]);
  });
});

// A model of how Chroma treats record writes (notes/chroma.md): add keeps an existing record, upsert sets,
// update changes only an existing record, delete by ids removes.
type Model = Map<string, Map<string, string>>;

function applyToModel(model: Model, e: LogEntry): void {
  const body = JSON.parse(e.body!.toString()) as { ids: string[]; embeddings?: unknown[] };
  const records = model.get(e.collectionId!) ?? new Map<string, string>();
  model.set(e.collectionId!, records);
  body.ids.forEach((id, k) => {
    const value = JSON.stringify(body.embeddings?.[k]);
    if (e.op === 'add' && !records.has(id)) records.set(id, value);
    if (e.op === 'upsert') records.set(id, value);
    if (e.op === 'update' && records.has(id)) records.set(id, value);
    if (e.op === 'delete') records.delete(id);
  });
}

function snapshot(model: Model): string {
  return JSON.stringify([...model].sort().map(([c, r]) => [c, [...r].sort()]));
}

function rng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function randomLog(random: () => number, length: number): LogEntry[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length }, (_, i) => {
    const seq = i + 1;
    const c = pick(['A', 'B', 'C']);
    const id = pick(['x', 'y', 'z', 'w']);
    const r = random();
    if (r < 0.05) return add(seq, c, id, seq, pick(['rejected', 'aborted']));
    if (r < 0.4) return add(seq, c, id);
    if (r < 0.65) return upsert(seq, c, id);
    if (r < 0.85) return del(seq, c, id);
    if (r < 0.92) return update(seq, c, id);
    return entry(seq, 'add', c, { ids: [id, pick(['u', 'v'])], embeddings: [[seq, 3], [seq, 4]] });
  });
}

describe('planCatchUp against a model of Chroma', () => {
  it('applying every window (after any replayed prefix) equals applying the entries one by one', () => {
    const random = rng(7);
    let windows = 0;
    let saved = 0;
    for (let trial = 0; trial < 400; trial++) {
      const log = randomLog(random, 5 + Math.floor(random() * 40));
      const oneByOne: Model = new Map();
      for (const e of log) if (e.state === 'committed') applyToModel(oneByOne, e);

      const planned: Model = new Map();
      const replayed: Model = new Map();
      for (let i = 0; i < log.length; i++) {
        const plan = planCatchUp(log, i);
        if (!plan) {
          if (log[i]!.state === 'committed') for (const m of [planned, replayed]) applyToModel(m, log[i]!);
          continue;
        }
        windows++;
        saved += plan.entries - plan.chains.flat().length;
        const requests = plan.chains.flat();
        for (const chain of plan.chains) {
          // Per collection: one chain, no id twice in a request (the model checks the order).
          expect(new Set(chain.map((r) => r.collectionId)).size).toBe(1);
          for (const r of chain) expect(new Set(ids(r)).size).toBe(ids(r).length);
        }
        expect(new Set(plan.chains.map((c) => c[0]!.collectionId)).size).toBe(plan.chains.length);
        for (const r of requests) applyToModel(planned, r);
        // A crash after some requests of the window: the window is applied again from its start.
        const cut = Math.floor(random() * (requests.length + 1));
        for (const r of [...requests.slice(0, cut), ...requests]) applyToModel(replayed, r);
        i = plan.lastIndex;
      }
      expect(snapshot(planned), `trial ${trial}`).toBe(snapshot(oneByOne));
      expect(snapshot(replayed), `trial ${trial} replayed`).toBe(snapshot(oneByOne));
    }
    expect(windows).toBeGreaterThan(100);
    expect(saved).toBeGreaterThan(500);
  });
});
