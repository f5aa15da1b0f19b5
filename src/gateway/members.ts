// Nodes added and removed at run time (POST /admin/nodes, DELETE /admin/nodes/{name}). A change is first
// recorded in the store (cluster/membership.ts computes the member list from the environment and those
// records), then applied here: a node is attached (health checks, an applier; the lifecycle checks its
// identity and bootstraps it, so it serves no read before it is in sync) or detached (out of reads, failover
// and compaction at once, its applier stopped). Every gateway on the store re-reads the records each second,
// so all of them route by the same members; the primary is never detached.
import type { NodeConfig } from '../config/load.js';
import { ClusterNode } from '../cluster/node.js';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterEventBus } from '../cluster/events.js';
import {
  computeMembers,
  encodeMemberRecord,
  invalidNodeUrl,
  memberKey,
  nextReplicaName,
  NODE_NAME,
  nodeIdOf,
  parseMemberRecords,
  type MemberRecord,
} from '../cluster/membership.js';
import type { HealthChecker } from '../health/checker.js';
import type { Logger } from '../log/logger.js';
import { redactUrl } from '../log/redact.js';
import type { ReplicationStore } from '../store/types.js';
import type { ReplicationLog } from '../replication/log.js';
import { errors } from '../errors/catalogue.js';
import { Mutex, sleep } from '../util/signal.js';

export interface MembersDeps {
  cluster: Cluster;
  store: ReplicationStore;
  health: HealthChecker;
  log: ReplicationLog;
  events: ClusterEventBus;
  logger: Logger;
  /** PRIMARY_URL / REPLICA_URLS as configured. */
  configured: NodeConfig[];
  nodeToken?: string;
  connectTimeoutMs: number;
  startApplier: (node: ClusterNode) => void;
  stopApplier: (node: ClusterNode) => Promise<void>;
  /** The lifecycle lets go of a removed node (NodeLifecycle.forget). */
  forget: (node: ClusterNode) => void;
  /** How often the records are re-read (changes made through another gateway). */
  pollMs?: number;
}

/** A membership change, as /status shows it. */
export interface MemberChange {
  at: string;
  action: 'added' | 'removed';
  node: string;
  url: string;
}

const RECENT_CHANGES = 20;

export class Members {
  private readonly lane = new Mutex();
  private timer: NodeJS.Timeout | null = null;
  private readonly changes: MemberChange[] = [];

  constructor(private readonly deps: MembersDeps) {}

  /** The member list: the environment, changed by the records the store holds (at start-up and each poll). */
  static fromStore(configured: NodeConfig[], stored: ReadonlyMap<string, string>, nodeToken?: string): NodeConfig[] {
    return computeMembers(configured, parseMemberRecords(stored), nodeToken);
  }

  start(): void {
    this.timer = setInterval(() => void this.reconcile().catch(() => undefined), this.deps.pollMs ?? 1_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.lane.run(async () => undefined);
  }

  recentChanges(): MemberChange[] {
    return [...this.changes];
  }

  /** Adds a node: 400 for a bad URL or name, 409 when the URL or the name is already a member's. */
  async add(body: { url?: unknown; name?: unknown }): Promise<ClusterNode> {
    const bad = invalidNodeUrl(body.url);
    if (bad) throw errors.invalidArgument(bad);
    if (body.name !== undefined && (typeof body.name !== 'string' || !NODE_NAME.test(body.name))) {
      throw errors.invalidArgument('name must be 1 to 63 letters, digits, dots, dashes or underscores, starting with a letter or digit');
    }
    const url = body.url as string;
    return this.lane.run(async () => {
      const { cluster } = this.deps;
      const id = nodeIdOf(url);
      const same = cluster.nodes.find((n) => n.id === id);
      if (same) throw errors.conflict(`${redactUrl(id)} is already a member, named ${same.name}`);
      const name = (body.name as string | undefined) ?? nextReplicaName([...cluster.nodes.map((n) => n.name), ...this.configuredNames()]);
      if (cluster.nodes.some((n) => n.name === name)) throw errors.conflict(`a node named ${name} is already a member`);
      // A configured node keeps its name even while removed: it may be added back.
      if (this.deps.configured.some((c) => c.name === name && c.id !== id)) throw errors.conflict(`${name} is the name of a configured node (PRIMARY_URL / REPLICA_URLS): choose another`);
      const record: MemberRecord = { id, state: 'added', url, name, at: Date.now() };
      await this.deps.store.setClusterValue(memberKey(id), encodeMemberRecord(record));
      const values = await this.deps.store.readClusterValues();
      const config = computeMembers(this.deps.configured, parseMemberRecords(values), this.deps.nodeToken).find((c) => c.id === id);
      // Another gateway's change may have won the same URL or name in between: that one is taken up by reconcile.
      if (!config) throw errors.conflict(`${redactUrl(id)} could not be added: the store holds a conflicting membership change`);
      return this.attach(config, 'added through the admin API', values);
    });
  }

  /** Removes a node: 404 when unknown, 409 for the primary (switch over first). */
  async remove(name: string): Promise<{ node: string }> {
    return this.lane.run(async () => {
      const { cluster } = this.deps;
      const node = cluster.nodes.find((n) => n.name === name);
      if (!node) throw errors.notFound(`no node named ${name}; nodes: ${cluster.nodes.map((n) => n.name).join(', ')}`);
      if (node === cluster.primary) throw errors.conflict(`${name} is the primary: switch over to another node first (POST /admin/switchover), then remove it`);
      if (cluster.nodes.length === 1) throw errors.conflict(`${name} is the only node`);
      await this.deps.store.setClusterValue(memberKey(node.id), encodeMemberRecord({ id: node.id, state: 'removed', url: node.config.url, name: node.name, at: Date.now() }));
      await this.detach(node, 'removed through the admin API');
      return { node: name };
    });
  }

  /** Brings this gateway's members in line with the store's records (changes made through another gateway). */
  async reconcile(): Promise<void> {
    await this.lane.run(async () => {
      // Read under the lane: values read before an add of this gateway recorded it would detach that node again.
      const values = await this.deps.store.readClusterValues();
      const { cluster, logger } = this.deps;
      const wanted = Members.fromStore(this.deps.configured, values, this.deps.nodeToken);
      const wantedIds = new Set(wanted.map((c) => c.id));
      for (const node of [...cluster.nodes]) {
        if (wantedIds.has(node.id)) continue;
        if (node === cluster.primary) {
          logger.warn({ node: node.name }, 'the store records this node as removed, but it is the primary here: kept until roles change');
          continue;
        }
        await this.detach(node, 'removed through another gateway');
      }
      for (const config of wanted) if (!cluster.byId(config.id)) await this.attach(config, 'added through another gateway', values);
    });
  }

  private configuredNames(): string[] {
    return this.deps.configured.map((c) => c.name);
  }

  private async attach(config: NodeConfig, reason: string, values?: ReadonlyMap<string, string>): Promise<ClusterNode> {
    const { cluster, health, log, events, logger } = this.deps;
    const node = new ClusterNode(config, this.deps.connectTimeoutMs);
    // A node added again resumes from what the store knows of it; its identity check decides whether that holds.
    node.appliedSeq = (await this.deps.store.readPositions()).get(node.id) ?? 0;
    node.drained = values?.get(`drained:${node.id}`) === '1';
    cluster.add(node);
    health.watch(node);
    this.deps.startApplier(node);
    this.note('added', node);
    logger.warn({ node: node.name, url: redactUrl(node.config.url), priority: node.priority, reason }, `node ${node.name} added: it is checked and bootstrapped before it serves`);
    events.emit('node-membership', { node: node.name, action: 'added', url: redactUrl(node.config.url), reason, at: Date.now() });
    log.changed.notify();
    return node;
  }

  private async detach(node: ClusterNode, reason: string): Promise<void> {
    const { cluster, health, log, events, logger } = this.deps;
    cluster.remove(node); // no read is routed to it from here on
    health.unwatch(node);
    await this.deps.stopApplier(node);
    this.deps.forget(node);
    this.note('removed', node);
    logger.warn({ node: node.name, url: redactUrl(node.config.url), reason }, `node ${node.name} removed: no reads, no writes, no promotion`);
    events.emit('node-membership', { node: node.name, action: 'removed', url: redactUrl(node.config.url), reason, at: Date.now() });
    log.changed.notify();
    // Reads already sent to it may finish; its connections are closed after them.
    void (async () => {
      const deadline = Date.now() + 30_000;
      while (node.inFlight > 0 && Date.now() < deadline) await sleep(100);
      await node.client.close().catch(() => undefined);
    })();
  }

  private note(action: MemberChange['action'], node: ClusterNode): void {
    this.changes.push({ at: new Date().toISOString(), action, node: node.name, url: redactUrl(node.config.url) });
    if (this.changes.length > RECENT_CHANGES) this.changes.shift();
  }
}
