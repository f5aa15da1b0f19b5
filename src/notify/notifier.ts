// Fans alerts out to every configured sink. Each sink has its own bounded queue and worker, so send()
// returns at once: a slow or dead sink delays neither the health checks nor the other sinks. Every
// outcome (delivered, failed after retries, dropped from a full queue) is reported to onDelivery.
import type { Logger } from '../log/logger.js';
import { maskSecretUrl } from '../log/redact.js';
import type { SinkConfig } from '../config/monitor-settings.js';
import type { Alert } from './alert.js';
import { deliver, type DeliveryOptions, type DeliveryResult } from './delivery.js';
import { jsonPayload } from './json-payload.js';
import { slackPayload } from './slack.js';

export interface DeliveryRecord extends DeliveryResult {
  at: number;
  sink: string;
  alertId: string;
  kind: string;
  alertStatus: string;
  /** True when the alert never got an attempt because the sink's queue was full. */
  dropped: boolean;
}

/** Alerts waiting per sink; beyond it the oldest waiting alert is dropped (and recorded as such). */
export const SINK_QUEUE_LIMIT = 200;

function formatFor(sink: SinkConfig, alert: Alert): string {
  return JSON.stringify(sink.kind === 'slack' ? slackPayload(alert) : jsonPayload(alert));
}

class SinkQueue {
  readonly waiting: Alert[] = [];
  busy = false;
  /** The worker delivering this queue, while there is one. */
  worker: Promise<void> = Promise.resolve();
  constructor(readonly sink: SinkConfig) {}
}

export class Notifier {
  private readonly queues: SinkQueue[];
  private readonly stopController = new AbortController();
  private readonly idle = new Set<() => void>();

  private readonly options: DeliveryOptions;
  private readonly logger: Logger;
  private readonly onDelivery: (record: DeliveryRecord) => void;
  private readonly now: () => number;

  constructor(deps: {
    sinks: SinkConfig[];
    delivery: DeliveryOptions;
    logger: Logger;
    onDelivery?: (record: DeliveryRecord) => void;
    now?: () => number;
  }) {
    this.queues = deps.sinks.map((s) => new SinkQueue(s));
    this.options = deps.delivery;
    this.logger = deps.logger;
    this.onDelivery = deps.onDelivery ?? (() => {});
    this.now = deps.now ?? Date.now;
  }

  get sinks(): SinkConfig[] {
    return this.queues.map((q) => q.sink);
  }

  /** Alerts not yet handed to a sink, plus the ones being delivered. */
  pending(sinkName: string): number {
    const q = this.queues.find((x) => x.sink.name === sinkName);
    return q ? q.waiting.length + (q.busy ? 1 : 0) : 0;
  }

  /** Queues the alert for every sink and returns immediately. */
  send(alert: Alert): void {
    if (this.stopController.signal.aborted) return;
    for (const q of this.queues) {
      q.waiting.push(alert);
      if (q.waiting.length > SINK_QUEUE_LIMIT) {
        const dropped = q.waiting.shift()!;
        this.logger.error({ sink: q.sink.name, kind: dropped.kind }, `notification queue of ${q.sink.name} is full; dropped the oldest notification`);
        this.onDelivery(this.record(q.sink, dropped, { ok: false, attempts: 0, httpStatus: null, error: 'dropped: sink queue full', durationMs: 0 }, true));
      }
      if (!q.busy) q.worker = this.work(q);
    }
  }

  /** Delivers one alert to every sink now, bypassing the queues, and waits for each outcome (`notify test`). */
  async sendAndWait(alert: Alert): Promise<DeliveryRecord[]> {
    return Promise.all(
      this.queues.map(async (q) => {
        const r = await deliver(q.sink, formatFor(q.sink, alert), this.options, this.logger, this.stopController.signal);
        const rec = this.record(q.sink, alert, r, false);
        this.onDelivery(rec);
        return rec;
      }),
    );
  }

  /** Lets queued notifications go out for up to graceMs, then abandons the rest. */
  async stop(graceMs: number): Promise<void> {
    const drained = new Promise<void>((resolve) => {
      const check = () => {
        if (this.queues.every((q) => !q.busy && q.waiting.length === 0)) {
          this.idle.delete(check);
          resolve();
        }
      };
      this.idle.add(check);
      check();
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.stopController.abort();
    const abandoned = this.queues.reduce((n, q) => n + q.waiting.length, 0);
    if (abandoned > 0) this.logger.warn({ abandoned }, 'stopping with notifications not yet delivered');
    for (const q of this.queues) q.waiting.length = 0;
    // Aborted deliveries end at once; waiting lets their outcome be recorded before the history closes.
    await Promise.all(this.queues.map((q) => q.worker));
  }

  private async work(q: SinkQueue): Promise<void> {
    q.busy = true;
    try {
      while (q.waiting.length > 0 && !this.stopController.signal.aborted) {
        const alert = q.waiting.shift()!;
        const r = await deliver(q.sink, formatFor(q.sink, alert), this.options, this.logger, this.stopController.signal);
        if (r.ok) this.logger.info({ sink: q.sink.name, kind: alert.kind, status: alert.status, attempts: r.attempts }, 'notification delivered');
        this.onDelivery(this.record(q.sink, alert, r, false));
      }
    } finally {
      q.busy = false;
      for (const check of [...this.idle]) check();
    }
  }

  private record(sink: SinkConfig, alert: Alert, r: DeliveryResult, dropped: boolean): DeliveryRecord {
    return { ...r, at: this.now(), sink: sink.name, alertId: alert.id, kind: alert.kind, alertStatus: alert.status, dropped };
  }
}

/** How a sink is named in logs and command output: its name and the host of its URL, never the path. */
export function describeSink(sink: SinkConfig): string {
  return `${sink.name} (${sink.kind}, ${sink.variable}, ${maskSecretUrl(sink.url)})`;
}
