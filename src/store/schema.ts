// Table definitions for both stores. Column names and meanings are the same; only types differ.

export const SCHEMA_SQLITE = `
CREATE TABLE IF NOT EXISTS log_entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  op TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  body BLOB,
  collection_id TEXT,
  tenant TEXT,
  database_name TEXT,
  state TEXT NOT NULL,
  status INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS log_entries_state ON log_entries (state, seq);
CREATE INDEX IF NOT EXISTS log_entries_collection ON log_entries (collection_id, state);
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
  applied_seq INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS cluster_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;

export const SCHEMA_POSTGRES = `
CREATE TABLE IF NOT EXISTS log_entries (
  seq BIGSERIAL PRIMARY KEY,
  op TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  body BYTEA,
  collection_id TEXT,
  tenant TEXT,
  database_name TEXT,
  state TEXT NOT NULL,
  status INTEGER,
  created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_entries_state ON log_entries (state, seq);
CREATE INDEX IF NOT EXISTS log_entries_collection ON log_entries (collection_id, state);
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
  applied_seq BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS cluster_state (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;
