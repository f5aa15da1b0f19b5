// Keeps a gateway in step with what other gateways write to the shared store. Without the applier lease it
// learns, in log order, the outcomes the leaseholder recorded (answering its own waiting clients and moving
// the committed positions its reads depend on), the node positions the leaseholder publishes, and catalog
// changes. With the lease it wakes its appliers for entries other gateways appended. Woken by the store's
// notifications (PostgreSQL LISTEN/NOTIFY) and, as a fallback, by polling.
import type { Cluster } from '../cluster/cluster.js';
import type { Logger } from '../log/logger.js';
import type { ReplicationStore } from '../store/types.js';
import type { Catalog } from './catalog.js';
import { CATALOG_KEY, RECORD_OPS, type ReplicationLog } from './log.js';
import type { ApplierLease } from './lease.js';

export interface FollowerDeps {
  store: ReplicationStore;
  log: ReplicationLog;
  catalog: Catalog;
  cluster: Cluster;
  lease: ApplierLease;
  logger: Logger;
  pollMs?: number;
}

const BATCH = 500;

export class LogFollower {
  private decidedThrough: number;
  private timer: NodeJS.Timeout | null = null;
  private stopWatching: (() => Promise<void>) | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private forceCatalog = false;
  /** The last pass could not reach the store. */
  private failed = false;
  /**
   * This gateway holds the lease and has learned the outcomes recorded before it took it (by the previous
   * holder, told to its clients meanwhile); from then on its own appliers keep its view current.
   */
  private caughtUpAsHolder = false;

  /** decidedThrough: every entry up to this seq was decided when the gateway loaded the log. */
  constructor(
    private readonly deps: FollowerDeps,
    decidedThrough: number,
  ) {
    this.decidedThrough = decidedThrough;
  }

  async start(): Promise<void> {
    this.stopWatching = await this.deps.store.watch(() => this.wake());
    this.timer = setInterval(() => this.wake(), this.deps.pollMs ?? 100);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.stopWatching?.();
    await this.running;
  }

  /**
   * Brings the catalog and outcomes up to date now (before adopting a collection this gateway does not know:
   * it may only be one another gateway created). Nothing to do for the leaseholder, whose copy is the source.
   */
  async catchUp(): Promise<void> {
    this.forceCatalog = true;
    await this.confirmFresh().catch(() => undefined);
  }

  /**
   * Resolves once this gateway knows every outcome recorded before the call, so a read routed now sees the
   * client's own writes made through any gateway; throws when the store cannot be reached to show it. The
   * leaseholder's own view is current once it has learned what its predecessor recorded: nobody else records
   * outcomes while its lease is valid, and it waits only for outcomes its own applier is storing (another
   * gateway may have answered its client as soon as they were stored). So is the view of a gateway that
   * never saw another one on its log: it keeps serving reads while the store is away.
   */
  async confirmFresh(): Promise<void> {
    if (this.deps.lease.isHeld() && this.caughtUpAsHolder) return this.deps.log.outcomesSettled();
    await this.running; // a pass in progress may have read the store before this call
    this.wake();
    await this.running;
    if (this.failed && this.deps.lease.sharedWithOthers()) throw new Error('the replication log store is unreachable');
  }

  private wake(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = null));
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.step();
        this.failed = false;
      } catch (err) {
        this.failed = true;
        // The store is unreachable: writes are refused meanwhile; the next wake-up tries again.
        this.deps.logger.debug({ err: (err as Error).message }, 'following the log failed');
      }
    } while (this.again);
  }

  private async step(): Promise<void> {
    const { store, log, catalog, cluster, lease } = this.deps;
    const held = lease.isHeld();
    if (held && this.caughtUpAsHolder) {
      // This gateway's primary applier decides entries in order: everything it passed is decided.
      this.decidedThrough = Math.max(this.decidedThrough, cluster.primary.appliedSeq);
      const head = await store.head();
      if (head > log.head) {
        log.head = head;
        log.changed.notify();
      }
      return;
    }
    const outcomes = await store.outcomesAfter(this.decidedThrough, BATCH);
    const positions = await store.readPositions();
    const catalogSeq = log.requiredFor(CATALOG_KEY);
    let catalogChanged = this.forceCatalog || outcomes.some((o) => o.state === 'committed' && !RECORD_OPS.has(o.op));
    for (const node of cluster.nodes) {
      const p = positions.get(node.id) ?? 0;
      if (p <= node.appliedSeq) continue;
      // A replica that applied a catalog change got its own id for a collection: read the new mapping.
      if (node.appliedSeq < catalogSeq && p >= catalogSeq) catalogChanged = true;
      node.appliedSeq = p;
    }
    if (catalogChanged) {
      this.forceCatalog = false;
      catalog.reload(await store.readCatalog());
    }
    this.decidedThrough = log.learn(outcomes, this.decidedThrough);
    for (const node of cluster.nodes) {
      if (node.syncState !== 'diverged') node.syncState = node.appliedSeq >= log.committedHead ? 'in-sync' : 'syncing';
    }
    log.changed.notify();
    if (outcomes.length === BATCH) this.again = true;
    else this.caughtUpAsHolder = held;
  }
}
