// The embedded replication store: one SQLite file under DATA_DIR, WAL mode with synchronous=FULL so
// that an entry acknowledged to a client survives a kill -9 of the gateway and a power loss.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type {
  ApplyRecord,
  ApplyVerdict,
  CatalogChanges,
  ClusterRoles,
  LogEntry,
  LogStats,
  EntryOutcome,
  Operation,
  Promotion,
  ReplicationStore,
  StoredState,
  LeaseClaim,
} from './types.js';
import { addedColumns, INITIAL_EPOCH, SCHEMA_SQLITE } from './schema.js';
import { GroupCommitter } from './group-commit.js';
import {
  ADD_COLLECTION_NAME,
  assertReadable,
  collectionNameInPath,
  DELETES_BY_NAME,
  DROP_REQUEST,
  isVersion1,
  READ_SCHEMA_VERSION,
  WRITE_SCHEMA_VERSION,
} from './migrate.js';
import { countWithin, DEFAULT_READ_BYTES, OUTCOME_COLUMNS, toCollection, toEntry, toOutcome, type Row } from './rows.js';

export class SqliteStore implements ReplicationStore {
  readonly kind = 'sqlite' as const;
  private db!: Database.Database;

  constructor(private readonly dataDir: string) {}

  async init(): Promise<void> {
    mkdirSync(this.dataDir, { recursive: true });
    this.db = new Database(join(this.dataDir, 'replication-log.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA_SQLITE);
    assertReadable((this.db.prepare(READ_SCHEMA_VERSION).get() as Row | undefined)?.value);
    const present = new Set((this.db.prepare('PRAGMA table_info(log_entries)').all() as Row[]).map((c) => String(c.name)));
    this.db.transaction(() => {
      for (const c of addedColumns({ blob: 'BLOB' })) {
        if (!present.has(c.name)) this.db.exec(`ALTER TABLE log_entries ADD COLUMN ${c.name} ${c.definition}`);
      }
      if (isVersion1(present)) this.upgradeToOperations();
      this.db.exec(WRITE_SCHEMA_VERSION);
      this.db.exec(INITIAL_EPOCH);
    }).immediate();
  }

  /** Version 1 -> 2 (store/migrate.ts), inside init's transaction. */
  private upgradeToOperations(): void {
    this.db.exec(ADD_COLLECTION_NAME);
    const name = this.db.prepare('UPDATE log_entries SET collection_name = ? WHERE seq = ?');
    for (const r of this.db.prepare(DELETES_BY_NAME).all() as Row[]) name.run(collectionNameInPath(String(r.path)), r.seq);
    for (const statement of DROP_REQUEST) this.db.exec(statement);
  }

  async close(): Promise<void> {
    this.db?.close();
  }

  private readonly appends = new GroupCommitter<{ e: Operation; origin: string | null }, number>(
    async (items) => {
      const insert = this.db.prepare(
        `INSERT INTO log_entries (op, tenant, database_name, collection_id, collection_name, request_body, state, created_at, origin)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
      );
      const now = Date.now();
      return this.db
        .transaction(() => items.map(({ e, origin }) => Number(insert.run(e.op, e.tenant, e.database, e.collectionId, e.collectionName, e.body, now, origin).lastInsertRowid)))
        .immediate();
    },
    { maxItems: 1_000, maxBytes: 64 * 1024 * 1024, bytes: ({ e }) => e.body?.length ?? 0 },
  );

  async append(e: Operation, origin: string | null): Promise<number> {
    return this.appends.submit({ e, origin });
  }

  async readAfter(afterSeq: number, limit: number, maxBytes = DEFAULT_READ_BYTES): Promise<LogEntry[]> {
    const sizes = this.db
      .prepare('SELECT seq, COALESCE(LENGTH(request_body), 0) AS size FROM log_entries WHERE seq > ? ORDER BY seq LIMIT ?')
      .all(afterSeq, limit) as Row[];
    const count = countWithin(sizes, maxBytes);
    if (count === 0) return [];
    const rows = this.db.prepare('SELECT * FROM log_entries WHERE seq > ? ORDER BY seq LIMIT ?').all(afterSeq, count) as Row[];
    return rows.map(toEntry);
  }

  async recordApply(r: ApplyRecord): Promise<ApplyVerdict> {
    // A replica's progress needs no fsync of its own: replaying entries is harmless, and the next
    // outcome commit (synchronous=FULL) makes it durable anyway. Only outcomes are acknowledged.
    if (!r.outcome) return this.withoutFsync(() => this.applyTransaction(r));
    return this.applyTransaction(r);
  }

  async recordApplies(records: ApplyRecord[]): Promise<ApplyVerdict[]> {
    const run = () =>
      this.db
        .transaction(() => {
          const verdicts: ApplyVerdict[] = [];
          for (const r of records) {
            verdicts.push(this.applyOne(r));
            if (verdicts[verdicts.length - 1] !== 'recorded') break;
          }
          return verdicts;
        })
        .immediate();
    return records.some((r) => r.outcome) ? run() : this.withoutFsync(run);
  }

  private applyTransaction(r: ApplyRecord): ApplyVerdict {
    return this.db.transaction(() => this.applyOne(r)).immediate();
  }

  /** One record, inside the caller's transaction. */
  private applyOne(r: ApplyRecord): ApplyVerdict {
    if (r.outcome) {
      if (this.epoch() !== r.outcome.epoch) return 'stale-epoch';
      const a = r.outcome.answer;
      const res = this.db
        .prepare(
          `UPDATE log_entries SET state = ?, status = ?, collection_id = COALESCE(?, collection_id),
             answer_type = ?, answer_body = ?, answer_node = ?, request_body = COALESCE(?, request_body)
           WHERE seq = ? AND state = 'pending'`,
        )
        .run(r.outcome.state, r.outcome.status, r.outcome.collectionId ?? null, a?.contentType ?? null, a ? Buffer.from(a.body) : null, a?.nodeId ?? null, r.outcome.body ?? null, r.seq);
      if (res.changes === 0) return 'already-decided';
    }
    this.setPosition(r.nodeId, r.seq);
    if (r.changes) this.writeCatalog(r.changes);
    return 'recorded';
  }

  async promote(p: Promotion): Promise<{ promoted: boolean; roles: ClusterRoles }> {
    return this.db.transaction(() => {
      if (this.epoch() !== p.expectedEpoch) return { promoted: false, roles: this.roles() };
      const count = Number(this.clusterValue('failover_count') ?? 0);
      this.writeClusterValue('primary', p.primaryId);
      this.writeClusterValue('epoch', String(p.expectedEpoch + 1));
      this.writeClusterValue('failover_count', String(count + 1));
      this.writeClusterValue('last_failover', p.lastFailover);
      return { promoted: true, roles: this.roles() };
    }).immediate();
  }

  async acquireLease(holder: string, ttlMs: number): Promise<LeaseClaim> {
    // A SQLite log belongs to the one gateway that opened it: the lease is always its own, at once after a
    // restart too (a predecessor killed with -9 never holds it against its successor).
    this.db
      .prepare(
        `INSERT INTO applier_lease (name, holder, expires_at) VALUES ('applier', ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
      )
      .run(holder, Date.now() + ttlMs);
    return { holder, expiresInMs: ttlMs };
  }

  async releaseLease(holder: string): Promise<void> {
    this.db.prepare(`DELETE FROM applier_lease WHERE name = 'applier' AND holder = ?`).run(holder);
  }

  async readRoles(): Promise<ClusterRoles> {
    return this.roles();
  }

  private roles(): ClusterRoles {
    return {
      primaryId: this.clusterValue('primary'),
      epoch: this.epoch(),
      failoverCount: Number(this.clusterValue('failover_count') ?? 0),
      lastFailover: this.clusterValue('last_failover'),
    };
  }

  private epoch(): number {
    return Number(this.clusterValue('epoch') ?? 0);
  }

  private clusterValue(key: string): string | null {
    const r = this.db.prepare('SELECT value FROM cluster_state WHERE key = ?').get(key) as Row | undefined;
    return r ? String(r.value) : null;
  }

  async advancePosition(nodeId: string, seq: number): Promise<void> {
    this.withoutFsync(() => this.setPosition(nodeId, seq));
  }

  private withoutFsync<T>(fn: () => T): T {
    this.db.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  async abort(seq: number): Promise<boolean> {
    return this.db.prepare(`UPDATE log_entries SET state = 'aborted' WHERE seq = ? AND state = 'pending' AND claimed = 0`).run(seq).changes > 0;
  }

  async claim(seq: number): Promise<boolean> {
    return this.db.prepare(`UPDATE log_entries SET claimed = 1 WHERE seq = ? AND state = 'pending'`).run(seq).changes > 0;
  }

  async outcomesAfter(seq: number, limit: number): Promise<EntryOutcome[]> {
    return (this.db.prepare(`SELECT ${OUTCOME_COLUMNS} FROM log_entries WHERE seq > ? ORDER BY seq LIMIT ?`).all(seq, limit) as Row[]).map(toOutcome);
  }

  async readPositions(): Promise<Map<string, number>> {
    const rows = this.db.prepare('SELECT node_id, applied_seq FROM node_positions').all() as Row[];
    return new Map(rows.map((p) => [String(p.node_id), Number(p.applied_seq)]));
  }

  async readCatalog(): Promise<Pick<StoredState, 'collections' | 'mappings'>> {
    const collections = (this.db.prepare('SELECT * FROM collections').all() as Row[]).map(toCollection);
    const mappings = (this.db.prepare('SELECT * FROM node_collections').all() as Row[]).map((m) => ({
      stableId: String(m.stable_id),
      nodeId: String(m.node_id),
      localId: String(m.local_id),
    }));
    return { collections, mappings };
  }

  async head(): Promise<number> {
    return Number((this.db.prepare('SELECT COALESCE(MAX(seq), 0) AS h FROM log_entries').get() as Row).h);
  }

  /** One gateway per SQLite file: nobody else appends or decides. */
  async watch(): Promise<() => Promise<void>> {
    return async () => undefined;
  }

  async saveCatalog(changes: CatalogChanges): Promise<void> {
    this.db.transaction(() => this.writeCatalog(changes))();
  }

  async setClusterValue(key: string, value: string): Promise<void> {
    this.writeClusterValue(key, value);
  }

  async readClusterValues(): Promise<Map<string, string>> {
    return new Map((this.db.prepare('SELECT key, value FROM cluster_state').all() as Row[]).map((r) => [String(r.key), String(r.value)]));
  }

  private writeClusterValue(key: string, value: string): void {
    this.db
      .prepare('INSERT INTO cluster_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(key, value);
  }

  async loadState(): Promise<StoredState> {
    const { collections, mappings } = await this.readCatalog();
    const positions = await this.readPositions();
    const lastCommitted = new Map(
      (
        this.db
          .prepare(`SELECT COALESCE(collection_id, '') AS c, MAX(seq) AS s FROM log_entries WHERE state = 'committed' GROUP BY collection_id`)
          .all() as Row[]
      ).map((r) => [String(r.c), Number(r.s)]),
    );
    const catalog = this.db
      .prepare(
        `SELECT MAX(seq) AS s FROM log_entries WHERE state = 'committed' AND op NOT IN ('add','upsert','update','delete')`,
      )
      .get() as Row;
    if (catalog.s !== null) lastCommitted.set('', Number(catalog.s));
    const pendingSeqs = (this.db.prepare(`SELECT seq FROM log_entries WHERE state = 'pending' ORDER BY seq`).all() as Row[]).map((r) =>
      Number(r.seq),
    );
    const head = await this.head();
    return { collections, mappings, positions, lastCommitted, pendingSeqs, head, cluster: await this.readClusterValues() };
  }

  async stats(): Promise<LogStats> {
    const r = this.db
      .prepare('SELECT COALESCE(MAX(seq), 0) AS head, COUNT(*) AS n, COALESCE(SUM(LENGTH(request_body)), 0) AS bytes, MIN(seq) AS oldest FROM log_entries')
      .get() as Row;
    return { head: Number(r.head), entries: Number(r.n), bytes: Number(r.bytes), oldest: r.oldest === null ? null : Number(r.oldest) };
  }

  async bounds(): Promise<Pick<LogStats, 'head' | 'oldest'>> {
    const r = this.db.prepare('SELECT COALESCE((SELECT MAX(seq) FROM log_entries), 0) AS head, (SELECT MIN(seq) FROM log_entries) AS oldest').get() as Row;
    return { head: Number(r.head), oldest: r.oldest === null ? null : Number(r.oldest) };
  }

  async lastCreatedBefore(createdBefore: number, scan: number): Promise<number | null> {
    const r = this.db
      .prepare('SELECT MAX(seq) AS s FROM (SELECT seq, created_at FROM log_entries INDEXED BY log_entries_age ORDER BY seq LIMIT ?) WHERE created_at < ?')
      .get(scan, createdBefore) as Row;
    return r.s === null ? null : Number(r.s);
  }

  async truncate(upTo: number, limit: number): Promise<number> {
    // Deleted entries are applied everywhere that matters; losing this delete to a crash only delays it.
    return this.withoutFsync(
      () => this.db.prepare('DELETE FROM log_entries WHERE seq IN (SELECT seq FROM log_entries WHERE seq <= ? ORDER BY seq LIMIT ?)').run(upTo, limit).changes,
    );
  }

  async firstCommittedAfter(seq: number): Promise<{ seq: number; createdAt: number } | null> {
    const r = this.db
      .prepare(`SELECT seq, created_at FROM log_entries WHERE seq > ? AND state = 'committed' ORDER BY seq LIMIT 1`)
      .get(seq) as Row | undefined;
    return r ? { seq: Number(r.seq), createdAt: Number(r.created_at) } : null;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  private setPosition(nodeId: string, seq: number): void {
    this.db
      .prepare(
        `INSERT INTO node_positions (node_id, applied_seq, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (node_id) DO UPDATE SET applied_seq = MAX(node_positions.applied_seq, excluded.applied_seq), updated_at = excluded.updated_at`,
      )
      .run(nodeId, seq, Date.now());
  }

  private writeCatalog(changes: CatalogChanges): void {
    const upsert = this.db.prepare(
      `INSERT INTO collections (stable_id, tenant, database_name, name, origin, deleted) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (stable_id) DO UPDATE SET tenant = excluded.tenant, database_name = excluded.database_name,
         name = excluded.name, origin = excluded.origin, deleted = excluded.deleted`,
    );
    for (const c of changes.collections ?? []) upsert.run(c.stableId, c.tenant, c.database, c.name, c.origin, c.deleted ? 1 : 0);
    const setMap = this.db.prepare(
      `INSERT INTO node_collections (stable_id, node_id, local_id) VALUES (?, ?, ?)
       ON CONFLICT (stable_id, node_id) DO UPDATE SET local_id = excluded.local_id`,
    );
    const delMap = this.db.prepare('DELETE FROM node_collections WHERE stable_id = ? AND node_id = ?');
    for (const m of changes.mappings ?? []) {
      if (m.localId === null) delMap.run(m.stableId, m.nodeId);
      else setMap.run(m.stableId, m.nodeId, m.localId);
    }
  }
}
