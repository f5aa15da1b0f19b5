// Group commit in both stores (store/group-commit.ts): concurrent appends share one transaction (SQLite: one
// WAL commit; PostgreSQL: one transaction id) and each caller still gets its own seq, in call order, for its
// own body; appends made while a group commits form the next group; outcomes of a merged run are recorded in
// one transaction that stops at the first refusal. Also the bounds compaction reads (no body touched).
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import pg from 'pg';
import { join } from 'node:path';
import { Harness } from '../helpers/cluster.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { PostgresStore } from '../../src/store/postgres.js';
import type { ApplyRecord, Operation, ReplicationStore } from '../../src/store/types.js';

const op = (i: number): Operation => ({
  op: 'add',
  tenant: 't',
  database: 'd',
  collectionId: 'c',
  collectionName: null,
  body: Buffer.from(JSON.stringify({ ids: [`r${i}`], embeddings: [[i, 0, 1]] })),
});
const idOf = (body: Buffer | null) => JSON.parse(body!.toString()).ids[0] as string;
const outcome = (seq: number, epoch = 0): ApplyRecord => ({
  nodeId: 'primary',
  seq,
  outcome: { state: 'committed', status: 201, collectionId: 'c', epoch, answer: { contentType: 'application/json', body: '{}', nodeId: 'primary' } },
});

interface Backend {
  name: string;
  open: (h: Harness) => Promise<{ store: ReplicationStore; transactionsOf: (seqs: number[]) => Promise<number> }>;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    open: async (h) => {
      const dir = join(h.dir, `store-${Math.random().toString(36).slice(2)}`);
      const store = new SqliteStore(dir);
      await store.init();
      // WAL frames written since the last call: one commit of many rows writes the touched pages once.
      const framesSince = () => {
        const other = new Database(join(dir, 'replication-log.sqlite'));
        try {
          const [r] = other.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
          other.pragma('wal_checkpoint(TRUNCATE)');
          return r!.log;
        } finally {
          other.close();
        }
      };
      framesSince();
      return { store, transactionsOf: async () => framesSince() };
    },
  },
  {
    name: 'PostgreSQL',
    open: async (h) => {
      const url = await h.pgDatabaseUrl();
      const store = new PostgresStore(url);
      await store.init();
      const transactionsOf = async (seqs: number[]) => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        try {
          const r = await c.query('SELECT COUNT(DISTINCT xmin::text)::int AS n FROM log_entries WHERE seq = ANY($1)', [seqs]);
          return r.rows[0].n as number;
        } finally {
          await c.end();
        }
      };
      return { store, transactionsOf };
    },
  },
];

describe.each(backends)('group commit in the $name store', ({ open }) => {
  let h: Harness;
  let store: ReplicationStore | null = null;
  afterEach(async () => {
    await store?.close();
    store = null;
    await h.cleanup();
  });

  it('commits concurrent appends together, each with its own seq in call order', async () => {
    h = new Harness();
    const opened = await open(h);
    store = opened.store;
    const s = store;

    const alone: number[] = [];
    for (let i = 0; i < 20; i++) alone.push(await s.append(op(i), 'gw'));
    const aloneCost = await opened.transactionsOf(alone);

    const together = await Promise.all(Array.from({ length: 20 }, (_, i) => s.append(op(100 + i), 'gw')));
    const togetherCost = await opened.transactionsOf(together);
    expect(together).toEqual(Array.from({ length: 20 }, (_, i) => alone[19]! + 1 + i));
    const entries = await s.readAfter(alone[19]!, 100);
    expect(entries.map((e) => [e.seq, idOf(e.body), e.state, e.origin])).toEqual(together.map((seq, i) => [seq, `r${100 + i}`, 'pending', 'gw']));
    console.log(`[${s.kind}] 20 appends one by one: ${aloneCost}, 20 at once: ${togetherCost} (WAL frames / transactions)`);
    if (s.kind === 'postgres') {
      expect(aloneCost).toBe(20);
      expect(togetherCost).toBe(1);
    } else {
      expect(togetherCost * 5).toBeLessThan(aloneCost);
    }

    // Appends made while a group is being committed form the next group.
    const first = s.append(op(200), 'gw');
    await new Promise((resolve) => setImmediate(resolve));
    const rest = Array.from({ length: 10 }, (_, i) => s.append(op(201 + i), 'gw'));
    const seqs = [await first, ...(await Promise.all(rest))];
    expect(seqs).toEqual(Array.from({ length: 11 }, (_, i) => seqs[0]! + i));
    if (s.kind === 'postgres') expect(await opened.transactionsOf(seqs)).toBe(2);
  });

  it('records a run of outcomes in one transaction, stopping at the first refusal', async () => {
    h = new Harness();
    store = (await open(h)).store;
    const s = store;
    const seqs = await Promise.all(Array.from({ length: 6 }, (_, i) => s.append(op(i), 'gw')));

    expect(await s.recordApplies(seqs.slice(0, 3).map((seq) => outcome(seq)))).toEqual(['recorded', 'recorded', 'recorded']);
    // The fifth is decided meanwhile: the fourth is recorded, the fifth refused, the sixth not tried.
    expect(await s.recordApply(outcome(seqs[4]!))).toBe('recorded');
    expect(await s.recordApplies(seqs.slice(3).map((seq) => outcome(seq)))).toEqual(['recorded', 'already-decided']);
    expect((await s.readAfter(0, 10)).map((e) => e.state)).toEqual(['committed', 'committed', 'committed', 'committed', 'committed', 'pending']);
    expect(await s.recordApplies([outcome(seqs[5]!, 7)])).toEqual(['stale-epoch']);
    expect((await s.readAfter(seqs[4]!, 10)).map((e) => e.state)).toEqual(['pending']);
    expect((await s.readPositions()).get('primary')).toBe(seqs[4]);
  });

  it('reports the log bounds compaction reads, and the age scan', async () => {
    h = new Harness();
    store = (await open(h)).store;
    const s = store;
    expect(await s.bounds()).toEqual({ head: 0, oldest: null });
    const before = Date.now();
    const seqs = await Promise.all(Array.from({ length: 5 }, (_, i) => s.append(op(i), 'gw')));
    expect(await s.bounds()).toEqual({ head: seqs[4], oldest: seqs[0] });
    expect(await s.lastCreatedBefore(before - 1_000, 100)).toBeNull();
    expect(await s.lastCreatedBefore(Date.now() + 1, 3)).toBe(seqs[2]);
    expect(await s.truncate(seqs[1]!, 10)).toBe(2);
    expect(await s.bounds()).toEqual({ head: seqs[4], oldest: seqs[2] });
  });
});
