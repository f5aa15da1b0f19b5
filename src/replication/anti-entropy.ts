// Anti-entropy: every ANTI_ENTROPY_INTERVAL, the gateway holding the applier lease verifies every replica
// against the primary and repairs what differs (repair.ts: records, collections, databases, a diverged node
// refilled), so drift written behind the gateway's back is fixed without an operator. A pass takes the
// maintenance slot; when an admin verify, repair or backup holds it, the pass is skipped (and says so) and
// the next one runs an interval later. The last pass's outcome is kept for /status, /metrics and the log.
import type { Logger } from '../log/logger.js';
import type { MaintenanceSlot } from './maintenance.js';
import { repairCluster, type RepairDeps } from './repair.js';

export interface AntiEntropyDeps extends RepairDeps {
  logger: Logger;
  slot: MaintenanceSlot;
  intervalMs: number;
  /** True while this gateway holds the applier lease: only the leaseholder repairs. */
  isActive: () => boolean;
}

export interface AntiEntropyPass {
  startedAt: number;
  finishedAt: number;
  /** identical: nothing differed; repaired: differences fixed and verified; incomplete: a node was skipped or still differs; skipped: the slot was taken; failed: an error. */
  outcome: 'identical' | 'repaired' | 'incomplete' | 'skipped' | 'failed';
  /** Whether the nodes were identical when the pass compared them. */
  identical: boolean | null;
  reason: string | null;
  nodesRepaired: number;
  recordsWritten: number;
  recordsDeleted: number;
  collectionsRepaired: number;
  databasesRepaired: number;
}

export interface AntiEntropyStatus {
  intervalSeconds: number;
  running: boolean;
  passes: number;
  last: AntiEntropyPass | null;
}

export class AntiEntropy {
  private timer: NodeJS.Timeout | null = null;
  private current: Promise<void> | null = null;
  private last: AntiEntropyPass | null = null;
  private passes = 0;
  private stopped = false;
  /** Aborts the pass under way: the gateway stops, or loses the lease (the new holder's appliers own the replicas). */
  private abort = new AbortController();

  constructor(private readonly deps: AntiEntropyDeps) {}

  start(): void {
    if (this.deps.intervalMs > 0) this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort(new Error('the gateway is stopping'));
    await this.current;
  }

  status(): AntiEntropyStatus {
    return { intervalSeconds: this.deps.intervalMs / 1000, running: this.current !== null, passes: this.passes, last: this.last };
  }

  /** The next pass an interval after the end of the last one, so a slow pass never overlaps itself. */
  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      if (!this.deps.isActive()) return this.schedule();
      this.current = this.pass().then(() => undefined).finally(() => {
        this.current = null;
        this.schedule();
      });
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** One pass: verify, repair what differs; recorded and logged whatever happens. */
  async pass(): Promise<AntiEntropyPass> {
    const { logger, slot } = this.deps;
    const startedAt = Date.now();
    const pass: AntiEntropyPass = {
      startedAt,
      finishedAt: startedAt,
      outcome: 'identical',
      identical: null,
      reason: null,
      nodesRepaired: 0,
      recordsWritten: 0,
      recordsDeleted: 0,
      collectionsRepaired: 0,
      databasesRepaired: 0,
    };
    const held = slot.running;
    if (held) {
      Object.assign(pass, { outcome: 'skipped', reason: `a ${held.what} was running` });
    } else {
      this.abort = new AbortController();
      const leaseWatch = setInterval(() => {
        if (!this.deps.isActive()) this.abort.abort(new Error('this gateway lost the applier lease'));
      }, 500);
      try {
        const r = await slot.run('anti-entropy pass', () => repairCluster({ ...this.deps, signal: this.abort.signal }));
        pass.identical = r.before.identical;
        for (const n of r.repairs) {
          if (n.action === 'repaired' || n.action === 'resync') pass.nodesRepaired++;
          pass.recordsWritten += n.recordsWritten;
          pass.recordsDeleted += n.recordsDeleted;
          pass.collectionsRepaired += n.collectionsCreated + n.collectionsDropped;
          pass.databasesRepaired += n.databasesCreated + n.databasesDropped;
        }
        const unfinished = r.repairs.filter((n) => n.action === 'skipped');
        if (r.before.identical) pass.outcome = 'identical';
        else if (unfinished.length === 0 && (r.after?.identical ?? true)) pass.outcome = 'repaired';
        else {
          pass.outcome = 'incomplete';
          pass.reason = unfinished.map((n) => `${n.node}: ${n.reason}`).join('; ') || 'nodes still differ after the repair';
        }
      } catch (err) {
        const aborted = this.abort.signal.reason as Error | undefined;
        Object.assign(pass, { outcome: 'failed', reason: aborted?.message ?? (err as Error).message });
      } finally {
        clearInterval(leaseWatch);
      }
    }
    pass.finishedAt = Date.now();
    this.passes++;
    this.last = pass;
    const fields = { ...pass, durationMs: pass.finishedAt - startedAt };
    if (pass.outcome === 'repaired') logger.warn(fields, `anti-entropy pass repaired ${pass.nodesRepaired} node(s)`);
    else if (pass.outcome === 'identical') logger.info(fields, 'anti-entropy pass: all nodes identical');
    else logger.warn(fields, `anti-entropy pass ${pass.outcome}: ${pass.reason}`);
    return pass;
  }
}
