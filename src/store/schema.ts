// Table definitions for both stores. Column names and meanings are the same; only types differ.
// log_entries holds operations (store/types.ts Operation); a log written before that is upgraded at open
// (store/migrate.ts).

function schema(t: { serial: string; blob: string; bigint: string }): string {
  return `
CREATE TABLE IF NOT EXISTS log_entries (
  seq ${t.serial},
  op TEXT NOT NULL,
  tenant TEXT,
  database_name TEXT,
  collection_id TEXT,
  collection_name TEXT,
  request_body ${t.blob},
  state TEXT NOT NULL,
  status INTEGER,
  created_at ${t.bigint} NOT NULL,
  origin TEXT,
  claimed INTEGER NOT NULL DEFAULT 0,
  answer_type TEXT,
  answer_body ${t.blob},
  answer_node TEXT
);
CREATE INDEX IF NOT EXISTS log_entries_state ON log_entries (state, seq);
CREATE INDEX IF NOT EXISTS log_entries_collection ON log_entries (collection_id, state);
-- Covers compaction's age scan (the oldest entries' creation times) without reading any request body.
CREATE INDEX IF NOT EXISTS log_entries_age ON log_entries (seq, created_at);
CREATE TABLE IF NOT EXISTS collections (
  stable_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  database_name TEXT NOT NULL,
  name TEXT NOT NULL,
  origin TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS node_collections (
  stable_id TEXT NOT NULL,
  node_id TEXT NOT NULL,
  local_id TEXT NOT NULL,
  PRIMARY KEY (stable_id, node_id)
);
CREATE TABLE IF NOT EXISTS node_positions (
  node_id TEXT PRIMARY KEY,
  applied_seq ${t.bigint} NOT NULL,
  updated_at ${t.bigint} NOT NULL
);
CREATE TABLE IF NOT EXISTS cluster_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS applier_lease (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at ${t.bigint} NOT NULL
);
`;
}

export const SCHEMA_SQLITE = schema({ serial: 'INTEGER PRIMARY KEY AUTOINCREMENT', blob: 'BLOB', bigint: 'INTEGER' });
export const SCHEMA_POSTGRES = schema({ serial: 'BIGSERIAL PRIMARY KEY', blob: 'BYTEA', bigint: 'BIGINT' });

/**
 * The epoch row exists from the start, so that recording an outcome can lock it against a concurrent
 * promotion (a row that does not exist yet cannot be locked).
 */
export const INITIAL_EPOCH = `INSERT INTO cluster_state (key, value) VALUES ('epoch', '0') ON CONFLICT (key) DO NOTHING`;

/**
 * Columns added to log_entries after the first release (several gateways on one store): a log created
 * before them gets them on start-up. origin: the gateway that appended the entry; claimed: a leaseholder
 * started sending it (it can no longer be withdrawn, and a successor must replay it with tolerance);
 * answer_*: the primary's answer, so that the gateway whose client waits can answer it.
 */
export function addedColumns(t: { blob: string }): Array<{ name: string; definition: string }> {
  return [
    { name: 'origin', definition: 'TEXT' },
    { name: 'claimed', definition: 'INTEGER NOT NULL DEFAULT 0' },
    { name: 'answer_type', definition: 'TEXT' },
    { name: 'answer_body', definition: t.blob },
    { name: 'answer_node', definition: 'TEXT' },
  ];
}
