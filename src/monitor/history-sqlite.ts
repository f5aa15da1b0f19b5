// The monitor's history in its own SQLite file, DATA_DIR/monitor-history.sqlite (separate from the
// gateway's replication log, so the two never contend for one write lock).
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  batchTables,
  fromDb,
  historySchema,
  TABLES,
  UPTIME_SQL,
  type AlertRow,
  type DeliveryRow,
  type HistoryBatch,
  type HistoryStore,
  type StateChangeRow,
  type UptimeRow,
} from './history-store.js';

type Row = Record<string, unknown>;

export const SQLITE_HISTORY_FILE = 'monitor-history.sqlite';

export class SqliteHistoryStore implements HistoryStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  private db: Database.Database | null = null;

  constructor(dataDir: string) {
    this.location = join(resolve(dataDir), SQLITE_HISTORY_FILE);
  }

  async init(): Promise<void> {
    if (this.db) return;
    mkdirSync(resolve(this.location, '..'), { recursive: true });
    const db = new Database(this.location);
    db.pragma('journal_mode = WAL');
    // History is not the replication log: after a power loss, losing the last rounds is acceptable.
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(historySchema('sqlite'));
    this.db = db;
  }

  async write(batch: HistoryBatch): Promise<void> {
    const db = this.open();
    db.transaction(() => {
      for (const t of batchTables(batch)) {
        const stmt = db.prepare(`INSERT INTO ${t.table} (${t.columns.join(', ')}) VALUES (${t.columns.map(() => '?').join(', ')})`);
        for (const row of t.rows) stmt.run(row.map((v) => (typeof v === 'boolean' ? Number(v) : v)));
      }
    })();
  }

  async prune(before: number): Promise<number> {
    const db = this.open();
    return db.transaction(() =>
      Object.keys(TABLES).reduce((n, table) => n + db.prepare(`DELETE FROM ${table} WHERE at < ?`).run(before).changes, 0),
    )();
  }

  async uptime(from: number, to: number): Promise<UptimeRow[]> {
    return (this.open().prepare(UPTIME_SQL(() => '?')).all(from, to) as Row[]).map(fromDb.uptime);
  }

  async stateChanges(to: number): Promise<StateChangeRow[]> {
    return (this.open().prepare('SELECT * FROM monitor_state_changes WHERE at < ? ORDER BY at, id').all(to) as Row[]).map(fromDb.stateChange);
  }

  async alerts(from: number, to: number): Promise<AlertRow[]> {
    return (this.open().prepare('SELECT * FROM monitor_alerts WHERE at >= ? AND at < ? ORDER BY at, id').all(from, to) as Row[]).map(fromDb.alert);
  }

  async deliveries(from: number, to: number): Promise<DeliveryRow[]> {
    return (this.open().prepare('SELECT * FROM monitor_deliveries WHERE at >= ? AND at < ? ORDER BY at, id').all(from, to) as Row[]).map(fromDb.delivery);
  }

  async close(): Promise<void> {
    this.db?.close();
    this.db = null;
  }

  private open(): Database.Database {
    if (!this.db) throw new Error('history store is not initialised');
    return this.db;
  }
}
