// Active and passive health checking with HAProxy semantics: a probe every `inter`, every `fastinter`
// while a node is changing state, down after `fall` consecutive failures, up after `rise` successes.
// A real request that fails to connect counts as a failed check and triggers fast probing at once. Unlike
// HAProxy's fixed `timeout check`, a probe (and a write in flight on the primary, see applier.ts) fails
// after a bound that adapts to the node's observed latency (latency.ts): a hung node is caught in a few
// hundred milliseconds while a node that is merely slow keeps passing.
import type { ClusterNode, Health } from '../cluster/node.js';
import { LatencyEstimator } from './latency.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { Logger } from '../log/logger.js';

export interface HealthOptions {
  intervalMs: number;
  fastIntervalMs: number;
  fall: number;
  rise: number;
  /** Upper bound of a probe's (and a stalled write's) adaptive timeout. */
  timeoutMs: number;
  /** Lower bound of the adaptive timeout. */
  minTimeoutMs: number;
}

export class HealthChecker {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly probing = new Map<string, AbortController>();
  private stopped = false;
  /** Nodes removed at run time: no probe is scheduled and no result recorded for them. */
  private readonly unwatched = new Set<string>();
  private readonly probeLatency = new Map<string, LatencyEstimator>();
  private readonly writeLatency = new Map<string, LatencyEstimator>();

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

  /** Starts probing a node added at run time. */
  watch(node: ClusterNode): void {
    this.unwatched.delete(node.id);
    this.schedule(node, 0);
  }

  /** Stops probing a removed node; a probe in flight is abandoned and records nothing. */
  unwatch(node: ClusterNode): void {
    this.unwatched.add(node.id);
    clearTimeout(this.timers.get(node.id));
    this.timers.delete(node.id);
    this.probing.get(node.id)?.abort();
  }

  /** Passive detection: a real request could not reach the node. Counts as one failed check. */
  reportFailure(node: ClusterNode, reason: string): void {
    this.record(node, false, reason, null);
    if (!this.probing.has(node.id)) this.schedule(node, 0);
  }

  /** How long a probe of this node may take before it counts as failed. */
  probeTimeoutMs(node: ClusterNode): number {
    return this.estimator(this.probeLatency, node).boundMs();
  }

  /** The primary answered a write in `ms`. */
  observeWrite(node: ClusterNode, ms: number): void {
    this.estimator(this.writeLatency, node).observe(ms);
  }

  /** How long a write may stay in flight on this node before it counts as a failed check. */
  writeStallBoundMs(node: ClusterNode): number {
    return this.estimator(this.writeLatency, node).boundMs();
  }

  /** The node's usual write latency (ms), for messages; null before its first write. */
  usualWriteMs(node: ClusterNode): number | null {
    return this.estimator(this.writeLatency, node).usualMs;
  }

  private estimator(map: Map<string, LatencyEstimator>, node: ClusterNode): LatencyEstimator {
    let e = map.get(node.id);
    if (!e) {
      e = new LatencyEstimator({ minMs: this.options.minTimeoutMs, maxMs: this.options.timeoutMs });
      map.set(node.id, e);
    }
    return e;
  }

  private schedule(node: ClusterNode, delayMs: number): void {
    if (this.stopped || this.unwatched.has(node.id)) return;
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
    const timeoutMs = this.probeTimeoutMs(node);
    const started = performance.now();
    try {
      const res = await node.client.requestJson({
        method: 'GET',
        path: '/api/v2/heartbeat',
        timeoutMs,
        signal: AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]),
      });
      const latency = performance.now() - started;
      if (res.status === 200) {
        this.estimator(this.probeLatency, node).observe(latency);
        this.record(node, true, null, latency);
      } else this.record(node, false, `heartbeat answered ${res.status}`, latency);
    } catch (err) {
      const e = err as Error;
      const timedOut = performance.now() - started >= timeoutMs - 5;
      this.record(node, false, timedOut ? `no answer within ${timeoutMs} ms` : e.message, null);
    } finally {
      this.probing.delete(node.id);
    }
  }

  private record(node: ClusterNode, ok: boolean, error: string | null, latencyMs: number | null): void {
    if (this.stopped || this.unwatched.has(node.id)) return;
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
    if (to === 'down') node.markedDown();
    const entry = { node: node.name, from, to, reason };
    if (to === 'down') this.log.warn(entry, `node ${node.name} is down`);
    else this.log.info(entry, `node ${node.name} is ${to}`);
    this.events.emit('node-health', { ...entry, at: node.healthSince });
  }
}
