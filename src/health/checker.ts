// Active and passive health checking with HAProxy semantics: a probe every `inter`, every `fastinter`
// while a node is changing state, down after `fall` consecutive failures, up after `rise` successes.
// A real request that fails to connect counts as a failed check and triggers fast probing at once.
import type { ClusterNode, Health } from '../cluster/node.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { Logger } from '../log/logger.js';

export interface HealthOptions {
  intervalMs: number;
  fastIntervalMs: number;
  fall: number;
  rise: number;
  timeoutMs: number;
}

export class HealthChecker {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly probing = new Map<string, AbortController>();
  private stopped = false;

  constructor(
    private readonly nodes: ClusterNode[],
    private readonly options: HealthOptions,
    private readonly events: ClusterEventBus,
    private readonly log: Logger,
  ) {}

  start(): void {
    for (const node of this.nodes) this.schedule(node, 0);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    for (const c of this.probing.values()) c.abort();
    this.timers.clear();
  }

  /** Passive detection: a real request could not reach the node. Counts as one failed check. */
  reportFailure(node: ClusterNode, reason: string): void {
    this.record(node, false, reason, null);
    if (!this.probing.has(node.id)) this.schedule(node, 0);
  }

  private schedule(node: ClusterNode, delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timers.get(node.id));
    this.timers.set(
      node.id,
      setTimeout(() => {
        void this.probe(node).finally(() => this.schedule(node, this.nextDelay(node)));
      }, delayMs),
    );
  }

  /** Steady nodes are probed every `inter`; a node with a streak against its state, every `fastinter`. */
  private nextDelay(node: ClusterNode): number {
    const transitional =
      node.health === 'unknown' ||
      (node.health === 'up' && node.consecutiveFailures > 0) ||
      (node.health === 'down' && node.consecutiveSuccesses > 0);
    return transitional ? this.options.fastIntervalMs : this.options.intervalMs;
  }

  private async probe(node: ClusterNode): Promise<void> {
    if (this.probing.has(node.id)) return;
    const controller = new AbortController();
    this.probing.set(node.id, controller);
    const started = performance.now();
    try {
      const res = await node.client.requestJson({
        method: 'GET',
        path: '/api/v2/heartbeat',
        timeoutMs: this.options.timeoutMs,
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      const latency = performance.now() - started;
      if (res.status === 200) this.record(node, true, null, latency);
      else this.record(node, false, `heartbeat answered ${res.status}`, latency);
    } catch (err) {
      const e = err as Error;
      const timedOut = performance.now() - started >= this.options.timeoutMs - 5;
      this.record(node, false, timedOut ? `no answer within ${this.options.timeoutMs} ms` : e.message, null);
    } finally {
      this.probing.delete(node.id);
    }
  }

  private record(node: ClusterNode, ok: boolean, error: string | null, latencyMs: number | null): void {
    if (this.stopped) return;
    node.lastCheckAt = Date.now();
    node.lastLatencyMs = latencyMs === null ? null : Math.round(latencyMs * 10) / 10;
    if (ok) {
      node.consecutiveSuccesses++;
      node.consecutiveFailures = 0;
      node.lastError = null;
      const riseNeeded = node.health === 'unknown' ? 1 : this.options.rise;
      if (node.health !== 'up' && node.consecutiveSuccesses >= riseNeeded) {
        this.transition(node, 'up', `${node.consecutiveSuccesses} successful check(s)`);
      }
    } else {
      node.consecutiveFailures++;
      node.consecutiveSuccesses = 0;
      node.lastError = error;
      const fallNeeded = node.health === 'unknown' ? 1 : this.options.fall;
      if (node.health !== 'down' && node.consecutiveFailures >= fallNeeded) {
        this.transition(node, 'down', `${node.consecutiveFailures} failed check(s): ${error}`);
      }
    }
  }

  private transition(node: ClusterNode, to: Health, reason: string): void {
    const from = node.health;
    node.health = to;
    node.healthSince = Date.now();
    const entry = { node: node.name, from, to, reason };
    if (to === 'down') this.log.warn(entry, `node ${node.name} is down`);
    else this.log.info(entry, `node ${node.name} is ${to}`);
    this.events.emit('node-health', { ...entry, at: node.healthSince });
  }
}
