// Chooses the store: PostgreSQL when DATABASE_URL is set, else SQLite under DATA_DIR.
import type { ReplicationStore } from './types.js';
import { SqliteStore } from './sqlite.js';
import { PostgresStore } from './postgres.js';

export function createStore(options: { databaseUrl?: string; dataDir: string }): ReplicationStore {
  return options.databaseUrl ? new PostgresStore(options.databaseUrl) : new SqliteStore(options.dataDir);
}
