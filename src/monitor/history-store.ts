// The monitor's history: every check result, every state change, every alert and every delivery
// outcome, in four monitor_* tables (PostgreSQL when DATABASE_URL is set, else one SQLite file under
// DATA_DIR). Both stores share the column lists below, so rows are written and read the same way.
import type { HistoryConfig } from '../config/monitor-settings.js';

export interface CheckRow {
  at: number;
  target: string;
  targetKind: 'node' | 'gateway';
  ok: boolean;
  latencyMs: number | null;
  error: string | null;
  /** The target's state after this check (up, down, unknown). */
  state: string;
  role: string | null;
  lagEntries: number | null;
  lagSeconds: number | null;
}

export interface StateChangeRow {
  at: number;
  target: string;
  fromState: string;
  toState: string;
  /** First check of the streak that caused the change. */
  since: number;
  reason: string;
}

export interface AlertRow {
  at: number;
  alertId: string;
  kind: string;
  status: string;
  severity: string;
  target: string;
  title: string;
  since: number;
  durationSeconds: number | null;
  incidentId: string | null;
  details: string;
}

export interface DeliveryRow {
  at: number;
  sink: string;
  alertId: string;
  kind: string;
  ok: boolean;
  dropped: boolean;
  attempts: number;
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

export interface HistoryBatch {
  checks: CheckRow[];
  stateChanges: StateChangeRow[];
  alerts: AlertRow[];
  deliveries: DeliveryRow[];
}

export interface UptimeRow {
  target: string;
  targetKind: string;
  checks: number;
  okChecks: number;
  avgLatencyMs: number | null;
}

export interface HistoryStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Where the history lives, for messages (no credentials). */
  readonly location: string;
  init(): Promise<void>;
  /** Writes the batch in one transaction. */
  write(batch: HistoryBatch): Promise<void>;
  /** Deletes rows older than `before` from every table; returns how many. */
  prune(before: number): Promise<number>;
  uptime(from: number, to: number): Promise<UptimeRow[]>;
  /** State changes up to `to`, oldest first (a period's incidents may have started before it). */
  stateChanges(to: number): Promise<StateChangeRow[]>;
  alerts(from: number, to: number): Promise<AlertRow[]>;
  deliveries(from: number, to: number): Promise<DeliveryRow[]>;
  close(): Promise<void>;
}

type Column<R> = [column: string, value: (row: R) => unknown];

export const TABLES = {
  monitor_checks: [
    ['at', (r) => r.at],
    ['target', (r) => r.target],
    ['target_kind', (r) => r.targetKind],
    ['ok', (r) => r.ok],
    ['latency_ms', (r) => r.latencyMs],
    ['error', (r) => r.error],
    ['state', (r) => r.state],
    ['role', (r) => r.role],
    ['lag_entries', (r) => r.lagEntries],
    ['lag_seconds', (r) => r.lagSeconds],
  ] satisfies Column<CheckRow>[],
  monitor_state_changes: [
    ['at', (r) => r.at],
    ['target', (r) => r.target],
    ['from_state', (r) => r.fromState],
    ['to_state', (r) => r.toState],
    ['since', (r) => r.since],
    ['reason', (r) => r.reason],
  ] satisfies Column<StateChangeRow>[],
  monitor_alerts: [
    ['at', (r) => r.at],
    ['alert_id', (r) => r.alertId],
    ['kind', (r) => r.kind],
    ['status', (r) => r.status],
    ['severity', (r) => r.severity],
    ['target', (r) => r.target],
    ['title', (r) => r.title],
    ['since', (r) => r.since],
    ['duration_seconds', (r) => r.durationSeconds],
    ['incident_id', (r) => r.incidentId],
    ['details', (r) => r.details],
  ] satisfies Column<AlertRow>[],
  monitor_deliveries: [
    ['at', (r) => r.at],
    ['sink', (r) => r.sink],
    ['alert_id', (r) => r.alertId],
    ['kind', (r) => r.kind],
    ['ok', (r) => r.ok],
    ['dropped', (r) => r.dropped],
    ['attempts', (r) => r.attempts],
    ['http_status', (r) => r.httpStatus],
    ['error', (r) => r.error],
    ['duration_ms', (r) => r.durationMs],
  ] satisfies Column<DeliveryRow>[],
};
export type TableName = keyof typeof TABLES;

/** Each table with its rows from a batch, in the order they are written. */
export function batchTables(batch: HistoryBatch): Array<{ table: TableName; columns: string[]; rows: unknown[][] }> {
  const pick = <R>(table: TableName, cols: Column<R>[], rows: R[]) => ({
    table,
    columns: cols.map(([c]) => c),
    rows: rows.map((r) => cols.map(([, v]) => v(r))),
  });
  return [
    pick('monitor_checks', TABLES.monitor_checks, batch.checks),
    pick('monitor_state_changes', TABLES.monitor_state_changes, batch.stateChanges),
    pick('monitor_alerts', TABLES.monitor_alerts, batch.alerts),
    pick('monitor_deliveries', TABLES.monitor_deliveries, batch.deliveries),
  ].filter((t) => t.rows.length > 0);
}

/** Column types differ per dialect; names and meanings do not. */
export function historySchema(dialect: 'sqlite' | 'postgres'): string {
  const id = dialect === 'sqlite' ? 'id INTEGER PRIMARY KEY AUTOINCREMENT' : 'id BIGSERIAL PRIMARY KEY';
  const bool = dialect === 'sqlite' ? 'INTEGER' : 'BOOLEAN';
  const real = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  return `
CREATE TABLE IF NOT EXISTS monitor_checks (
  ${id}, at BIGINT NOT NULL, target TEXT NOT NULL, target_kind TEXT NOT NULL, ok ${bool} NOT NULL,
  latency_ms ${real}, error TEXT, state TEXT NOT NULL, role TEXT, lag_entries BIGINT, lag_seconds ${real}
);
CREATE INDEX IF NOT EXISTS monitor_checks_at ON monitor_checks (at);
CREATE TABLE IF NOT EXISTS monitor_state_changes (
  ${id}, at BIGINT NOT NULL, target TEXT NOT NULL, from_state TEXT NOT NULL, to_state TEXT NOT NULL,
  since BIGINT NOT NULL, reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_state_changes_at ON monitor_state_changes (at);
CREATE TABLE IF NOT EXISTS monitor_alerts (
  ${id}, at BIGINT NOT NULL, alert_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, severity TEXT NOT NULL,
  target TEXT NOT NULL, title TEXT NOT NULL, since BIGINT NOT NULL, duration_seconds ${real}, incident_id TEXT, details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_alerts_at ON monitor_alerts (at);
CREATE TABLE IF NOT EXISTS monitor_deliveries (
  ${id}, at BIGINT NOT NULL, sink TEXT NOT NULL, alert_id TEXT NOT NULL, kind TEXT NOT NULL, ok ${bool} NOT NULL,
  dropped ${bool} NOT NULL, attempts INTEGER NOT NULL, http_status INTEGER, error TEXT, duration_ms ${real} NOT NULL
);
CREATE INDEX IF NOT EXISTS monitor_deliveries_at ON monitor_deliveries (at);
`;
}

/** Database row (snake_case, numbers possibly as strings from pg) back to the row types. */
export const fromDb = {
  stateChange: (r: Record<string, unknown>): StateChangeRow => ({
    at: Number(r.at),
    target: String(r.target),
    fromState: String(r.from_state),
    toState: String(r.to_state),
    since: Number(r.since),
    reason: String(r.reason),
  }),
  alert: (r: Record<string, unknown>): AlertRow => ({
    at: Number(r.at),
    alertId: String(r.alert_id),
    kind: String(r.kind),
    status: String(r.status),
    severity: String(r.severity),
    target: String(r.target),
    title: String(r.title),
    since: Number(r.since),
    durationSeconds: r.duration_seconds === null ? null : Number(r.duration_seconds),
    incidentId: r.incident_id === null ? null : String(r.incident_id),
    details: String(r.details),
  }),
  delivery: (r: Record<string, unknown>): DeliveryRow => ({
    at: Number(r.at),
    sink: String(r.sink),
    alertId: String(r.alert_id),
    kind: String(r.kind),
    ok: Boolean(r.ok),
    dropped: Boolean(r.dropped),
    attempts: Number(r.attempts),
    httpStatus: r.http_status === null ? null : Number(r.http_status),
    error: r.error === null ? null : String(r.error),
    durationMs: Number(r.duration_ms),
  }),
  uptime: (r: Record<string, unknown>): UptimeRow => ({
    target: String(r.target),
    targetKind: String(r.target_kind),
    checks: Number(r.checks),
    okChecks: Number(r.ok_checks),
    avgLatencyMs: r.avg_latency === null ? null : Math.round(Number(r.avg_latency) * 10) / 10,
  }),
};

export const UPTIME_SQL = (p: (n: number) => string) => `
SELECT target, target_kind, COUNT(*) AS checks, SUM(CASE WHEN ok THEN 1 ELSE 0 END) AS ok_checks,
       AVG(latency_ms) AS avg_latency
FROM monitor_checks WHERE at >= ${p(1)} AND at < ${p(2)} GROUP BY target, target_kind ORDER BY target_kind DESC, target`;

export async function openHistoryStore(config: HistoryConfig): Promise<HistoryStore> {
  if (config.databaseUrl) {
    const { PostgresHistoryStore } = await import('./history-postgres.js');
    return new PostgresHistoryStore(config.databaseUrl);
  }
  const { SqliteHistoryStore } = await import('./history-sqlite.js');
  return new SqliteHistoryStore(config.dataDir);
}
