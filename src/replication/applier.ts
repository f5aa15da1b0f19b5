// One applier per node brings that node to the end of the log, strictly in log order. On a replica it
// applies committed entries and skips rejected ones. On the primary it also applies pending entries,
// and the primary's answer becomes the entry's outcome (committed or rejected) before the client hears
// it. An entry a node cannot apply is retried with backoff, then the node is marked diverged: never skipped.
import type { ClusterNode } from '../cluster/node.js';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { HealthChecker } from '../health/checker.js';
import type { Logger } from '../log/logger.js';
import type { LogEntry, ReplicationStore } from '../store/types.js';
import type { Catalog } from './catalog.js';
import type { ReplicationLog } from './log.js';
import type { ApplierLease } from './lease.js';
import { applyEntry, type ApplyMode, type ApplyResult } from './apply-entry.js';
import { mergeRun } from './batch.js';
import { planCatchUp, type CatchUpPlan } from './catch-up-plan.js';
import type { SpotChecker } from './spot-check.js';
import { UpstreamError } from '../upstream/node-client.js';
import { sleep, type Mutex } from '../util/signal.js';

export interface ApplierDeps {
  cluster: Cluster;
  log: ReplicationLog;
  catalog: Catalog;
  store: ReplicationStore;
  health: HealthChecker;
  events: ClusterEventBus;
  logger: Logger;
  /** Held while the primary applies a pending entry, so a role change never overlaps a write. */
  primaryLane: Mutex;
  requestTimeoutMs: number;
  /** Only the gateway holding the applier lease applies anything. */
  lease: ApplierLease;
  /**
   * LEASE_PERIOD: no request to a node waits longer than that; each one is also aborted when the lease lapses
   * (lease.sendSignal), so a gateway taking over an expired lease knows this one's requests are over (lease-grace.ts).
   */
  leasePeriodMs: number;
  /** The store refused an outcome because the epoch moved on: another gateway changed roles. */
  onStaleEpoch: () => void;
  /** Attempts at an entry the node answers with an error before the node is declared diverged. */
  maxApplyAttempts?: number;
  /** Compares a replica with the primary now and then, after it applied a collection's latest write. */
  spotCheck?: SpotChecker;
}

const BATCH = 200;
/** Writes the primary may decide with one request. Not update: the update guard checks each one on its own. */
const GROUP_COMMIT_OPS: ReadonlySet<string> = new Set(['add', 'upsert', 'delete']);
const MAX_GROUP = 100;

export class NodeApplier {
  private stopped = false;
  private inFlight: AbortController | null = null;
  private persistedSeq: number;
  private attempts = 0;
  /** Highest epoch whose outcomes the store refused: no pending entry is sent again until the epoch moves on. */
  private fencedEpoch = -1;
  private loopDone: Promise<void> = Promise.resolve();
  private stepping: Promise<boolean> | null = null;
  /** A catch-up window failed up to this seq: its entries are applied without cross-collection merging. */
  private unplannedThrough = 0;

  constructor(
    readonly node: ClusterNode,
    private readonly deps: ApplierDeps,
  ) {
    this.persistedSeq = node.appliedSeq;
  }

  start(): void {
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.inFlight?.abort();
    this.deps.log.changed.notify();
    await this.loopDone;
  }

  /** Resolves once the current step is over: a refill by copy waits for it before it touches the node. */
  async whenIdle(): Promise<void> {
    await this.stepping?.catch(() => undefined);
  }

  /** Gives up on the request in flight (the node was marked down); the entry stays pending or in doubt. */
  abortInFlight(): void {
    this.inFlight?.abort();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        this.stepping = this.step();
        const progressed = await this.stepping;
        if (!progressed) await this.deps.log.changed.wait(1_000);
      } catch (err) {
        // The store failed (e.g. PostgreSQL down): nothing was recorded, so the same entry is retried.
        this.deps.logger.warn({ node: this.node.name, err: (err as Error).message }, 'applier step failed');
        await sleep(250);
      }
    }
  }

  /** Applies what it can; returns false when there is nothing to do until something changes. */
  private async step(): Promise<boolean> {
    const node = this.node;
    // Only a member (identity checked, not being refilled: replication/lifecycle.ts) is written to, and only
    // by the gateway that holds the applier lease.
    if (!this.deps.lease.isHeld() || !node.isUp || node.syncState === 'diverged' || !node.isMember) return false;
    const entries = await this.deps.store.readAfter(node.appliedSeq, BATCH);
    let progressed = false;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      if (this.stopped || !node.isUp || !node.isMember || !this.deps.lease.isHeld()) break;
      if (entry.state === 'rejected' || entry.state === 'aborted') {
        node.appliedSeq = entry.seq;
        progressed = true;
        continue;
      }
      if (entry.state === 'committed' && this.attempts === 0 && entry.seq > this.unplannedThrough) {
        const plan = planCatchUp(entries, i);
        const applied = plan ? await this.replicateWindow(plan, entries) : 'fallback';
        if (applied === 'pause') break;
        if (applied === 'done') {
          i = plan!.lastIndex;
          progressed = true;
          continue;
        }
        if (plan) this.unplannedThrough = entries[plan.lastIndex]!.seq;
      }
      if (entry.state === 'committed') {
        const run = this.attempts === 0 ? mergeRun(entries, i) : null;
        // A merged run that fails is retried entry by entry, so the failing entry is the one reported.
        if (run && (await this.replicate(run.entry, true))) {
          i = run.lastIndex;
          progressed = true;
          continue;
        }
      }
      if (entry.state === 'pending' && this.attempts === 0) {
        const decided = await this.decideRun(entries, i);
        if (decided === 'pause') break;
        if (decided !== 'fallback') {
          i = decided;
          progressed = true;
          continue;
        }
      }
      const done = entry.state === 'committed' ? await this.replicate(entry) : await this.decide(entry);
      if (!done) break;
      progressed = true;
    }
    await this.persistSkips();
    this.refreshSyncState();
    return progressed;
  }

  /** Applies an entry the primary committed. Returns false when the loop must pause. */
  private async replicate(entry: LogEntry, merged = false): Promise<boolean> {
    const result = await this.send(entry, 'replicate');
    if (!result) return false;
    if (merged && (result.kind !== 'answered' || result.status < 200 || result.status >= 300)) return false;
    if (result.kind === 'not-held') {
      this.node.appliedSeq = entry.seq;
      return true;
    }
    if (result.kind === 'missing') return this.failedAttempt(entry, result.message, true);
    if (result.status < 200 || result.status >= 300) {
      return this.failedAttempt(entry, `answered ${result.status}: ${result.body.slice(0, 300)}`, false);
    }
    await this.deps.store.recordApply({ nodeId: this.node.id, seq: entry.seq, changes: result.changes });
    this.deps.catalog.apply(result.changes);
    this.advance(entry.seq, true);
    const drift = await this.deps.spotCheck?.afterApply(this.node, entry);
    if (drift) {
      this.diverge(entry, `spot check after entry ${entry.seq}: ${drift}`);
      return false;
    }
    return true;
  }

  /**
   * Applies a catch-up window (catch-up-plan.ts): each collection's chain of merged requests in order, one
   * request in flight at a time, then records the window's end as the node's position. Any answer but
   * success ends it with 'fallback': its entries are then applied one by one, which replays the ones
   * already applied harmlessly (see catch-up-plan.ts) and reports the entry that fails.
   */
  private async replicateWindow(plan: CatchUpPlan, entries: LogEntry[]): Promise<'done' | 'fallback' | 'pause'> {
    for (const chain of plan.chains) {
      for (const request of chain) {
        const result = await this.send(request, 'replicate');
        if (!result) return 'pause';
        if (result.kind === 'not-held') break; // the node does not hold this collection: nothing to apply
        if (result.kind !== 'answered' || result.status < 200 || result.status >= 300) return 'fallback';
        this.deps.catalog.apply(result.changes);
      }
    }
    const last = entries[plan.lastIndex]!;
    await this.deps.store.recordApply({ nodeId: this.node.id, seq: last.seq });
    this.advance(last.seq, true);
    for (const chain of plan.chains) {
      const latest = chain.reduce((a, b) => (b.seq > a.seq ? b : a));
      const drift = await this.deps.spotCheck?.afterApply(this.node, latest);
      if (drift) {
        this.diverge(last, `spot check after entry ${latest.seq}: ${drift}`);
        return 'pause';
      }
    }
    return 'done';
  }

  /** The primary applies a pending entry; its answer is the outcome. Returns false when the loop must pause. */
  private async decide(entry: LogEntry): Promise<boolean> {
    const { cluster, log, store, catalog, primaryLane } = this.deps;
    if (cluster.primary !== this.node) return false; // replicas wait for the primary's outcome
    const release = await primaryLane.lock();
    let endRecording: (() => void) | undefined;
    try {
      // The epoch this entry is sent under: if a promotion records a newer one meanwhile, the outcome is refused.
      const epoch = cluster.epoch;
      if (cluster.primary !== this.node || !this.node.isUp || epoch <= this.fencedEpoch || !this.deps.lease.isHeld()) return false;
      const claim = await log.claim(entry);
      if (claim === 'wait') return false;
      if (!claim) {
        this.advance(entry.seq, false);
        return true;
      }
      const mode: ApplyMode = claim.inDoubt ? 'decide-replay' : 'decide';
      const result = await this.send(entry, mode, claim.clientHeaders);
      if (!result) return false;
      let answer: { status: number; contentType: string | undefined; body: string };
      let changes = {};
      let collectionId = entry.collectionId;
      let sentBody: Buffer | undefined;
      if (result.kind === 'answered') {
        if (result.status === 502 || result.status === 503 || result.status === 504) {
          // A proxy in front of the node answered for it: the node itself may or may not have the write.
          log.markInDoubt(entry.seq);
          this.deps.health.reportFailure(this.node, `answered ${result.status}`);
          await sleep(100);
          return false;
        }
        answer = result;
        changes = result.changes;
        collectionId = result.collectionId;
        sentBody = result.sentBody;
      } else {
        answer = chromaError(404, 'NotFoundError', result.kind === 'missing' ? result.message : 'collection not held by the primary');
      }
      const committed = answer.status >= 200 && answer.status < 300;
      const state = committed ? 'committed' : 'rejected';
      endRecording = log.beginRecording();
      const verdict = await store
        .recordApply({ nodeId: this.node.id, seq: entry.seq, outcome: { state, status: answer.status, collectionId, epoch, body: sentBody, answer: { contentType: answer.contentType, body: answer.body, nodeId: this.node.id } }, changes: committed ? changes : undefined })
        .catch((err: unknown) => {
          // Applied on the node but not recorded (store down): the retry must tolerate a replay.
          log.markInDoubt(entry.seq);
          throw err;
        });
      if (verdict === 'stale-epoch') {
        // Fenced: stop sending at once; the primary of the new epoch decides this entry (with replay tolerance).
        this.fencedEpoch = epoch;
        log.markInDoubt(entry.seq);
        this.deps.logger.warn({ node: this.node.name, seq: entry.seq, epoch }, 'outcome refused: the epoch moved on; this applier stops deciding');
        this.deps.onStaleEpoch();
        return false;
      }
      if (verdict === 'already-decided') return false; // someone else decided it meanwhile; re-read the log
      if (committed) catalog.apply(changes);
      this.advance(entry.seq, true);
      log.resolve({ seq: entry.seq, op: entry.op, collectionId }, state, { ...answer, nodeId: this.node.id });
      return true;
    } finally {
      endRecording?.();
      release();
    }
  }

  /**
   * Group commit: the primary decides a run of this gateway's pending record writes (same collection,
   * operation and credentials, see batch.ts) with one request, so writes queued behind a pause are decided
   * faster than new ones arrive. Each entry gets the run's answer as its own outcome. Returns the index of
   * the last entry decided; 'fallback' when the entries must be decided one by one (no run, or the merged
   * request was refused: its entries are then in doubt and replayed with tolerance); 'pause' to stop the loop.
   */
  private async decideRun(entries: LogEntry[], start: number): Promise<number | 'fallback' | 'pause'> {
    const { cluster, log, store, catalog, primaryLane } = this.deps;
    if (cluster.primary !== this.node) return 'fallback';
    const firstHeaders = log.untouchedWrite(entries[start]!);
    if (!firstHeaders) return 'fallback';
    const credentials = JSON.stringify(firstHeaders);
    const options = {
      state: 'pending' as const,
      ops: GROUP_COMMIT_OPS,
      accept: (e: LogEntry) => {
        const headers = log.untouchedWrite(e);
        return headers !== null && JSON.stringify(headers) === credentials;
      },
    };
    const planned = mergeRun(entries, start, options);
    if (!planned) return 'fallback';
    const release = await primaryLane.lock();
    let endRecording: (() => void) | undefined;
    try {
      const epoch = cluster.epoch;
      if (cluster.primary !== this.node || !this.node.isUp || epoch <= this.fencedEpoch || !this.deps.lease.isHeld()) return 'pause';
      // Claim in order; a write whose client is withdrawing it ends the run there.
      const claimed: LogEntry[] = [];
      for (let i = start; i <= planned.lastIndex && claimed.length < MAX_GROUP; i++) {
        const e = entries[i]!;
        if (!options.accept(e)) break;
        const claim = await log.claim(e);
        if (!claim || claim === 'wait' || claim.inDoubt) break;
        claimed.push(e);
      }
      // Usually every planned entry was claimed: the planned body is the one to send (no second parse and merge).
      const asPlanned = claimed.length === planned.lastIndex - start + 1;
      const run = claimed.length < 2 ? null : asPlanned ? { ...planned, lastIndex: claimed.length - 1 } : mergeRun(claimed, 0, { state: 'pending', ops: GROUP_COMMIT_OPS });
      if (!run || run.lastIndex !== claimed.length - 1) return 'fallback'; // claimed entries stay claimable one by one
      const result = await this.send(run.entry, 'decide', firstHeaders);
      const markInDoubt = (from: number) => claimed.slice(from).forEach((e) => log.markInDoubt(e.seq));
      if (!result) {
        markInDoubt(0);
        return 'pause';
      }
      if (result.kind !== 'answered' || result.status < 200 || result.status >= 300) {
        markInDoubt(0);
        if (result.kind === 'answered' && result.status >= 502 && result.status <= 504) {
          this.deps.health.reportFailure(this.node, `answered ${result.status}`);
          await sleep(100);
          return 'pause';
        }
        return 'fallback';
      }
      const answer = { contentType: result.contentType, body: result.body, nodeId: this.node.id };
      endRecording = log.beginRecording();
      // Every outcome of the run in one transaction (one fsync), the catalog changes with the first.
      const records = claimed.map((e, k) => ({
        nodeId: this.node.id,
        seq: e.seq,
        outcome: { state: 'committed' as const, status: result.status, collectionId: e.collectionId, epoch, answer },
        changes: k === 0 ? result.changes : {},
      }));
      const verdicts = await store.recordApplies(records).catch((err: unknown) => {
        markInDoubt(0);
        throw err;
      });
      for (let k = 0; k < claimed.length; k++) {
        const e = claimed[k]!;
        const verdict = verdicts[k];
        if (verdict !== 'recorded') {
          markInDoubt(k);
          if (verdict === 'stale-epoch') {
            this.fencedEpoch = epoch;
            this.deps.logger.warn({ node: this.node.name, seq: e.seq, epoch }, 'outcome refused: the epoch moved on; this applier stops deciding');
            this.deps.onStaleEpoch();
          }
          return 'pause';
        }
        if (k === 0) catalog.apply(result.changes);
        this.advance(e.seq, true);
        log.resolve({ seq: e.seq, op: e.op, collectionId: e.collectionId }, 'committed', { status: result.status, ...answer });
      }
      return start + claimed.length - 1;
    } finally {
      endRecording?.();
      release();
    }
  }

  /**
   * Sends one entry; on a connection failure reports the node and returns null. A write the primary
   * decides that stays in flight well beyond its usual latency counts as one failed check (and starts
   * fast probing): clients are waiting on it, so a hung primary must not wait for the next routine probe.
   */
  private async send(entry: LogEntry, mode: ApplyMode, clientHeaders?: Record<string, string>): Promise<ApplyResult | null> {
    const { health } = this.deps;
    const controller = new AbortController();
    this.inFlight = controller;
    // Ends with the lease at the latest, whatever the time limit: nothing of this holder outlives its lease
    // (already aborted when the lease lapsed since the caller checked it: then nothing is sent).
    const leaseEnd = this.deps.lease.sendSignal();
    const onLeaseEnd = () => controller.abort();
    if (leaseEnd.aborted) controller.abort();
    else leaseEnd.addEventListener('abort', onLeaseEnd, { once: true });
    const deciding = mode !== 'replicate';
    const started = performance.now();
    const boundMs = health.writeStallBoundMs(this.node);
    const stallTimer = deciding
      ? setTimeout(() => {
          const usual = health.usualWriteMs(this.node);
          health.reportFailure(this.node, `a write has been in flight for ${boundMs} ms${usual === null ? '' : ` (usually ${usual} ms)`}`);
        }, boundMs)
      : null;
    try {
      const result = await applyEntry(entry, mode, {
        node: this.node,
        catalog: this.deps.catalog,
        timeoutMs: Math.min(this.deps.requestTimeoutMs, this.deps.leasePeriodMs),
        signal: controller.signal,
        clientHeaders,
      });
      if (deciding) health.observeWrite(this.node, performance.now() - started);
      return result;
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      if (mode !== 'replicate' && !err.notSent) this.deps.log.markInDoubt(entry.seq);
      if (err.kind !== 'aborted') this.deps.health.reportFailure(this.node, err.message);
      await sleep(50);
      return null;
    } finally {
      if (stallTimer) clearTimeout(stallTimer);
      leaseEnd.removeEventListener('abort', onLeaseEnd);
      this.inFlight = null;
    }
  }

  private async failedAttempt(entry: LogEntry, message: string, permanent: boolean): Promise<boolean> {
    const max = this.deps.maxApplyAttempts ?? 5;
    this.attempts++;
    if (!permanent && this.attempts < max) {
      this.deps.logger.warn({ node: this.node.name, seq: entry.seq, attempt: this.attempts, error: message }, 'replica could not apply entry; retrying');
      await sleep(Math.min(200 * 2 ** this.attempts, 5_000));
      return false;
    }
    this.diverge(entry, `entry ${entry.seq} (${entry.op}): ${message}`);
    return false;
  }

  /** The node no longer matches the log: it stops applying and serving until it is repaired. */
  private diverge(entry: LogEntry, reason: string): void {
    this.node.syncState = 'diverged';
    this.node.divergedReason = reason;
    this.deps.logger.error({ node: this.node.name, seq: entry.seq, reason }, 'node diverged');
    this.deps.events.emit('node-diverged', { node: this.node.name, seq: entry.seq, error: reason, at: Date.now() });
  }

  private advance(seq: number, persisted: boolean): void {
    this.node.appliedSeq = seq;
    if (persisted) this.persistedSeq = seq;
    this.attempts = 0;
    this.deps.log.changed.notify();
  }

  private async persistSkips(): Promise<void> {
    if (this.node.appliedSeq > this.persistedSeq) {
      await this.deps.store.advancePosition(this.node.id, this.node.appliedSeq);
      this.persistedSeq = this.node.appliedSeq;
      this.deps.log.changed.notify();
    }
  }

  private refreshSyncState(): void {
    if (this.node.syncState === 'diverged') return;
    this.node.syncState = this.node.appliedSeq >= this.deps.log.committedHead ? 'in-sync' : 'syncing';
  }
}

function chromaError(status: number, error: string, message: string) {
  return { status, contentType: 'application/json', body: JSON.stringify({ error, message }) };
}
