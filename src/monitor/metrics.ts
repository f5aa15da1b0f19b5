// The monitor's own Prometheus metrics and the small HTTP server that serves them (GET /metrics).
// A registry per monitor, never prom-client's global one, so several monitors can live in one process.
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { renderWithProcessMetrics } from '../metrics/process-metrics.js';
import type { Alert } from '../notify/alert.js';
import type { DeliveryRecord } from '../notify/notifier.js';
import { VERSION } from '../version.js';

export interface MonitorGaugeSources {
  targets(): Array<{ target: string; kind: string; up: boolean }>;
  lag(): Array<{ node: string; entries: number; seconds: number }>;
  openIncidents(): number;
  queues(): Array<{ sink: string; pending: number }>;
  history(): { buffered: number; available: boolean };
}

export class MonitorMetrics {
  readonly registry = new Registry();
  private server: Server | null = null;
  private readonly checks: Counter<'target' | 'result'>;
  private readonly checkDuration: Histogram<'target'>;
  private readonly alerts: Counter<'kind' | 'status' | 'severity'>;
  private readonly notifications: Counter<'sink' | 'outcome'>;
  private readonly attempts: Counter<'sink'>;
  private readonly historyDropped: Counter;
  private readonly lastCycle: Gauge;

  constructor(sources: MonitorGaugeSources) {
    const registers = [this.registry];
    new Gauge({ name: 'chroma_ha_monitor_info', help: 'Always 1; the version label says which monitor is running.', labelNames: ['version'], registers }).set({ version: VERSION }, 1);
    this.checks = new Counter({ name: 'chroma_ha_monitor_checks_total', help: 'Checks run, by target and result (ok or failed).', labelNames: ['target', 'result'], registers });
    this.checkDuration = new Histogram({
      name: 'chroma_ha_monitor_check_duration_seconds',
      help: 'Time a check took until it answered (failed checks without an answer are not observed).',
      labelNames: ['target'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.alerts = new Counter({ name: 'chroma_ha_monitor_alerts_total', help: 'Notifications raised, by kind, status and severity.', labelNames: ['kind', 'status', 'severity'], registers });
    this.notifications = new Counter({
      name: 'chroma_ha_monitor_notifications_total',
      help: 'Notification deliveries per sink: delivered, failed (after retries) or dropped (queue full).',
      labelNames: ['sink', 'outcome'],
      registers,
    });
    this.attempts = new Counter({ name: 'chroma_ha_monitor_notification_attempts_total', help: 'HTTP attempts made to deliver notifications, per sink.', labelNames: ['sink'], registers });
    this.historyDropped = new Counter({ name: 'chroma_ha_monitor_history_dropped_rows_total', help: 'History rows dropped because the store was unreachable and the buffer full.', registers });
    this.lastCycle = new Gauge({ name: 'chroma_ha_monitor_last_check_timestamp_seconds', help: 'When the last round of checks started (Unix time).', registers });
    new Gauge({
      name: 'chroma_ha_monitor_target_up',
      help: '1 when the target (node or gateway) is up by the monitor\'s checks, 0 when down or not yet known.',
      labelNames: ['target', 'kind'],
      registers,
      collect() {
        this.reset();
        for (const t of sources.targets()) this.set({ target: t.target, kind: t.kind }, t.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'chroma_ha_monitor_replica_lag_entries',
      help: 'Log entries each node is behind, as the gateway last reported.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const l of sources.lag()) this.set({ node: l.node }, l.entries);
      },
    });
    new Gauge({
      name: 'chroma_ha_monitor_replica_lag_seconds',
      help: 'Age in seconds of the oldest write each node has not applied, as the gateway last reported.',
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const l of sources.lag()) this.set({ node: l.node }, l.seconds);
      },
    });
    new Gauge({
      name: 'chroma_ha_monitor_open_incidents',
      help: 'Problems currently open (down nodes, lag, diverged nodes, flapping, ...).',
      registers,
      collect() {
        this.set(sources.openIncidents());
      },
    });
    new Gauge({
      name: 'chroma_ha_monitor_notification_queue_length',
      help: 'Notifications waiting for (or being delivered to) each sink.',
      labelNames: ['sink'],
      registers,
      collect() {
        for (const q of sources.queues()) this.set({ sink: q.sink }, q.pending);
      },
    });
    new Gauge({
      name: 'chroma_ha_monitor_history_buffered_rows',
      help: 'History rows held in memory, waiting for the store.',
      registers,
      collect() {
        this.set(sources.history().buffered);
      },
    });
    new Gauge({
      name: 'chroma_ha_monitor_history_store_up',
      help: '1 when the last write to the history store succeeded.',
      registers,
      collect() {
        this.set(sources.history().available ? 1 : 0);
      },
    });
  }

  check(target: string, ok: boolean, latencyMs: number | null): void {
    this.checks.inc({ target, result: ok ? 'ok' : 'failed' });
    if (latencyMs !== null) this.checkDuration.observe({ target }, latencyMs / 1000);
  }

  cycle(at: number): void {
    this.lastCycle.set(at / 1000);
  }

  alert(a: Alert): void {
    this.alerts.inc({ kind: a.kind, status: a.status, severity: a.severity });
  }

  delivery(r: DeliveryRecord): void {
    this.notifications.inc({ sink: r.sink, outcome: r.ok ? 'delivered' : r.dropped ? 'dropped' : 'failed' });
    if (r.attempts > 0) this.attempts.inc({ sink: r.sink }, r.attempts);
  }

  historyDrop(rows: number): void {
    this.historyDropped.inc(rows);
  }

  async listen(port: number, host: string): Promise<number> {
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'NotFound', message: 'the monitor serves GET /metrics' }));
        return;
      }
      renderWithProcessMetrics(this.registry)
        .then((text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text))
        .catch(() => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'InternalError', message: 'metrics collection failed' })));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const addr = server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    await closed;
  }
}
