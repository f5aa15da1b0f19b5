// Test support for the monitor: monitors (real scheduler or driven by a simulated clock) and webhook
// receivers, all stopped by cleanup(); logs captured in memory so tests can read what was said.
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Env } from '../../src/config/load.js';
import { loadMonitorConfig } from '../../src/config/monitor-settings.js';
import type { Logger } from '../../src/log/logger.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { waitFor, type ChromaProcess, type Harness } from './cluster.js';
import { WebhookReceiver, type Responder } from './webhook-receiver.js';

/** A clock the test moves by hand: monitor.checkOnce() then sees simulated time. */
export class SimulatedClock {
  constructor(public t = Date.now()) {}
  readonly now = () => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

/** A pino logger writing JSON lines into memory. */
export function capturingLogger(level = 'info'): { logger: Logger; lines: () => string[]; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = pino({ level }, stream);
  return { logger, lines: () => lines, text: () => lines.join('\n') };
}

/** Payloads a JSON sink received, filtered by kind and status. */
export const ofKind = (kind: string, status?: string) => (json: any) => json?.kind === kind && (status === undefined || json?.status === status);

export class MonitorFixture {
  private readonly monitors: Monitor[] = [];
  private readonly receivers: WebhookReceiver[] = [];

  constructor(readonly h: Harness) {}

  async receiver(respond?: Responder): Promise<WebhookReceiver> {
    const r = await WebhookReceiver.start(respond);
    this.receivers.push(r);
    return r;
  }

  /** Environment for a monitor watching the given nodes (first is the primary), history in the harness dir. */
  env(nodes: ChromaProcess[], extra: Env = {}): Env {
    return {
      PRIMARY_URL: nodes[0]!.url,
      REPLICA_URLS: nodes.slice(1).map((n) => n.url).join(','),
      DATA_DIR: join(this.h.dir, 'monitor'),
      MONITOR_METRICS_PORT: '0',
      MONITOR_METRICS_HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      ...extra,
    };
  }

  /** A monitor from env; started (real scheduler) unless `start: false`, e.g. when a simulated clock drives it. */
  async monitor(env: Env, options: { now?: () => number; logger?: Logger; start?: boolean } = {}): Promise<Monitor> {
    const monitor = await Monitor.create(loadMonitorConfig(env), { now: options.now, logger: options.logger ?? pino({ level: 'silent' }) });
    this.monitors.push(monitor);
    if (options.start !== false) await monitor.start();
    return monitor;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.monitors.splice(0).map((m) => m.stop(0)));
    await Promise.allSettled(this.receivers.splice(0).map((r) => r.close()));
  }
}

/** Waits until a running monitor has completed `n` more rounds of checks (counted by its own metrics). */
export async function waitForRounds(monitor: Monitor, n: number, timeoutMs = 15_000): Promise<void> {
  const rounds = async () => {
    const m = await monitor.metrics.registry.getSingleMetric('chroma_ha_monitor_checks_total')!.get();
    return m.values.filter((v) => v.labels.target === monitor.config.nodes[0]!.name).reduce((sum, v) => sum + v.value, 0);
  };
  const start = await rounds();
  await waitFor(`${n} more rounds of checks`, async () => (await rounds()) >= start + n, timeoutMs);
}
