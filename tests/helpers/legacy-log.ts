// Replication logs in the layout of earlier chroma-ha versions (schema version 1: each entry keeps the HTTP
// request, `method` and `path`, and `body`), for the tests of the upgrade at open (src/store/migrate.ts).
// The DDL is src/store/schema.ts as it was in git history, not derived from today's schema.
import Database from 'better-sqlite3';
import pg from 'pg';

type Dialect = 'sqlite' | 'postgres';

const TYPES = {
  sqlite: { serial: 'INTEGER PRIMARY KEY AUTOINCREMENT', blob: 'BLOB', bigint: 'INTEGER' },
  postgres: { serial: 'BIGSERIAL PRIMARY KEY', blob: 'BYTEA', bigint: 'BIGINT' },
};

/**
 * log_entries as the last version 1 release created it (schema.ts at a71754d): the request columns plus
 * the columns added for several gateways. `firstRelease`: as the first release created it (schema.ts at
 * 5dc5833), before those columns existed.
 */
export function v1LogTable(dialect: Dialect, firstRelease = false): string {
  const t = TYPES[dialect];
  const later = firstRelease
    ? ''
    : `,
  origin TEXT,
  claimed INTEGER NOT NULL DEFAULT 0,
  answer_type TEXT,
  answer_body ${t.blob},
  answer_node TEXT`;
  return `
CREATE TABLE log_entries (
  seq ${t.serial},
  op TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  body ${t.blob},
  collection_id TEXT,
  tenant TEXT,
  database_name TEXT,
  state TEXT NOT NULL,
  status INTEGER,
  created_at ${t.bigint} NOT NULL${later}
);
CREATE INDEX IF NOT EXISTS log_entries_state ON log_entries (state, seq);
CREATE INDEX IF NOT EXISTS log_entries_collection ON log_entries (collection_id, state);
CREATE TABLE IF NOT EXISTS cluster_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;
}

/** The request a version 1 gateway logged for an entry: the client's method and path (stable collection ids). */
export interface V1Request {
  method: string;
  path: string;
}

export interface V1Row extends V1Request {
  seq: number;
  op: string;
  body: Buffer | null;
  collectionId: string | null;
  tenant: string | null;
  database: string | null;
  state: string;
  status: number | null;
  createdAt: number;
}

const V1_COLUMNS = 'seq, op, method, path, body, collection_id, tenant, database_name, state, status, created_at';
const v1Values = (r: V1Row) => [r.seq, r.op, r.method, r.path, r.body, r.collectionId, r.tenant, r.database, r.state, r.status, r.createdAt];

/** A SQLite log file in the version 1 layout holding `rows`. */
export function writeV1Sqlite(file: string, rows: V1Row[], firstRelease = false): void {
  const db = new Database(file);
  try {
    db.exec(v1LogTable('sqlite', firstRelease));
    const insert = db.prepare(`INSERT INTO log_entries (${V1_COLUMNS}) VALUES (${V1_COLUMNS.split(',').map(() => '?').join(', ')})`);
    for (const r of rows) insert.run(...v1Values(r));
  } finally {
    db.close();
  }
}

/** A PostgreSQL log (the schema `databaseUrl` points at) in the version 1 layout holding `rows`. */
export async function writeV1Postgres(databaseUrl: string, rows: V1Row[]): Promise<void> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(v1LogTable('postgres'));
    for (const r of rows) {
      await db.query(`INSERT INTO log_entries (${V1_COLUMNS}) VALUES (${V1_COLUMNS.split(',').map((_, i) => `$${i + 1}`).join(', ')})`, v1Values(r));
    }
    await db.query(`SELECT setval(pg_get_serial_sequence('log_entries', 'seq'), (SELECT MAX(seq) FROM log_entries))`);
  } finally {
    await db.end();
  }
}

/**
 * Rewrites the log of a store this version wrote into the version 1 layout, as if a version 1 gateway had
 * logged the same writes: each entry gets the request it came from (`requests`, by seq), the rest of the
 * store (catalog, positions, cluster values) stays. Returns the rows written.
 */
export async function downgradeToV1(dialect: Dialect, location: string, requests: Map<number, V1Request>): Promise<V1Row[]> {
  const toV1 = (r: Record<string, unknown>): V1Row => {
    const request = requests.get(Number(r.seq));
    if (!request) throw new Error(`no request recorded for entry ${String(r.seq)}`);
    return {
      seq: Number(r.seq),
      op: String(r.op),
      ...request,
      body: r.request_body === null ? null : Buffer.from(r.request_body as Uint8Array),
      collectionId: (r.collection_id as string | null) ?? null,
      tenant: (r.tenant as string | null) ?? null,
      database: (r.database_name as string | null) ?? null,
      state: String(r.state),
      status: r.status === null ? null : Number(r.status),
      createdAt: Number(r.created_at),
    };
  };
  if (dialect === 'sqlite') {
    const db = new Database(location);
    const rows = (db.prepare('SELECT * FROM log_entries ORDER BY seq').all() as Array<Record<string, unknown>>).map(toV1);
    db.exec(`DROP TABLE log_entries; DELETE FROM cluster_state WHERE key = 'schema_version'`);
    db.close();
    writeV1Sqlite(location, rows);
    return rows;
  }
  const db = new pg.Client({ connectionString: location });
  await db.connect();
  let rows: V1Row[];
  try {
    rows = (await db.query('SELECT * FROM log_entries ORDER BY seq')).rows.map(toV1);
    await db.query(`DROP TABLE log_entries; DELETE FROM cluster_state WHERE key = 'schema_version'`);
  } finally {
    await db.end();
  }
  await writeV1Postgres(location, rows);
  return rows;
}
