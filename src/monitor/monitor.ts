// The monitor worker (`chroma-ha monitor`): every CHECK_INTERVAL it checks every node and the gateway,
// feeds the results to the detector, stores history and hands alerts to the notifier, which delivers in
// the background. Rounds start at a fixed rate; nothing a sink or the store does can hold one up.
// The clock is injectable so tests can drive hours of simulated time through checkOnce().
import type { MonitorConfig } from '../config/monitor-settings.js';
import { createLogger, type Logger } from '../log/logger.js';
import { redactUrl } from '../log/redact.js';
import type { Alert } from '../notify/alert.js';
import { describeSink, Notifier } from '../notify/notifier.js';
import type { NodeClient } from '../upstream/node-client.js';
import { Detector } from './detector.js';
import { HistoryRecorder } from './history-recorder.js';
import { openHistoryStore, type HistoryStore } from './history-store.js';
import { MonitorMetrics } from './metrics.js';
import { probeClient, probeGateway, probeNode, statusNodeFor, type GatewayStatusView } from './probe.js';

export interface MonitorOptions {
  logger?: Logger;
  /** Clock for check times, incidents and history; tests pass a simulated one. */
  now?: () => number;
}

const PRUNE_EVERY_MS = 3_600_000;

export class Monitor {
  readonly detector: Detector;
  readonly notifier: Notifier;
  readonly history: HistoryRecorder;
  readonly metrics: MonitorMetrics;
  readonly logger: Logger;
  private readonly now: () => number;
  metricsPort = 0;
  private readonly nodes: Array<{ config: MonitorConfig['nodes'][number]; client: NodeClient }>;
  private readonly gateway: NodeClient | null;
  private lastStatus: GatewayStatusView | null = null;
  private timer: NodeJS.Timeout | null = null;
  private cycle: Promise<void> | null = null;
  private stopped = false;
  private lastPruneAt = -Infinity;

  private constructor(
    readonly config: MonitorConfig,
    store: HistoryStore,
    options: MonitorOptions,
  ) {
    this.logger = options.logger ?? createLogger(config.logLevel, 'chroma-ha-monitor');
    this.now = options.now ?? Date.now;
    this.detector = new Detector(config, config.gateway);
    this.nodes = config.nodes.map((c) => ({ config: c, client: probeClient(c, config.checkTimeoutMs) }));
    this.gateway = config.gateway ? probeClient(config.gateway, config.checkTimeoutMs) : null;
    this.metrics = new MonitorMetrics({
      targets: () => [
        ...config.nodes.map((n) => ({ target: n.name, kind: 'node', up: this.detector.nodeState(n.name) === 'up' })),
        ...(config.gateway ? [{ target: 'gateway', kind: 'gateway', up: this.detector.gatewayState === 'up' }] : []),
      ],
      lag: () => (this.lastStatus?.nodes ?? []).map((n) => ({ node: n.name, entries: n.lagEntries, seconds: n.lagSeconds })),
      openIncidents: () => this.detector.incidents.size,
      queues: () => this.notifier.sinks.map((s) => ({ sink: s.name, pending: this.notifier.pending(s.name) })),
      history: () => ({ buffered: this.history.buffered, available: this.history.available }),
    });
    this.history = new HistoryRecorder(store, config.historyBufferLimit, this.logger, (rows) => this.metrics.historyDrop(rows));
    this.notifier = new Notifier({
      sinks: config.sinks,
      delivery: config.delivery,
      logger: this.logger,
      now: this.now,
      onDelivery: (r) => {
        this.metrics.delivery(r);
        const { at, sink, alertId, kind, ok, dropped, attempts, httpStatus, error, durationMs } = r;
        this.history.addDelivery({ at, sink, alertId, kind, ok, dropped, attempts, httpStatus, error, durationMs });
        void this.history.flush();
      },
    });
  }

  static async create(config: MonitorConfig, options: MonitorOptions = {}): Promise<Monitor> {
    return new Monitor(config, await openHistoryStore(config), options);
  }

  /** Starts the metrics endpoint and the rounds of checks (the first one at once). */
  async start(): Promise<void> {
    const c = this.config;
    this.metricsPort = await this.metrics.listen(c.metricsPort, c.metricsHost);
    this.logger.info(
      {
        nodes: c.nodes.map((n) => ({ name: n.name, url: redactUrl(n.url) })),
        gateway: c.gateway ? redactUrl(c.gateway.url) : null,
        intervalSeconds: c.checkIntervalMs / 1000,
        failureThreshold: c.failureThreshold,
        sinks: c.sinks.map(describeSink),
        history: `${this.history.store.kind} ${this.history.store.location}`,
        metrics: `http://${c.metricsHost}:${this.metricsPort}/metrics`,
      },
      'chroma-ha monitor started',
    );
    if (c.sinks.length === 0) this.logger.warn('no notification sink configured (NOTIFICATION_WEBHOOK, SLACK_WEBHOOK_URLS, JSON_WEBHOOK_URLS): alerts go to this log only');
    this.loop();
  }

  async stop(drainMs = 5_000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.cycle;
    await this.notifier.stop(drainMs);
    await this.history.close();
    await this.metrics.close();
    await Promise.all([...this.nodes.map((n) => n.client.close()), this.gateway?.close()]);
  }

  /** One round: check everything, detect, record, notify. Resolves with the alerts it raised. */
  async checkOnce(): Promise<Alert[]> {
    const at = this.now();
    const timeoutMs = this.config.checkTimeoutMs;
    this.metrics.cycle(at);
    const [nodes, gateway] = await Promise.all([
      Promise.all(this.nodes.map(async (n) => ({ config: n.config, result: await probeNode(n.client, timeoutMs) }))),
      this.gateway ? probeGateway(this.gateway, timeoutMs) : null,
    ]);
    if (gateway?.status) this.lastStatus = gateway.status;
    const detection = this.detector.observe({ at, nodes, gateway });

    for (const { config, result } of nodes) {
      const s = gateway?.status ? statusNodeFor(gateway.status, config) : undefined;
      this.metrics.check(config.name, result.ok, result.latencyMs);
      this.history.addCheck({
        at,
        target: config.name,
        targetKind: 'node',
        ok: result.ok,
        latencyMs: result.latencyMs,
        error: result.error,
        state: this.detector.nodeState(config.name),
        role: s?.role ?? null,
        lagEntries: s?.lagEntries ?? null,
        lagSeconds: s?.lagSeconds ?? null,
      });
    }
    if (gateway) {
      const serving = gateway.ok && gateway.healthCode === 200;
      this.metrics.check('gateway', serving, gateway.latencyMs);
      this.history.addCheck({
        at,
        target: 'gateway',
        targetKind: 'gateway',
        ok: serving,
        latencyMs: gateway.latencyMs,
        error: gateway.error ?? gateway.statusError,
        state: this.detector.gatewayState,
        role: null,
        lagEntries: null,
        lagSeconds: null,
      });
    }
    for (const change of detection.stateChanges) {
      this.history.addStateChange(change);
      this.logger.info(change, `${change.target} is ${change.toState}`);
    }
    for (const alert of detection.alerts) this.raise(alert);
    void this.history.flush();
    if (at - this.lastPruneAt >= PRUNE_EVERY_MS) {
      this.lastPruneAt = at;
      void this.history.prune(at - this.config.historyRetentionMs);
    }
    return detection.alerts;
  }

  private raise(alert: Alert): void {
    const level = alert.severity === 'critical' ? 'error' : alert.severity === 'warning' ? 'warn' : 'info';
    this.logger[level]({ kind: alert.kind, status: alert.status, target: alert.target.name, since: new Date(alert.since).toISOString() }, `${alert.title}: ${alert.summary}`);
    this.metrics.alert(alert);
    this.history.addAlert({
      at: alert.at,
      alertId: alert.id,
      kind: alert.kind,
      status: alert.status,
      severity: alert.severity,
      target: alert.target.name,
      title: alert.title,
      since: alert.since,
      durationSeconds: alert.durationSeconds,
      incidentId: alert.incident?.id ?? null,
      details: JSON.stringify(alert.details),
    });
    this.notifier.send(alert);
  }

  private loop(): void {
    if (this.stopped) return;
    const started = performance.now();
    this.cycle = this.checkOnce()
      .then(
        () => undefined,
        (err) => this.logger.error({ err: (err as Error).message }, 'round of checks failed'),
      )
      .finally(() => {
        this.cycle = null;
        if (this.stopped) return;
        this.timer = setTimeout(() => this.loop(), Math.max(0, this.config.checkIntervalMs - (performance.now() - started)));
      });
  }
}
