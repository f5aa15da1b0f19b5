// The random-sequence test (issues 3 and 8), shared by its SQLite and PostgreSQL files. A seeded random sequence
// of mixed operations (collection create/delete/modify, re-creation of deleted names, add/upsert/update/delete
// with documents and metadata, updates that carry embeddings for ids that do not exist yet followed by adds of
// those ids, get and query reads, and requests Chroma rejects) goes through the gateway (primary + two replicas)
// and, identically, straight to a reference Chroma. Every answer must match the reference's as it is given; at
// random points of each lane, every node's content of that lane's collections must equal the reference's; at the
// end the three nodes hold exactly the reference's content. Several seeds, both stores.
//
// The reference must behave correctly: Chroma's index bug (docs/chroma-notes.md) strikes a collection whose
// first read in the process comes after an update of a missing id, so the reference reads every collection
// once right after creating it. The nodes get no such help: where their first reads land is up to routing.
//
// Ordering: operations run in lanes that own disjoint collection names, each lane strictly sequential and
// sending each operation to the gateway and the reference before the next. Operations on different
// collections commute, so the reference ends in the same state as the gateway's log order produces, while
// the gateway still sees concurrent writes from several clients.
import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from './cluster.js';
import { canonical, nodeContent, waitStatusInSync } from './convergence.js';
import { recordsOnNode } from './replication.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import type { Env } from '../../src/config/load.js';
import { rng } from '../../bench/lib/workload.js';

const LANES = 4;
const OPS_PER_LANE = 500;
const NAMES_PER_LANE = 3;
/** Points in each lane's run where the nodes' content of its collections is compared with the reference. */
const CHECKPOINTS_PER_LANE = 2;
const ID_POOL = 40;
/** Every write costs each of the four Chroma servers ~10 ms of CPU: on a busy 2-core machine this takes minutes. */
const LONG_TEST_MS = 600_000;

interface Incarnation {
  gwId: string;
  refId: string;
  dim: number;
  /** True once an add/upsert succeeded: the collection's dimension is fixed from then on. */
  dimSet: boolean;
  /** Ids the collection holds, as far as the test knows (to count updates of missing ids). */
  held: Set<string>;
}


type Side = 'gw' | 'ref';

interface Op {
  label: string;
  kind: 'write' | 'read';
  method: string;
  path: (side: Side) => string;
  body?: unknown;
  /** A successful read answer in comparable form: the gateway's must equal the reference's. */
  normalize?: (answer: any) => unknown;
  /** How normalized answers must agree; default: equal. */
  agree?: (gw: any, ref: any) => boolean;
  after?: (gw: Answer, ref: Answer) => unknown;
}

interface Answer {
  status: number;
  json: any;
  text: string;
}

interface Tally {
  writes: number;
  reads: number;
  byStatus: Map<number, number>;
  recreated: number;
  checkpoints: number;
  /** Updates sent with an embedding for an id the reference did not hold at the time. */
  updatesOfMissing: number;
  mismatches: string[];
}

class Lane {
  private readonly live = new Map<string, Incarnation>();
  private readonly dead: Incarnation[] = [];
  private readonly everCreated = new Set<string>();
  private readonly names: string[];
  private readonly rnd: () => number;
  private generation = 0;

  constructor(
    private readonly lane: number,
    seed: number,
    private readonly gw: Gateway,
    private readonly nodeUrls: string[],
    private readonly reference: string,
    private readonly tally: Tally,
  ) {
    this.rnd = rng(seed);
    this.names = Array.from({ length: NAMES_PER_LANE }, (_, k) => `lane${lane}-col${k}`);
  }

  private get gateway(): string {
    return gatewayUrl(this.gw);
  }

  async run(ops: number): Promise<void> {
    const checkpoints = new Set(Array.from({ length: CHECKPOINTS_PER_LANE }, () => 1 + this.int(ops - 1)));
    for (let i = 0; i < ops && this.tally.mismatches.length < 20; i++) {
      if (checkpoints.has(i)) await this.checkpoint(i);
      const op = this.next();
      const [g, r] = await Promise.all([
        http(this.gateway, op.method, op.path('gw'), op.body),
        http(this.reference, op.method, op.path('ref'), op.body),
      ]);
      if (op.kind === 'write') this.tally.writes++;
      else this.tally.reads++;
      this.tally.byStatus.set(r.status, (this.tally.byStatus.get(r.status) ?? 0) + 1);
      const where = `lane ${this.lane} op ${i} (${op.label})`;
      if (g.status !== r.status) {
        this.tally.mismatches.push(`${where}: gateway ${g.status} ${g.text.slice(0, 200)} vs reference ${r.status} ${r.text.slice(0, 200)}`);
        continue;
      }
      // Errors Chroma produced must reach the client unchanged (the gateway's own 404 for an unknown
      // collection id names the stable id, so its text differs from the reference's).
      if ((r.status === 400 || r.status === 409) && g.text !== r.text) {
        this.tally.mismatches.push(`${where}: error body ${g.text} vs reference ${r.text}`);
      }
      const agree = op.agree ?? ((a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b));
      if (r.status === 200 && op.normalize && !agree(op.normalize(g.json), op.normalize(r.json))) {
        this.tally.mismatches.push(`${where}: read ${JSON.stringify(op.normalize(g.json))} vs reference ${JSON.stringify(op.normalize(r.json))}`);
      }
      await op.after?.(g, r);
    }
  }

  /** Every node's content of this lane's live collections equals the reference's, once the nodes hold the lane's writes. */
  private async checkpoint(at: number): Promise<void> {
    const live = [...this.live.entries()];
    const nodes = this.gw.cluster.nodes;
    await waitFor(
      `lane ${this.lane}'s writes applied on every node`,
      () => nodes.some((n) => n.syncState === 'diverged') || live.every(([, c]) => nodes.every((n) => n.appliedSeq >= this.gw.log.requiredFor(c.gwId))),
      60_000,
    );
    // A diverged node applies nothing more: report why instead of waiting for it.
    for (const n of nodes) if (n.syncState === 'diverged') this.tally.mismatches.push(`lane ${this.lane} checkpoint at op ${at}: ${n.name} diverged: ${n.divergedReason}`);
    if (this.tally.mismatches.length > 0) return;
    for (const [name] of live) {
      const expected = JSON.stringify(await recordsOnNode(this.reference, name));
      for (const url of this.nodeUrls) {
        const actual = JSON.stringify(await recordsOnNode(url, name));
        if (actual !== expected) this.tally.mismatches.push(`lane ${this.lane} checkpoint at op ${at}: ${name} on ${url} is ${actual.slice(0, 300)}, reference ${expected.slice(0, 300)}`);
      }
    }
    this.tally.checkpoints++;
  }

  private int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  private pickOf<T>(xs: T[]): T {
    return xs[this.int(xs.length)]!;
  }

  private next(): Op {
    const liveNames = this.names.filter((n) => this.live.has(n));
    const r = this.rnd();
    if (liveNames.length === 0 || r < 0.06) return this.create();
    const name = this.pickOf(liveNames);
    const c = this.live.get(name)!;
    if (r < 0.09) return this.deleteCollection();
    if (r < 0.11) return this.modify(c);
    if (r < 0.13) return this.unknownCollection();
    if (r < 0.15) return c.dimSet ? this.wrongDimension(c) : this.records(c, 'add');
    // Not on a never-written collection: after a read there, a rejected add makes Chroma 1.0.0 answer later
    // gets with 500 ("Nothing found on disk"), depending on each node's read history (docs/chroma-notes.md).
    if (r < 0.16) return c.dimSet ? this.inconsistentLengths(c) : this.records(c, 'add');
    if (r < 0.36) return this.records(c, 'add');
    if (r < 0.54) return this.records(c, 'upsert');
    if (r < 0.7) return this.update(c);
    if (r < 0.8) return this.deleteRecords(c);
    return this.read(c);
  }

  private collectionPath(c: Incarnation, suffix: string): (side: Side) => string {
    return (side) => `${COLLECTIONS}/${side === 'gw' ? c.gwId : c.refId}${suffix}`;
  }

  private create(): Op {
    const name = this.pickOf(this.names);
    const existing = this.live.get(name);
    const getOrCreate = existing !== undefined && this.rnd() < 0.4;
    const body = { name, metadata: { lane: this.lane, generation: ++this.generation, label: `g${this.generation}` }, ...(getOrCreate ? { get_or_create: true } : {}) };
    return {
      label: `create ${name}${getOrCreate ? ' (get_or_create)' : existing ? ' (duplicate)' : ''}`,
      kind: 'write',
      method: 'POST',
      path: () => COLLECTIONS,
      body,
      after: (g, r) => {
        if (g.status !== 200 || r.status !== 200) return;
        if (existing) {
          if (g.json.id !== existing.gwId) this.tally.mismatches.push(`get_or_create of ${name} answered id ${g.json.id}, expected ${existing.gwId}`);
          return;
        }
        if (this.everCreated.has(name)) this.tally.recreated++;
        this.everCreated.add(name);
        this.live.set(name, { gwId: g.json.id, refId: r.json.id, dim: 4 + this.int(5), dimSet: false, held: new Set() });
        // The reference's first read of the collection, before any update: keeps it clear of the index bug.
        return http(this.reference, 'GET', `${COLLECTIONS}/${r.json.id}/count`);
      },
    };
  }

  private deleteCollection(): Op {
    // Mostly a live name; sometimes a name that is not there (Chroma answers 404).
    const name = this.rnd() < 0.8 ? this.pickOf([...this.live.keys()]) : this.pickOf(this.names.filter((n) => !this.live.has(n)).concat(`lane${this.lane}-never`));
    return {
      label: `delete collection ${name}`,
      kind: 'write',
      method: 'DELETE',
      path: () => `${COLLECTIONS}/${name}`,
      after: (g, r) => {
        if (g.status === 200 && r.status === 200) {
          this.dead.push(this.live.get(name)!);
          this.live.delete(name);
        }
      },
    };
  }

  private modify(c: Incarnation): Op {
    return {
      label: 'modify metadata',
      kind: 'write',
      method: 'PUT',
      path: this.collectionPath(c, ''),
      body: { new_metadata: { lane: this.lane, modified: this.int(1000), note: `m${this.int(10)}` } },
    };
  }

  private unknownCollection(): Op {
    // A deleted incarnation's id, or an id that never existed: 404 either way.
    const target = this.dead.length > 0 && this.rnd() < 0.6 ? this.pickOf(this.dead) : { gwId: randomUUID(), refId: randomUUID(), dim: 4, dimSet: false, held: new Set<string>() };
    const op = this.pickOf(['update', 'add', 'delete'] as const);
    const body =
      op === 'delete' ? { ids: ['r1'] } : op === 'add' ? { ids: ['r1'], embeddings: [this.vector(target.dim)] } : { ids: ['r1'], documents: ['x'] };
    return { label: `${op} on unknown collection`, kind: 'write', method: 'POST', path: this.collectionPath(target, `/${op}`), body };
  }

  private wrongDimension(c: Incarnation): Op {
    const op = this.pickOf(['add', 'upsert'] as const);
    const n = 1 + this.int(3);
    const ids = this.ids(n);
    // One bad vector among good ones: the whole request must be refused, nothing half-applied.
    const embeddings = ids.map((_, i) => this.vector(i === n - 1 ? c.dim + 1 : c.dim));
    return { label: `${op} with a wrong dimension`, kind: 'write', method: 'POST', path: this.collectionPath(c, `/${op}`), body: { ids, embeddings } };
  }

  private inconsistentLengths(c: Incarnation): Op {
    const ids = this.ids(3);
    return {
      label: 'add with fewer embeddings than ids',
      kind: 'write',
      method: 'POST',
      path: this.collectionPath(c, '/add'),
      body: { ids, embeddings: [this.vector(c.dim)] },
    };
  }

  private records(c: Incarnation, op: 'add' | 'upsert'): Op {
    const ids = this.ids(1 + this.int(20));
    const body: Record<string, unknown> = { ids, embeddings: ids.map(() => this.vector(c.dim)) };
    if (this.rnd() < 0.6) body.documents = ids.map(() => (this.rnd() < 0.85 ? `document ${this.int(100_000)}` : null));
    if (this.rnd() < 0.6) body.metadatas = ids.map(() => (this.rnd() < 0.85 ? this.metadata() : null));
    return {
      label: `${op} ${ids.length}`,
      kind: 'write',
      method: 'POST',
      path: this.collectionPath(c, `/${op}`),
      body,
      after: (_g, r) => {
        if (r.status >= 300) return;
        c.dimSet = true;
        for (const id of ids) c.held.add(id);
      },
    };
  }

  private update(c: Incarnation): Op {
    const ids = this.ids(1 + this.int(10));
    const body: Record<string, unknown> = { ids };
    const fields = this.int(3);
    if (fields !== 1 || !c.dimSet) body.metadatas = ids.map(() => this.metadata());
    if (fields !== 0) body.documents = ids.map(() => `updated ${this.int(100_000)}`);
    // Embeddings for ids not added yet are what Chroma's index bug feeds on: keep them frequent.
    const withEmbeddings = c.dimSet && this.rnd() < 0.6;
    if (withEmbeddings) body.embeddings = ids.map(() => this.vector(c.dim));
    const missing = withEmbeddings && ids.some((id) => !c.held.has(id));
    return {
      label: `update ${ids.length}${missing ? ' (some ids missing)' : ''}`,
      kind: 'write',
      method: 'POST',
      path: this.collectionPath(c, '/update'),
      body,
      after: (_g, r) => {
        if (missing && r.status === 200) this.tally.updatesOfMissing++;
      },
    };
  }

  private deleteRecords(c: Incarnation): Op {
    const r = this.rnd();
    const body =
      r < 0.7
        ? { ids: this.ids(1 + this.int(6)) }
        : r < 0.85
          ? { where: { tag: { $eq: `t${this.int(5)}` } } }
          : { where: { n: { $gt: 80 + this.int(20) } } };
    return {
      label: `delete records ${JSON.stringify(body).slice(0, 60)}`,
      kind: 'write',
      method: 'POST',
      path: this.collectionPath(c, '/delete'),
      body,
      after: (_g, r) => {
        if (r.status !== 200) return;
        // A delete by filter: which ids went is unknown here, so forget them all (a guess only used for counting).
        if ('ids' in body && body.ids) for (const id of body.ids) c.held.delete(id);
        else c.held.clear();
      },
    };
  }

  private read(c: Incarnation): Op {
    const r = this.rnd();
    if (r < 0.3) {
      return { label: 'count', kind: 'read', method: 'GET', path: this.collectionPath(c, '/count'), normalize: (n) => n };
    }
    if (r < 0.45 && c.dimSet) {
      const body = { query_embeddings: [this.vector(c.dim)], n_results: 3, include: ['embeddings', 'documents', 'metadatas', 'distances'] };
      return {
        label: 'query top 3',
        kind: 'read',
        method: 'POST',
        path: this.collectionPath(c, '/query'),
        body,
        normalize: hitsOf,
        agree: sameHits,
      };
    }
    const body =
      r < 0.8
        ? { ids: this.ids(1 + this.int(10)), include: ['embeddings', 'documents', 'metadatas'] }
        : { where: { tag: { $eq: `t${this.int(5)}` } }, include: ['embeddings', 'documents', 'metadatas'] };
    return {
      label: `get ${JSON.stringify(body).slice(0, 60)}`,
      kind: 'read',
      method: 'POST',
      path: this.collectionPath(c, '/get'),
      body,
      normalize: rowsOf,
    };
  }

  private ids(n: number): string[] {
    const out = new Set<string>();
    while (out.size < n) out.add(`r${this.int(ID_POOL)}`);
    return [...out];
  }

  private vector(dim: number): number[] {
    return Array.from({ length: dim }, () => Math.round((this.rnd() * 2 - 1) * 1000) / 1000);
  }

  private metadata(): Record<string, unknown> {
    const m: Record<string, unknown> = { tag: `t${this.int(5)}` };
    if (this.rnd() < 0.7) m.n = this.int(100);
    if (this.rnd() < 0.5) m.f = this.int(64) / 8;
    if (this.rnd() < 0.4) m.flag = this.rnd() < 0.5;
    return m;
  }
}

/**
 * A query answer's hits, nearest first (ties by id). Distances to 5 significant digits: a node computes them in
 * float32 through its own index, and the last bits may differ between identical nodes.
 */
function hitsOf(answer: any): unknown[] {
  const ids: string[] = answer.ids?.[0] ?? [];
  return ids
    .map((id, i) => ({ id, dist: Number(answer.distances?.[0]?.[i]?.toPrecision(5)), e: answer.embeddings?.[0]?.[i], d: answer.documents?.[0]?.[i], m: canonical(answer.metadatas?.[0]?.[i]) }))
    .sort((a, b) => a.dist - b.dist || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Query hits agree when there are as many, and every record both return is the same record (embedding, document,
 * metadata, distance). The index is approximate: identical nodes may rarely return a different neighbour set
 * (docs/chroma-notes.md), but a record they both return must never differ.
 */
function sameHits(gw: Array<{ id: string }>, ref: Array<{ id: string }>): boolean {
  if (gw.length !== ref.length) return false;
  const theirs = new Map(ref.map((h) => [h.id, JSON.stringify(h)]));
  return gw.every((h) => !theirs.has(h.id) || theirs.get(h.id) === JSON.stringify(h));
}

/** A get answer as rows sorted by id (nodes return records in their own storage order). */
function rowsOf(answer: any): unknown[] {
  const ids: string[] = answer.ids ?? [];
  return ids
    .map((id, i) => ({ id, e: answer.embeddings?.[i], d: answer.documents?.[i], m: canonical(answer.metadatas?.[i]) }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** One seeded run: the store's name, the seed, and the gateway settings that select the store. */
export type RandomRun = [store: string, seed: number, storeEnv: (h: Harness) => Promise<Env>];

/** Defines one test per run: 2,000 operations (4 lanes × 500) compared with the reference as they go. */
export function randomSequenceSuite(runs: RandomRun[]): void {
  describe.each(runs)('random operation sequence with the %s store, seed %i', (store, seed, storeEnv) => {
    let h: Harness;
    afterEach(async () => h.cleanup());

    it('answers every request as a reference Chroma does and leaves every node identical to it', async () => {
      h = new Harness();
      const [nodes, reference] = await Promise.all([h.chromaCluster(3), h.chroma({ name: 'reference' })]);
      // Spot checks on, often: they must never report identical nodes as different.
      const gw = await h.gateway(nodes, { ...PATIENT_PROBES, SPOT_CHECK_INTERVAL: '0.25', ...(await storeEnv(h)) });
      const base = gatewayUrl(gw);
      const tally: Tally = { writes: 0, reads: 0, byStatus: new Map(), recreated: 0, checkpoints: 0, updatesOfMissing: 0, mismatches: [] };
      const nodeUrls = nodes.map((n) => n.url);

      const started = performance.now();
      await Promise.all(Array.from({ length: LANES }, (_, lane) => new Lane(lane, seed + lane, gw, nodeUrls, reference.url, tally).run(OPS_PER_LANE)));
      const elapsed = performance.now() - started;

      expect(tally.mismatches).toEqual([]);
      expect(tally.writes + tally.reads).toBe(LANES * OPS_PER_LANE);
      // The sequence really exercised what it claims to: rejections of each kind, re-created names, updates
      // of missing ids, and content compared mid-run.
      for (const status of [400, 404, 409]) expect(tally.byStatus.get(status) ?? 0, `answers with status ${status}`).toBeGreaterThan(5);
      expect(tally.recreated).toBeGreaterThan(3);
      expect(tally.updatesOfMissing).toBeGreaterThan(50);
      expect(tally.checkpoints).toBeGreaterThanOrEqual(LANES);

      const status = await waitStatusInSync(base);
      expect(status.nodes.map((n) => n.syncState)).toEqual(['in-sync', 'in-sync', 'in-sync']);
      const expected = await nodeContent(reference.url);
      expect(expected.reduce((n, c) => n + c.records.length, 0)).toBeGreaterThan(100);
      for (const node of nodes) expect(await nodeContent(node.url), `content of ${node.url}`).toEqual(expected);
      // Through the gateway the same collections are listed, under their stable ids.
      const listed = await http(base, 'GET', COLLECTIONS);
      expect(listed.json.map((c: { name: string }) => c.name).sort()).toEqual(expected.map((c) => c.name));

      console.log(
        `[random sequence, ${store}, seed ${seed}] ${tally.writes} writes + ${tally.reads} reads in ${(elapsed / 1000).toFixed(1)} s; ` +
          `statuses ${JSON.stringify(Object.fromEntries(tally.byStatus))}; ${tally.recreated} re-creations; ${tally.updatesOfMissing} updates of missing ids; ` +
          `${tally.checkpoints} mid-run checkpoints; ${expected.length} collections, ${expected.reduce((n, c) => n + c.records.length, 0)} records`,
      );
    }, LONG_TEST_MS);
  });
}
