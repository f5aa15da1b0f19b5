// The PostgreSQL replication store, used when DATABASE_URL is set. Same contract and schema as the
// SQLite store; a commit in PostgreSQL is durable before the gateway acknowledges a write.
import pg from 'pg';
import type {
  ApplyRecord,
  CatalogChanges,
  LogEntry,
  LogStats,
  NewEntry,
  ReplicationStore,
  StoredState,
} from './types.js';
import { SCHEMA_POSTGRES } from './schema.js';
import { countWithin, DEFAULT_READ_BYTES, toCollection, toEntry, type Row } from './rows.js';

export class PostgresStore implements ReplicationStore {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(connectionString: string) {
    this.pool = new pg.Pool({ connectionString, max: 8, connectionTimeoutMillis: 3_000, query_timeout: 10_000 });
    // An idle client losing its server must not crash the gateway: the next query reports it.
    this.pool.on('error', () => {});
  }

  async init(): Promise<void> {
    await this.pool.query(SCHEMA_POSTGRES);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async append(e: NewEntry): Promise<number> {
    // A seq is handed out at insert but the row is visible only at commit, and appliers read in seq order:
    // appends take turns (a lock per log table, held to commit) so no entry becomes visible after a later one.
    return this.transaction(async (c) => {
      await c.query(`SELECT pg_advisory_xact_lock('log_entries'::regclass::oid::bigint)`);
      const r = await c.query(
        `INSERT INTO log_entries (op, method, path, body, collection_id, tenant, database_name, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING seq`,
        [e.op, e.method, e.path, e.body, e.collectionId, e.tenant, e.database, Date.now()],
      );
      return Number(r.rows[0].seq);
    });
  }

  async readAfter(afterSeq: number, limit: number, maxBytes = DEFAULT_READ_BYTES): Promise<LogEntry[]> {
    const sizes = await this.pool.query(
      'SELECT seq, COALESCE(OCTET_LENGTH(body), 0) AS size FROM log_entries WHERE seq > $1 ORDER BY seq LIMIT $2',
      [afterSeq, limit],
    );
    const count = countWithin(sizes.rows, maxBytes);
    if (count === 0) return [];
    const r = await this.pool.query('SELECT * FROM log_entries WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, count]);
    return r.rows.map(toEntry);
  }

  async recordApply(rec: ApplyRecord): Promise<boolean> {
    return this.transaction(async (c) => {
      if (rec.outcome) {
        const res = await c.query(
          `UPDATE log_entries SET state = $1, status = $2, collection_id = COALESCE($3, collection_id) WHERE seq = $4 AND state = 'pending'`,
          [rec.outcome.state, rec.outcome.status, rec.outcome.collectionId ?? null, rec.seq],
        );
        if (res.rowCount === 0) return false;
      }
      await setPosition(c, rec.nodeId, rec.seq);
      if (rec.changes) await writeCatalog(c, rec.changes);
      return true;
    });
  }

  async advancePosition(nodeId: string, seq: number): Promise<void> {
    await setPosition(this.pool, nodeId, seq);
  }

  async abort(seq: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE log_entries SET state = 'aborted' WHERE seq = $1 AND state = 'pending'`, [seq]);
    return (r.rowCount ?? 0) > 0;
  }

  async saveCatalog(changes: CatalogChanges): Promise<void> {
    await this.transaction((c) => writeCatalog(c, changes));
  }

  async setClusterValue(key: string, value: string): Promise<void> {
    await this.pool.query(
      'INSERT INTO cluster_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  async loadState(): Promise<StoredState> {
    const q = async (sql: string) => (await this.pool.query(sql)).rows as Row[];
    const collections = (await q('SELECT * FROM collections')).map(toCollection);
    const mappings = (await q('SELECT * FROM node_collections')).map((m) => ({
      stableId: String(m.stable_id),
      nodeId: String(m.node_id),
      localId: String(m.local_id),
    }));
    const positions = new Map((await q('SELECT node_id, applied_seq FROM node_positions')).map((p) => [String(p.node_id), Number(p.applied_seq)]));
    const cluster = new Map((await q('SELECT key, value FROM cluster_state')).map((c) => [String(c.key), String(c.value)]));
    const lastCommitted = new Map(
      (await q(`SELECT COALESCE(collection_id, '') AS c, MAX(seq) AS s FROM log_entries WHERE state = 'committed' GROUP BY collection_id`)).map(
        (r) => [String(r.c), Number(r.s)],
      ),
    );
    const [catalog] = await q(
      `SELECT MAX(seq) AS s FROM log_entries WHERE state = 'committed' AND op NOT IN ('add','upsert','update','delete')`,
    );
    if (catalog && catalog.s !== null) lastCommitted.set('', Number(catalog.s));
    const pendingSeqs = (await q(`SELECT seq FROM log_entries WHERE state = 'pending' ORDER BY seq`)).map((r) => Number(r.seq));
    const [h] = await q('SELECT COALESCE(MAX(seq), 0) AS h FROM log_entries');
    return { collections, mappings, positions, cluster, lastCommitted, pendingSeqs, head: Number(h?.h ?? 0) };
  }

  async stats(): Promise<LogStats> {
    const r = await this.pool.query(
      'SELECT COALESCE(MAX(seq), 0) AS head, COUNT(*) AS n, COALESCE(SUM(OCTET_LENGTH(body)), 0) AS bytes, MIN(seq) AS oldest FROM log_entries',
    );
    const row = r.rows[0] as Row;
    return { head: Number(row.head), entries: Number(row.n), bytes: Number(row.bytes), oldest: row.oldest === null ? null : Number(row.oldest) };
  }

  async lastCreatedBefore(createdBefore: number, scan: number): Promise<number | null> {
    const r = await this.pool.query(
      'SELECT MAX(seq) AS s FROM (SELECT seq, created_at FROM log_entries ORDER BY seq LIMIT $1) oldest WHERE created_at < $2',
      [scan, createdBefore],
    );
    const row = r.rows[0] as Row;
    return row.s === null ? null : Number(row.s);
  }

  async truncate(upTo: number, limit: number): Promise<number> {
    const r = await this.pool.query('DELETE FROM log_entries WHERE seq IN (SELECT seq FROM log_entries WHERE seq <= $1 ORDER BY seq LIMIT $2)', [upTo, limit]);
    return r.rowCount ?? 0;
  }

  async firstCommittedAfter(seq: number): Promise<{ seq: number; createdAt: number } | null> {
    const r = await this.pool.query(
      `SELECT seq, created_at FROM log_entries WHERE seq > $1 AND state = 'committed' ORDER BY seq LIMIT 1`,
      [seq],
    );
    const row = r.rows[0] as Row | undefined;
    return row ? { seq: Number(row.seq), createdAt: Number(row.created_at) } : null;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    // A connection lost mid-transaction fails the query in progress; its 'error' event, which the pool does
    // not listen to while a client is checked out, would otherwise crash the gateway.
    const lost = () => {};
    c.on('error', lost);
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      c.off('error', lost);
      c.release();
    }
  }
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

async function setPosition(c: Queryable, nodeId: string, seq: number): Promise<void> {
  await c.query(
    `INSERT INTO node_positions (node_id, applied_seq, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (node_id) DO UPDATE SET applied_seq = GREATEST(node_positions.applied_seq, excluded.applied_seq), updated_at = excluded.updated_at`,
    [nodeId, seq, Date.now()],
  );
}

async function writeCatalog(c: Queryable, changes: CatalogChanges): Promise<void> {
  for (const col of changes.collections ?? []) {
    await c.query(
      `INSERT INTO collections (stable_id, tenant, database_name, name, origin, deleted) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (stable_id) DO UPDATE SET tenant = excluded.tenant, database_name = excluded.database_name,
         name = excluded.name, origin = excluded.origin, deleted = excluded.deleted`,
      [col.stableId, col.tenant, col.database, col.name, col.origin, col.deleted ? 1 : 0],
    );
  }
  for (const m of changes.mappings ?? []) {
    if (m.localId === null) {
      await c.query('DELETE FROM node_collections WHERE stable_id = $1 AND node_id = $2', [m.stableId, m.nodeId]);
    } else {
      await c.query(
        `INSERT INTO node_collections (stable_id, node_id, local_id) VALUES ($1, $2, $3)
         ON CONFLICT (stable_id, node_id) DO UPDATE SET local_id = excluded.local_id`,
        [m.stableId, m.nodeId, m.localId],
      );
    }
  }
}
