// Composition root of the gateway: opens the store, rebuilds the in-memory log and catalog from it,
// wires health checking, appliers, failover and the HTTP server together, and tears them down in order.
import type { GatewayConfig } from '../config/load.js';
import { createLogger, type Logger } from '../log/logger.js';
import { redactUrl } from '../log/redact.js';
import { ClusterNode } from '../cluster/node.js';
import { Cluster } from '../cluster/cluster.js';
import { ClusterEventBus } from '../cluster/events.js';
import { HealthChecker } from '../health/checker.js';
import { createStore } from '../store/open.js';
import type { ReplicationStore } from '../store/types.js';
import { Catalog } from '../replication/catalog.js';
import { ReplicationLog } from '../replication/log.js';
import { NodeApplier } from '../replication/applier.js';
import { FailoverCoordinator } from '../replication/failover.js';
import { LeaseKeeper } from '../replication/lease-keeper.js';
import { LogFollower } from '../replication/follower.js';
import { gatewayId } from '../replication/gateway-id.js';
import { Adopter } from '../replication/adopt.js';
import { SpotChecker } from '../replication/spot-check.js';
import { NodeLifecycle } from '../replication/lifecycle.js';
import { LogCompactor } from '../replication/compaction.js';
import { KnownTenants } from '../replication/tenants.js';
import { MaintenanceSlot } from '../replication/maintenance.js';
import { AntiEntropy } from '../replication/anti-entropy.js';
import { ReadRouter } from '../routing/read-router.js';
import { Mutex } from '../util/signal.js';
import { ApiHandler } from './api.js';
import { GatewayServer } from './server.js';
import { gatewayHealth, gatewayStatus } from './status.js';
import { sendJson } from './errors.js';
import { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { AdminApi } from './admin.js';
import { Members } from './members.js';

export class Gateway {
  readonly startedAt = Date.now();
  port = 0;
  private appliers: NodeApplier[] = [];

  private constructor(
    readonly config: GatewayConfig,
    readonly logger: Logger,
    readonly store: ReplicationStore,
    readonly cluster: Cluster,
    readonly catalog: Catalog,
    readonly log: ReplicationLog,
    readonly health: HealthChecker,
    readonly failover: FailoverCoordinator,
    readonly lease: LeaseKeeper,
    private readonly follower: LogFollower,
    private readonly adopter: Adopter,
    readonly server: GatewayServer,
    readonly events: ClusterEventBus,
    readonly lifecycle: NodeLifecycle,
    readonly compactor: LogCompactor,
    readonly tenants: KnownTenants,
    readonly antiEntropy: AntiEntropy,
    private readonly maintenance: MaintenanceSlot,
    readonly members: Members,
  ) {}

  static async create(config: GatewayConfig, logger: Logger = createLogger(config.logLevel)): Promise<Gateway> {
    const store = createStore(config);
    try {
      await store.init();
    } catch (err) {
      // A start-up error names the setting at fault (the driver's message alone does not).
      await store.close().catch(() => undefined);
      const setting = config.databaseUrl ? 'DATABASE_URL' : `DATA_DIR (${config.dataDir})`;
      throw new Error(`cannot open the replication log store given by ${setting}: ${(err as Error).message}`);
    }
    const state = await store.loadState();
    const connectTimeoutMs = Math.min(config.healthCheckTimeoutMs, 2_000);
    // The configured nodes, changed by those an operator added or removed at run time (recorded in the store).
    const nodes = Members.fromStore(config.nodes, state.cluster, config.nodeToken).map((c) => new ClusterNode(c, connectTimeoutMs));
    for (const n of nodes) {
      n.appliedSeq = state.positions.get(n.id) ?? 0;
      n.drained = state.cluster.get(`drained:${n.id}`) === '1';
    }
    const catalog = new Catalog();
    catalog.load(state);
    const id = gatewayId();
    const log = new ReplicationLog(store, id);
    log.load(state);
    const cluster = new Cluster(nodes);
    const events = new ClusterEventBus();
    const primaryLane = new Mutex();
    const health = new HealthChecker(
      nodes,
      {
        intervalMs: config.checkIntervalMs,
        fastIntervalMs: config.fastCheckIntervalMs,
        fall: config.failureThreshold,
        rise: config.recoveryThreshold,
        timeoutMs: config.healthCheckTimeoutMs,
        minTimeoutMs: config.healthCheckMinTimeoutMs,
      },
      events,
      logger,
    );
    const lease = new LeaseKeeper(store, id, logger, { ttlMs: config.leasePeriodMs, renewMs: config.leaseRenewMs });
    const follower = new LogFollower({ store, log, catalog, cluster, lease, logger }, state.pendingSeqs.length > 0 ? state.pendingSeqs[0]! - 1 : state.head);
    const failover = new FailoverCoordinator({ cluster, log, store, events, logger, primaryLane, lease });
    failover.restore(await store.readRoles());
    const adopter = new Adopter({ catalog, store, primaryLane, timeoutMs: config.requestTimeoutMs, catchUp: () => follower.catchUp() });
    const router = new ReadRouter(cluster, catalog, log);
    const api = new ApiHandler({
      cluster,
      catalog,
      log,
      router,
      adopter,
      health,
      events,
      requestTimeoutMs: config.requestTimeoutMs,
      writeTimeoutMs: config.writeTimeoutMs,
      maxBodyBytes: config.maxBodyBytes,
      confirmFresh: () => follower.confirmFresh(),
    });
    const server = new GatewayServer(api, events, logger, config);
    const spotCheck = new SpotChecker({ cluster, log, catalog, primaryLane, intervalMs: config.spotCheckIntervalMs, timeoutMs: config.requestTimeoutMs });
    const appliers: NodeApplier[] = [];
    const lifecycle: NodeLifecycle = new NodeLifecycle({
      cluster,
      catalog,
      log,
      store,
      adopter,
      events,
      logger,
      timeoutMs: config.requestTimeoutMs,
      isActive: () => lease.isHeld(),
      leaseSignal: () => lease.sendSignal(),
      applierIdle: (node) => appliers.find((a) => a.node === node)?.whenIdle() ?? Promise.resolve(),
      truncatedThrough: (): number => compactor.truncatedThrough,
    });
    lifecycle.load(state.cluster);
    const tenants = new KnownTenants({ store, catalog });
    tenants.load(state.cluster);
    const compactor: LogCompactor = new LogCompactor({
      cluster,
      store,
      logger,
      retentionEntries: config.logRetentionEntries,
      retentionMs: config.logRetentionMs,
      isActive: () => lease.isHeld(),
      vouchedPosition: (node): number | null => lifecycle.vouchedPosition(node),
      holdsLog: (node) => lifecycle.isPaused(node),
      beforeTruncate: (upTo) => tenants.learn(upTo),
    });
    compactor.load(state.cluster);
    const maintenance = new MaintenanceSlot();
    const antiEntropy = new AntiEntropy({
      cluster,
      catalog,
      log,
      store,
      lifecycle,
      tenants,
      logger,
      slot: maintenance,
      timeoutMs: config.requestTimeoutMs,
      recordsPerSecond: config.verifyRecordsPerSecond,
      intervalMs: config.antiEntropyIntervalMs,
      isActive: () => lease.isHeld(),
    });
    const newApplier = (node: ClusterNode) =>
      new NodeApplier(node, {
        cluster,
        log,
        catalog,
        store,
        health,
        events,
        logger,
        primaryLane,
        requestTimeoutMs: config.requestTimeoutMs,
        spotCheck,
        lease,
        leasePeriodMs: config.leasePeriodMs,
        onStaleEpoch: () => void failover.evaluate(),
      });
    const members = new Members({
      cluster,
      store,
      health,
      log,
      events,
      logger,
      configured: config.nodes,
      nodeToken: config.nodeToken,
      connectTimeoutMs,
      startApplier: (node) => {
        const applier = newApplier(node);
        appliers.push(applier);
        applier.start();
      },
      stopApplier: async (node) => {
        const i = appliers.findIndex((a) => a.node === node);
        if (i < 0) return;
        const [applier] = appliers.splice(i, 1);
        await applier!.stop();
      },
      forget: (node) => lifecycle.forget(node),
    });
    const gw = new Gateway(config, logger, store, cluster, catalog, log, health, failover, lease, follower, adopter, server, events, lifecycle, compactor, tenants, antiEntropy, maintenance, members);
    appliers.push(...nodes.map(newApplier));
    gw.appliers = appliers;
    return gw;
  }

  async start(): Promise<number> {
    const { cluster, events, log, logger, config } = this;
    events.on('node-health', ({ node, to }) => {
      const n = cluster.nodes.find((x) => x.name === node);
      if (to === 'down') this.appliers.find((a) => a.node === n)?.abortInFlight();
      if (to === 'up' && n === cluster.primary) void this.adopter.adopt(n, ['default_tenant'], true).catch(() => 0);
      log.changed.notify();
    });
    this.server.endpoint('/health', (_req, res) => {
      const h = gatewayHealth(cluster);
      sendJson(res, h.code, { status: h.status, primary: cluster.primary.isUp ? cluster.primary.name : null });
    });
    this.server.endpoint('/status', async (_req, res) => {
      sendJson(res, 200, await gatewayStatus(cluster, log, this.store, this.startedAt, { control: { roles: this.failover, lease: this.lease }, lifecycle: this.lifecycle, compactor: this.compactor, antiEntropy: this.antiEntropy, members: this.members }));
    });
    const metrics = new GatewayMetrics({
      cluster,
      events,
      httpServer: this.server.server,
      status: () => gatewayStatus(cluster, log, this.store, this.startedAt, { lifecycle: this.lifecycle, compactor: this.compactor, antiEntropy: this.antiEntropy, members: this.members }),
    });
    this.server.endpoint('/metrics', metrics.handler);
    this.lease.onChange((held) => {
      // A gateway that lost the lease must not finish sending what it started; the new holder decides it.
      if (!held) for (const a of this.appliers) a.abortInFlight();
      log.changed.notify();
    });
    await this.lease.start();
    await this.follower.start();
    const admin = new AdminApi({
      cluster,
      catalog: this.catalog,
      log,
      store: this.store,
      lifecycle: this.lifecycle,
      logger,
      timeoutMs: config.requestTimeoutMs,
      adminToken: config.adminToken,
      backupStallTimeoutMs: config.backupStallTimeoutMs,
      leaseHeld: () => this.lease.isHeld(),
      slot: this.maintenance,
      tenants: this.tenants,
      recordsPerSecond: config.verifyRecordsPerSecond,
      members: this.members,
      switchover: (to) => this.failover.switchover(to),
    });
    this.server.endpointTree('/admin/', admin.handler);
    this.members.start();
    this.lifecycle.start();
    this.compactor.start();
    this.antiEntropy.start();
    this.health.start();
    for (const a of this.appliers) a.start();
    this.failover.start();
    this.port = await this.server.listen(config.port, config.host);
    logger.info(
      {
        port: this.port,
        store: this.store.kind,
        nodes: cluster.nodes.map((n) => ({ name: n.name, url: redactUrl(n.config.url), priority: n.priority })),
      },
      `chroma-ha gateway listening on ${config.host}:${this.port}`,
    );
    return this.port;
  }

  async stop(): Promise<void> {
    await this.server.close(this.config.shutdownTimeoutMs);
    await this.members.stop();
    this.failover.stop();
    this.health.stop();
    await this.antiEntropy.stop();
    await this.lifecycle.stop();
    await this.compactor.stop();
    await Promise.all(this.appliers.map((a) => a.stop()));
    await this.follower.stop();
    await this.lease.stop();
    await Promise.all(this.cluster.nodes.map((n) => n.client.close()));
    await this.store.close();
  }
}
