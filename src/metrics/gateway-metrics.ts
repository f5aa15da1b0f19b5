// The gateway's GET /metrics (Prometheus text format, prom-client). Counters and histograms are fed by the
// gateway's event bus (requests, upstream errors, retries, failovers, health changes, divergence); gauges
// are read at scrape time from the gateway's /status (given as a function, so metrics does not import the
// gateway that imports it). One Registry per gateway, never the global one: tests run several gateways in one process.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { GatewayStatus } from '../status/schema.js';
import { VERSION } from '../version.js';
import { renderWithProcessMetrics } from './process-metrics.js';

export interface GatewayMetricsSources {
  cluster: Cluster;
  events: ClusterEventBus;
  /** The gateway's HTTP server, to count requests in flight from arrival to the end of the response. */
  httpServer: Server;
  /** What GET /status shows now: the gauges are read from it. */
  status: () => Promise<GatewayStatus>;
}

const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly g: ReturnType<typeof gauges>;

  constructor(private readonly src: GatewayMetricsSources) {
    const registers = [this.registry];
    new Gauge({ name: 'chroma_ha_info', help: 'Always 1; the version label says which gateway is running.', labelNames: ['version'], registers }).set({ version: VERSION }, 1);

    const requests = new Counter({ name: 'chroma_ha_requests_total', help: 'Requests answered, by route class (read, write, meta, passthrough, gateway) and HTTP status.', labelNames: ['route_class', 'status'], registers });
    const duration = new Histogram({ name: 'chroma_ha_request_duration_seconds', help: 'Time from request arrival to the end of the answer, by route class and HTTP status.', labelNames: ['route_class', 'status'], buckets: DURATION_BUCKETS, registers });
    const servedBy = new Counter({ name: 'chroma_ha_node_requests_total', help: 'Requests answered by each node (the X-Chroma-HA-Node of the answer).', labelNames: ['node'], registers });
    const upstreamErrors = new Counter({ name: 'chroma_ha_upstream_errors_total', help: 'Requests to a node that failed without an answer, by node and kind (connect, reset, timeout).', labelNames: ['node', 'kind'], registers });
    const retries = new Counter({ name: 'chroma_ha_retries_total', help: 'Requests retried on another node after a connection failure, by route class and the node that failed.', labelNames: ['route_class', 'from'], registers });
    const failovers = new Counter({ name: 'chroma_ha_failovers_total', help: 'Primary role changes since this gateway started: failover (primary lost) or switchover (role taken back).', labelNames: ['kind'], registers });
    const healthChanges = new Counter({ name: 'chroma_ha_node_health_changes_total', help: 'Node health transitions seen by the gateway, by node and new state.', labelNames: ['node', 'to'], registers });
    const divergences = new Counter({ name: 'chroma_ha_node_divergences_total', help: 'Times a node was marked diverged: it could not apply a log entry, or a spot check found it different from the primary.', labelNames: ['node'], registers });
    for (const kind of ['failover', 'switchover']) failovers.inc({ kind }, 0);
    for (const n of src.cluster.nodes) {
      servedBy.inc({ node: n.name }, 0);
      divergences.inc({ node: n.name }, 0);
    }

    const inFlight = new Gauge({ name: 'chroma_ha_in_flight_requests', help: 'Requests the gateway is handling right now.', registers });
    src.httpServer.on('request', (_req: IncomingMessage, res: ServerResponse) => {
      inFlight.inc();
      res.once('close', () => inFlight.dec());
    });

    src.events.on('request', (e) => {
      const labels = { route_class: e.routeClass, status: String(e.status) };
      requests.inc(labels);
      duration.observe(labels, e.durationMs / 1000);
      if (e.node) servedBy.inc({ node: e.node });
    });
    src.events.on('upstream-error', (e) => upstreamErrors.inc({ node: e.node, kind: e.kind }));
    src.events.on('retry', (e) => retries.inc({ route_class: e.routeClass, from: e.from }));
    src.events.on('failover', (e) => failovers.inc({ kind: e.kind }));
    src.events.on('node-health', (e) => healthChanges.inc({ node: e.node, to: e.to }));
    src.events.on('node-diverged', (e) => divergences.inc({ node: e.node }));

    this.g = gauges(registers);
  }

  /** The /metrics endpoint: refreshes the state gauges, then renders every metric. */
  readonly handler = async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    await this.refresh();
    const text = await renderWithProcessMetrics(this.registry);
    res.writeHead(200, { 'content-type': this.registry.contentType, 'cache-control': 'no-store' });
    res.end(text);
  };

  private async refresh(): Promise<void> {
    const status = await this.src.status();
    const g = this.g;
    // Every per-node series is rebuilt: a node removed at run time (gateway/members.ts) must not linger.
    for (const gauge of [g.role, g.syncState, g.up, g.latency, g.applied, g.lagEntries, g.lagSeconds, g.nodeInFlight, g.copyCopied, g.copyTotal, g.copyRate]) gauge.reset();
    for (const n of status.nodes) {
      const node = { node: n.name };
      g.up.set(node, n.health === 'up' ? 1 : 0);
      for (const role of ['primary', 'replica']) g.role.set({ ...node, role }, n.role === role ? 1 : 0);
      for (const state of ['in-sync', 'syncing', 'diverged', 'unverified', 'resync', 'foreign']) g.syncState.set({ ...node, state }, n.syncState === state ? 1 : 0);
      if (n.latencyMs === null) g.latency.remove(node);
      else g.latency.set(node, n.latencyMs / 1000);
      g.applied.set(node, n.appliedPosition);
      g.lagEntries.set(node, n.lagEntries);
      g.lagSeconds.set(node, n.lagSeconds);
      g.nodeInFlight.set(node, n.inFlight);
      g.copyCopied.set(node, n.copy?.recordsCopied ?? 0);
      g.copyTotal.set(node, n.copy?.recordsTotal ?? 0);
      g.copyRate.set(node, n.copy?.recordsPerSecond ?? 0);
    }
    g.head.set(status.log.head);
    g.committed.set(status.log.committedHead);
    g.pending.set(status.log.pendingWrites);
    g.storeUp.set(status.log.storeReachable ? 1 : 0);
    if (status.log.entries !== null) g.entries.set(status.log.entries);
    if (status.log.bytes !== null) g.bytes.set(status.log.bytes);
    g.oldest.set(status.log.oldestRetained ?? 0);
    g.truncated.set(status.log.truncatedThrough ?? 0);
    g.epoch.set(status.epoch);
    g.lastFailover.set(status.failovers.last ? status.failovers.last.at / 1000 : 0);
    const ae = status.antiEntropy?.last;
    g.aePasses.set(status.antiEntropy?.passes ?? 0);
    g.aeLast.set(ae ? Date.parse(ae.finishedAt) / 1000 : 0);
    g.aeIdentical.set(ae?.identical ? 1 : 0);
    g.aeRecords.set({ action: 'written' }, ae?.recordsWritten ?? 0);
    g.aeRecords.set({ action: 'deleted' }, ae?.recordsDeleted ?? 0);
    g.aeNodes.set(ae?.nodesRepaired ?? 0);
  }
}

function gauges(registers: Registry[]) {
  const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers });
  return {
    up: gauge('chroma_ha_node_up', '1 when the gateway considers the node up, 0 when down or not yet checked.', ['node']),
    role: gauge('chroma_ha_node_role', '1 for the role the node has now (primary or replica), 0 for the other.', ['node', 'role']),
    syncState: gauge('chroma_ha_node_sync_state', '1 for the node\'s replication state (in-sync, syncing, diverged, unverified, resync, foreign), 0 for the others.', ['node', 'state']),
    copyCopied: gauge('chroma_ha_node_copy_records_copied', 'Records copied so far by the refill of the node under way (0 when none).', ['node']),
    copyTotal: gauge('chroma_ha_node_copy_records_total', 'Records the refill of the node under way has to copy (0 when none).', ['node']),
    copyRate: gauge('chroma_ha_node_copy_records_per_second', 'Copy rate of the refill of the node under way (0 when none).', ['node']),
    latency: gauge('chroma_ha_node_check_latency_seconds', 'Latency of the node\'s last successful health check.', ['node']),
    applied: gauge('chroma_ha_node_applied_position', 'Sequence number of the last log entry the node has applied.', ['node']),
    lagEntries: gauge('chroma_ha_node_lag_entries', 'Committed log entries the node has not applied yet.', ['node']),
    lagSeconds: gauge('chroma_ha_node_lag_seconds', 'Age of the oldest committed entry the node has not applied (0 when in sync).', ['node']),
    nodeInFlight: gauge('chroma_ha_node_in_flight_requests', 'Requests in flight to each node.', ['node']),
    head: gauge('chroma_ha_log_head_position', 'Sequence number of the newest entry in the replication log.'),
    committed: gauge('chroma_ha_log_committed_position', 'Sequence number of the newest committed entry.'),
    pending: gauge('chroma_ha_log_pending_writes', 'Writes logged but not yet decided by the primary (waiting, e.g. during a failover).'),
    entries: gauge('chroma_ha_log_entries', 'Entries stored in the replication log.'),
    bytes: gauge('chroma_ha_log_size_bytes', 'Bytes of request bodies stored in the replication log.'),
    oldest: gauge('chroma_ha_log_oldest_position', 'Sequence number of the oldest entry still in the log (0 when empty).'),
    truncated: gauge('chroma_ha_log_truncated_position', 'Log compaction point: entries up to here may have been deleted.'),
    storeUp: gauge('chroma_ha_log_store_up', '1 when the replication store answered the last scrape.'),
    epoch: gauge('chroma_ha_cluster_epoch', 'Primary epoch: increases with every role change, including past runs.'),
    lastFailover: gauge('chroma_ha_last_failover_timestamp_seconds', 'When the primary role last changed (Unix time; 0 if never).'),
    aePasses: gauge('chroma_ha_anti_entropy_passes', 'Anti-entropy passes run since this gateway started (ANTI_ENTROPY_INTERVAL).'),
    aeLast: gauge('chroma_ha_anti_entropy_last_pass_timestamp_seconds', 'When the last anti-entropy pass finished (Unix time; 0 if none).'),
    aeIdentical: gauge('chroma_ha_anti_entropy_last_pass_identical', '1 when the last anti-entropy pass found every replica identical to the primary, 0 when it found differences (or none ran).'),
    aeRecords: gauge('chroma_ha_anti_entropy_last_pass_records', 'Records the last anti-entropy pass wrote to or deleted from replicas.', ['action']),
    aeNodes: gauge('chroma_ha_anti_entropy_last_pass_nodes_repaired', 'Replicas the last anti-entropy pass repaired or refilled.'),
  };
}
