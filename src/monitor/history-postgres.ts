// The monitor's history in PostgreSQL (DATABASE_URL), in monitor_* tables next to whatever else the
// database holds. Short timeouts: an unreachable database must not stall the history flush for long.
import pg from 'pg';
import { redactUrl } from '../log/redact.js';
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

/** Rows per INSERT statement (PostgreSQL allows 65535 parameters per statement). */
const CHUNK = 500;

export class PostgresHistoryStore implements HistoryStore {
  readonly kind = 'postgres' as const;
  readonly location: string;
  private readonly pool: pg.Pool;
  private ready = false;

  constructor(connectionString: string) {
    this.location = redactUrl(connectionString);
    this.pool = new pg.Pool({ connectionString, max: 2, connectionTimeoutMillis: 3_000, query_timeout: 10_000 });
    // A pooled connection dropped by the server must not crash the monitor: the next query reports it.
    this.pool.on('error', () => {});
  }

  async init(): Promise<void> {
    if (this.ready) return;
    await this.pool.query(historySchema('postgres'));
    this.ready = true;
  }

  async write(batch: HistoryBatch): Promise<void> {
    const client = await this.pool.connect();
    // A checked-out client whose connection drops emits 'error'; unheard, that would end the process.
    const onError = () => {};
    client.on('error', onError);
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      for (const t of batchTables(batch)) {
        for (let i = 0; i < t.rows.length; i += CHUNK) {
          const rows = t.rows.slice(i, i + CHUNK);
          const width = t.columns.length;
          const values = rows.map((_, r) => `(${t.columns.map((__, c) => `$${r * width + c + 1}`).join(', ')})`).join(', ');
          await client.query(`INSERT INTO ${t.table} (${t.columns.join(', ')}) VALUES ${values}`, rows.flat());
        }
      }
      await client.query('COMMIT');
    } catch (err) {
      broken = err as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.off('error', onError);
      client.release(broken); // a failed connection is discarded, not returned to the pool
    }
  }

  async prune(before: number): Promise<number> {
    let n = 0;
    for (const table of Object.keys(TABLES)) n += (await this.pool.query(`DELETE FROM ${table} WHERE at < $1`, [before])).rowCount ?? 0;
    return n;
  }

  async uptime(from: number, to: number): Promise<UptimeRow[]> {
    return (await this.pool.query(UPTIME_SQL((n) => `$${n}`), [from, to])).rows.map(fromDb.uptime);
  }

  async stateChanges(to: number): Promise<StateChangeRow[]> {
    return (await this.pool.query('SELECT * FROM monitor_state_changes WHERE at < $1 ORDER BY at, id', [to])).rows.map(fromDb.stateChange);
  }

  async alerts(from: number, to: number): Promise<AlertRow[]> {
    return (await this.pool.query('SELECT * FROM monitor_alerts WHERE at >= $1 AND at < $2 ORDER BY at, id', [from, to])).rows.map(fromDb.alert);
  }

  async deliveries(from: number, to: number): Promise<DeliveryRow[]> {
    return (await this.pool.query('SELECT * FROM monitor_deliveries WHERE at >= $1 AND at < $2 ORDER BY at, id', [from, to])).rows.map(fromDb.delivery);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
