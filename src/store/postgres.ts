// The PostgreSQL replication store, used when DATABASE_URL is set. Same contract and schema as the
// SQLite store; a commit in PostgreSQL is durable before the gateway acknowledges a write.
import pg from 'pg';
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
import { addedColumns, INITIAL_EPOCH, SCHEMA_POSTGRES } from './schema.js';
import { GroupCommitter } from './group-commit.js';
import {
  ADD_COLLECTION_NAME,
  assertReadable,
  collectionNameInPath,
  DELETES_BY_NAME,
  DROP_REQUEST,
  isVersion1,
  READ_SCHEMA_VERSION,
  SCHEMA_VERSION,
  WRITE_SCHEMA_VERSION,
} from './migrate.js';
import { countWithin, DEFAULT_READ_BYTES, OUTCOME_COLUMNS, toCollection, toEntry, toOutcome, type Row } from './rows.js';

/** NOTIFY channel: an entry was appended or decided (other gateways wake up instead of waiting for a poll). */
const CHANNEL = 'chroma_ha_log';

export class PostgresStore implements ReplicationStore {
  readonly kind = 'postgres' as const;
  private readonly pool: pg.Pool;

  constructor(private readonly connectionString: string) {
    this.pool = new pg.Pool({ connectionString, max: 8, connectionTimeoutMillis: 3_000, query_timeout: 10_000 });
    // An idle client losing its server must not crash the gateway: the next query reports it.
    this.pool.on('error', () => {});
  }

  async init(): Promise<void> {
    await this.pool.query(SCHEMA_POSTGRES);
    const stored = (await this.pool.query(READ_SCHEMA_VERSION)).rows[0]?.value;
    assertReadable(stored);
    // Upgraded already: no exclusive lock, which would hold up gateways serving from this log meanwhile.
    if (Number(stored) !== SCHEMA_VERSION) {
      await this.transaction(async (c) => {
        // Gateways starting together upgrade the log one at a time; the others then find it upgraded.
        await c.query('LOCK TABLE log_entries IN ACCESS EXCLUSIVE MODE');
        for (const col of addedColumns({ blob: 'BYTEA' })) await c.query(`ALTER TABLE log_entries ADD COLUMN IF NOT EXISTS ${col.name} ${col.definition}`);
        const columns = await c.query(`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'log_entries'`);
        if (isVersion1(new Set((columns.rows as Row[]).map((r) => String(r.column_name))))) await upgradeToOperations(c);
        await c.query(WRITE_SCHEMA_VERSION);
      });
    }
    await this.pool.query(INITIAL_EPOCH);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private readonly appends = new GroupCommitter<{ e: Operation; origin: string | null }, number>(
    (items) =>
      // A seq is handed out at insert but the row is visible only at commit, and appliers read in seq order:
      // appends take turns (a lock per log table, held to commit) so no entry becomes visible after a later one.
      this.transaction(async (c) => {
        await c.query(`SELECT pg_advisory_xact_lock('log_entries'::regclass::oid::bigint)`);
        const now = Date.now();
        const params: unknown[] = [];
        const rows = items.map(({ e, origin }) => {
          const p = params.length;
          params.push(e.op, e.tenant, e.database, e.collectionId, e.collectionName, e.body, now, origin);
          return `($${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, 'pending', $${p + 7}, $${p + 8})`;
        });
        const r = await c.query(
          `INSERT INTO log_entries (op, tenant, database_name, collection_id, collection_name, request_body, state, created_at, origin)
           VALUES ${rows.join(', ')} RETURNING seq`,
          params,
        );
        await c.query(`SELECT pg_notify('${CHANNEL}', '')`);
        // Rows of one VALUES list take their seqs in list order.
        return (r.rows as Row[]).map((row) => Number(row.seq)).sort((a, b) => a - b);
      }),
    // 8 bind parameters per row, at most 65,535 per statement.
    { maxItems: 1_000, maxBytes: 64 * 1024 * 1024, bytes: ({ e }) => e.body?.length ?? 0 },
  );

  async append(e: Operation, origin: string | null): Promise<number> {
    return this.appends.submit({ e, origin });
  }

  async readAfter(afterSeq: number, limit: number, maxBytes = DEFAULT_READ_BYTES): Promise<LogEntry[]> {
    const sizes = await this.pool.query(
      'SELECT seq, COALESCE(OCTET_LENGTH(request_body), 0) AS size FROM log_entries WHERE seq > $1 ORDER BY seq LIMIT $2',
      [afterSeq, limit],
    );
    const count = countWithin(sizes.rows, maxBytes);
    if (count === 0) return [];
    const r = await this.pool.query('SELECT * FROM log_entries WHERE seq > $1 ORDER BY seq LIMIT $2', [afterSeq, count]);
    return r.rows.map(toEntry);
  }

  async recordApply(rec: ApplyRecord): Promise<ApplyVerdict> {
    return this.transaction((c) => applyOn(c, rec));
  }

  async recordApplies(records: ApplyRecord[]): Promise<ApplyVerdict[]> {
    return this.transaction(async (c) => {
      const verdicts: ApplyVerdict[] = [];
      for (const rec of records) {
        verdicts.push(await applyOn(c, rec));
        if (verdicts[verdicts.length - 1] !== 'recorded') break;
      }
      return verdicts;
    });
  }

  async promote(p: Promotion): Promise<{ promoted: boolean; roles: ClusterRoles }> {
    return this.transaction(async (c) => {
      const epoch = await epochOf(c, 'FOR UPDATE');
      if (epoch !== p.expectedEpoch) return { promoted: false, roles: await rolesOf(c) };
      const count = Number((await c.query(`SELECT value FROM cluster_state WHERE key = 'failover_count'`)).rows[0]?.value ?? 0);
      const set = `INSERT INTO cluster_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
      await c.query(set, ['primary', p.primaryId]);
      await c.query(set, ['epoch', String(epoch + 1)]);
      await c.query(set, ['failover_count', String(count + 1)]);
      await c.query(set, ['last_failover', p.lastFailover]);
      return { promoted: true, roles: { primaryId: p.primaryId, epoch: epoch + 1, failoverCount: count + 1, lastFailover: p.lastFailover } };
    });
  }

  async acquireLease(holder: string, ttlMs: number): Promise<LeaseClaim> {
    // PostgreSQL's clock decides expiry, so gateways on different machines agree on it. \`before\` reads the
    // row as this statement found it (a CTE sees the snapshot before the upsert): whose lease this replaced.
    const r = await this.pool.query(
      `WITH now_ms AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS t),
       before AS (SELECT holder, expires_at FROM applier_lease WHERE name = 'applier'),
       taken AS (
         INSERT INTO applier_lease (name, holder, expires_at) SELECT 'applier', $1, t + $2 FROM now_ms
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE applier_lease.holder = excluded.holder OR applier_lease.expires_at < (SELECT t FROM now_ms)
         RETURNING holder, expires_at)
       SELECT holder, expires_at - (SELECT t FROM now_ms) AS left_ms,
              (SELECT holder FROM before) AS before_holder, (SELECT t FROM now_ms) - (SELECT expires_at FROM before) AS expired_ago_ms
         FROM taken
       UNION ALL
       SELECT holder, expires_at - (SELECT t FROM now_ms), NULL, NULL FROM applier_lease WHERE name = 'applier' AND NOT EXISTS (SELECT 1 FROM taken)`,
      [holder, ttlMs],
    );
    // Empty only when another gateway's first insert committed after this statement's snapshot: not ours.
    const row = r.rows[0] as Row | undefined;
    const claim: LeaseClaim = { holder: String(row?.holder ?? ''), expiresInMs: Number(row?.left_ms ?? 0) };
    if (row?.before_holder != null && row.before_holder !== holder) {
      claim.expiredPredecessor = { holder: String(row.before_holder), expiredAgoMs: Number(row.expired_ago_ms) };
    }
    return claim;
  }

  async releaseLease(holder: string): Promise<void> {
    await this.pool.query(`DELETE FROM applier_lease WHERE name = 'applier' AND holder = $1`, [holder]);
  }

  async readRoles(): Promise<ClusterRoles> {
    return rolesOf(this.pool);
  }

  async advancePosition(nodeId: string, seq: number): Promise<void> {
    await setPosition(this.pool, nodeId, seq);
  }

  async abort(seq: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE log_entries SET state = 'aborted' WHERE seq = $1 AND state = 'pending' AND claimed = 0`, [seq]);
    return (r.rowCount ?? 0) > 0;
  }

  async claim(seq: number): Promise<boolean> {
    const r = await this.pool.query(`UPDATE log_entries SET claimed = 1 WHERE seq = $1 AND state = 'pending'`, [seq]);
    return (r.rowCount ?? 0) > 0;
  }

  async outcomesAfter(seq: number, limit: number): Promise<EntryOutcome[]> {
    const r = await this.pool.query(`SELECT ${OUTCOME_COLUMNS} FROM log_entries WHERE seq > $1 ORDER BY seq LIMIT $2`, [seq, limit]);
    return (r.rows as Row[]).map(toOutcome);
  }

  async readPositions(): Promise<Map<string, number>> {
    const r = await this.pool.query('SELECT node_id, applied_seq FROM node_positions');
    return new Map((r.rows as Row[]).map((p) => [String(p.node_id), Number(p.applied_seq)]));
  }

  async readCatalog(): Promise<Pick<StoredState, 'collections' | 'mappings'>> {
    const collections = (await this.pool.query('SELECT * FROM collections')).rows.map(toCollection);
    const mappings = ((await this.pool.query('SELECT * FROM node_collections')).rows as Row[]).map((m) => ({
      stableId: String(m.stable_id),
      nodeId: String(m.node_id),
      localId: String(m.local_id),
    }));
    return { collections, mappings };
  }

  async head(): Promise<number> {
    return Number((await this.pool.query('SELECT COALESCE(MAX(seq), 0) AS h FROM log_entries')).rows[0].h);
  }

  async watch(onChange: () => void): Promise<() => Promise<void>> {
    // A dedicated connection (LISTEN is per session). If it is lost, callers still poll; it is re-opened.
    let client: pg.Client | null = null;
    let stopped = false;
    let retry: NodeJS.Timeout | null = null;
    const open = async () => {
      const c = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: 3_000 });
      c.on('error', () => reopen());
      c.on('notification', () => onChange());
      try {
        await c.connect();
        await c.query(`LISTEN ${CHANNEL}`);
        if (stopped) await c.end();
        else client = c;
      } catch {
        await c.end().catch(() => undefined);
        reopen();
      }
    };
    const reopen = () => {
      const old = client;
      client = null;
      void old?.end().catch(() => undefined);
      if (!stopped && !retry) retry = setTimeout(() => ((retry = null), void open()), 1_000);
    };
    await open();
    return async () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => undefined);
    };
  }

  async saveCatalog(changes: CatalogChanges): Promise<void> {
    await this.transaction((c) => writeCatalog(c, changes));
  }

  async loadState(): Promise<StoredState> {
    const q = async (sql: string) => (await this.pool.query(sql)).rows as Row[];
    const { collections, mappings } = await this.readCatalog();
    const positions = await this.readPositions();
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
    return { collections, mappings, positions, lastCommitted, pendingSeqs, head: Number(h?.h ?? 0), cluster: await this.readClusterValues() };
  }

  async setClusterValue(key: string, value: string): Promise<void> {
    await this.pool.query('INSERT INTO cluster_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
  }

  async readClusterValues(): Promise<Map<string, string>> {
    const r = await this.pool.query('SELECT key, value FROM cluster_state');
    return new Map((r.rows as Row[]).map((row) => [String(row.key), String(row.value)]));
  }

  async stats(): Promise<LogStats> {
    const r = await this.pool.query(
      'SELECT COALESCE(MAX(seq), 0) AS head, COUNT(*) AS n, COALESCE(SUM(OCTET_LENGTH(request_body)), 0) AS bytes, MIN(seq) AS oldest FROM log_entries',
    );
    const row = r.rows[0] as Row;
    return { head: Number(row.head), entries: Number(row.n), bytes: Number(row.bytes), oldest: row.oldest === null ? null : Number(row.oldest) };
  }

  async bounds(): Promise<Pick<LogStats, 'head' | 'oldest'>> {
    const row = (await this.pool.query('SELECT COALESCE((SELECT MAX(seq) FROM log_entries), 0) AS head, (SELECT MIN(seq) FROM log_entries) AS oldest')).rows[0] as Row;
    return { head: Number(row.head), oldest: row.oldest === null ? null : Number(row.oldest) };
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

/** Version 1 -> 2 (store/migrate.ts), inside init's transaction. */
async function upgradeToOperations(c: Queryable): Promise<void> {
  await c.query(ADD_COLLECTION_NAME);
  for (const r of (await c.query(DELETES_BY_NAME)).rows as Row[]) {
    await c.query('UPDATE log_entries SET collection_name = $1 WHERE seq = $2', [collectionNameInPath(String(r.path)), r.seq]);
  }
  for (const statement of DROP_REQUEST) await c.query(statement);
}

/** One ApplyRecord inside the caller's transaction. */
async function applyOn(c: pg.PoolClient, rec: ApplyRecord): Promise<ApplyVerdict> {
  if (rec.outcome) {
    // FOR SHARE waits for a promotion in progress, and holds promotions off until this outcome commits:
    // an outcome is either recorded under the epoch it was sent in, or refused.
    if ((await epochOf(c, 'FOR SHARE')) !== rec.outcome.epoch) return 'stale-epoch';
    const a = rec.outcome.answer;
    const res = await c.query(
      `UPDATE log_entries SET state = $1, status = $2, collection_id = COALESCE($3, collection_id),
         answer_type = $4, answer_body = $5, answer_node = $6, request_body = COALESCE($8, request_body)
       WHERE seq = $7 AND state = 'pending'`,
      [rec.outcome.state, rec.outcome.status, rec.outcome.collectionId ?? null, a?.contentType ?? null, a ? Buffer.from(a.body) : null, a?.nodeId ?? null, rec.seq, rec.outcome.body ?? null],
    );
    if (res.rowCount === 0) return 'already-decided';
    await c.query(`SELECT pg_notify('${CHANNEL}', '')`);
  }
  await setPosition(c, rec.nodeId, rec.seq);
  if (rec.changes) await writeCatalog(c, rec.changes);
  return 'recorded';
}

async function epochOf(c: Queryable, lock: 'FOR SHARE' | 'FOR UPDATE' | '' = ''): Promise<number> {
  const r = await c.query(`SELECT value FROM cluster_state WHERE key = 'epoch' ${lock}`);
  return Number(r.rows[0]?.value ?? 0);
}

async function rolesOf(c: Queryable): Promise<ClusterRoles> {
  const r = await c.query(`SELECT key, value FROM cluster_state WHERE key IN ('primary', 'epoch', 'failover_count', 'last_failover')`);
  const get = (k: string) => (r.rows as Row[]).find((x) => x.key === k)?.value as string | undefined;
  return {
    primaryId: get('primary') ?? null,
    epoch: Number(get('epoch') ?? 0),
    failoverCount: Number(get('failover_count') ?? 0),
    lastFailover: get('last_failover') ?? null,
  };
}

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
