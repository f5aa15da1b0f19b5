// The replication log as the gateway holds it in memory: appending writes, waiting for their outcome,
// and the committed positions that read routing needs (per collection, and for the catalog as a whole).
// The durable copy is the store; this object is rebuilt from it at start-up.
import type { EntryOutcome, LogEntry, Operation, ReplicationStore, StoredState } from '../store/types.js';
import { Signal } from '../util/signal.js';

/** The primary's answer to a write, as the client will receive it. */
export interface WriteResult {
  status: number;
  contentType: string | undefined;
  body: string;
  /** The node that applied it (for the response header and for id rewriting). */
  nodeId: string;
}

interface PendingWrite {
  seq: number;
  /** Credentials the client sent, forwarded to the primary when it applies this entry. */
  clientHeaders: Record<string, string>;
  /** Set once the entry has been handed to a primary: from then on it cannot be aborted. */
  sending: boolean;
  aborted: boolean;
  resolve: (r: WriteResult) => void;
}

/** Key under which catalog-changing entries (collections, databases, tenants, reset) are tracked. */
export const CATALOG_KEY = '';
/** Entries that change a collection's records (the others change the catalog). */
export const RECORD_OPS: ReadonlySet<string> = new Set(['add', 'upsert', 'update', 'delete']);

export class ReplicationLog {
  /** Wakes appliers, readers waiting for a caught-up node, and the failover coordinator. */
  readonly changed = new Signal();
  private readonly lastCommitted = new Map<string, number>();
  private readonly waiters = new Map<number, PendingWrite>();
  /** Pending entries that may already have reached a node: re-applied with replay tolerance. */
  private readonly inDoubt = new Set<number>();
  /** Appends under way: the store can show an entry before its append has returned here. */
  private readonly appending = new Set<Promise<number>>();
  /**
   * Outcomes this gateway's primary applier is recording: once stored, another gateway may tell its client
   * before they are resolved here, and a read of that client through this gateway must wait for them.
   */
  private readonly recordings = new Set<Promise<void>>();
  private maxCommitted = 0;
  head = 0;

  /** gatewayId: recorded as each appended entry's origin, to tell this gateway's entries from others'. */
  constructor(
    readonly store: ReplicationStore,
    readonly gatewayId: string,
  ) {}

  load(state: StoredState): void {
    for (const [k, v] of state.lastCommitted) {
      this.lastCommitted.set(k, v);
      this.maxCommitted = Math.max(this.maxCommitted, v);
    }
    // After a restart nobody knows whether a pending entry reached the primary before the crash.
    for (const seq of state.pendingSeqs) this.inDoubt.add(seq);
    this.head = state.head;
  }

  /** Appends a write durably and returns its seq plus a promise of the primary's answer. */
  async append(entry: Operation, clientHeaders: Record<string, string>): Promise<{ seq: number; result: Promise<WriteResult> }> {
    const appended = this.store.append(entry, this.gatewayId);
    this.appending.add(appended);
    let seq: number;
    try {
      seq = await appended;
    } finally {
      this.appending.delete(appended);
    }
    this.head = Math.max(this.head, seq);
    let resolve!: (r: WriteResult) => void;
    const result = new Promise<WriteResult>((r) => (resolve = r));
    this.waiters.set(seq, { seq, clientHeaders, sending: false, aborted: false, resolve });
    this.changed.notify();
    return { seq, result };
  }

  /** Gives up on a write that no primary has started to apply; false when it is too late for that. */
  async abort(seq: number): Promise<boolean> {
    const w = this.waiters.get(seq);
    if (!w || w.sending) return false;
    w.aborted = true;
    try {
      const aborted = await this.store.abort(seq);
      if (aborted) this.waiters.delete(seq);
      else w.aborted = false;
      return aborted;
    } catch (err) {
      w.aborted = false; // not withdrawn after all: the primary decides it once the store is back
      throw err;
    } finally {
      this.changed.notify();
    }
  }

  /**
   * Called by the primary's applier before it sends an entry it read as pending. Returns the client's
   * headers; null when it must be skipped because its client was told it failed (an append whose answer the
   * store never delivered: it is marked aborted here); 'wait' when the applier must re-read the log first
   * (the client is withdrawing it, or it is no longer pending: the applier's copy of the log is stale).
   */
  async claim(entry: LogEntry): Promise<{ clientHeaders: Record<string, string>; inDoubt: boolean } | 'wait' | null> {
    const seq = entry.seq;
    // A former leaseholder may already have sent it.
    if (entry.claimed) this.inDoubt.add(seq);
    if (!this.waiters.has(seq) && !this.inDoubt.has(seq)) await Promise.allSettled([...this.appending]);
    const w = this.waiters.get(seq);
    if (w?.aborted) return 'wait';
    if (!w && entry.origin !== null && entry.origin !== this.gatewayId) {
      // Another gateway's write: its client waits there. Claimed in the store, so that gateway can no longer
      // withdraw it; false when it was withdrawn first. (Clients' credentials stay with their own gateway.)
      return (await this.store.claim(seq)) ? { clientHeaders: {}, inDoubt: this.inDoubt.has(seq) } : 'wait';
    }
    // Pending entries without a client are normal only when left over from before a restart (in doubt).
    if (!w && !this.inDoubt.has(seq)) return (await this.store.abort(seq)) ? null : 'wait';
    if (w) w.sending = true;
    return { clientHeaders: w?.clientHeaders ?? {}, inDoubt: this.inDoubt.has(seq) };
  }

  /**
   * The credentials of a write of this gateway's that no primary has taken yet and that cannot have reached
   * one (not in doubt, not being withdrawn); null otherwise. Only such writes are merged by the primary.
   */
  untouchedWrite(entry: LogEntry): Record<string, string> | null {
    const w = this.waiters.get(entry.seq);
    if (!w || w.sending || w.aborted || entry.claimed || this.inDoubt.has(entry.seq)) return null;
    return w.clientHeaders;
  }

  /** The send failed in a way that may have reached the node: the next attempt must tolerate a replay. */
  markInDoubt(seq: number): void {
    this.inDoubt.add(seq);
  }

  /** Marks outcomes as being recorded in the store; call the returned function once they are resolved here (or refused). */
  beginRecording(): () => void {
    let end!: () => void;
    const recording = new Promise<void>((r) => (end = r));
    this.recordings.add(recording);
    return () => {
      this.recordings.delete(recording);
      end();
    };
  }

  /** Resolves once every outcome being recorded at the call is resolved here too (at once when none is). */
  async outcomesSettled(): Promise<void> {
    if (this.recordings.size > 0) await Promise.all([...this.recordings]);
  }

  /** Records the outcome of an entry (already durable in the store) and answers its client. */
  resolve(entry: Pick<LogEntry, 'seq' | 'op' | 'collectionId'>, state: 'committed' | 'rejected', result: WriteResult): void {
    this.inDoubt.delete(entry.seq);
    if (state === 'committed') {
      if (entry.collectionId) this.lastCommitted.set(entry.collectionId, entry.seq);
      if (!RECORD_OPS.has(entry.op)) this.lastCommitted.set(CATALOG_KEY, entry.seq);
      this.maxCommitted = Math.max(this.maxCommitted, entry.seq);
    }
    const w = this.waiters.get(entry.seq);
    this.waiters.delete(entry.seq);
    w?.resolve(result);
    this.changed.notify();
  }

  /**
   * For a gateway without the lease: outcomes the leaseholder recorded, in log order. Answers the clients of
   * this gateway that wait for them and moves the committed positions reads depend on. Returns the seq up
   * to which every entry is decided (the next call starts after it).
   */
  learn(outcomes: EntryOutcome[], decidedThrough: number): number {
    for (const o of outcomes) {
      if (o.state === 'pending') break;
      decidedThrough = o.seq;
      this.head = Math.max(this.head, o.seq);
      // Aborted: withdrawn by the gateway whose client gave up (a leaseholder never aborts another's entry).
      if (o.state === 'aborted') continue;
      const answer = o.answer ?? { contentType: 'application/json', body: '{}', nodeId: '' };
      this.resolve({ seq: o.seq, op: o.op, collectionId: o.collectionId }, o.state, { status: o.status ?? 200, ...answer });
    }
    return decidedThrough;
  }

  /** The position a node must have reached to serve a read of this collection (read-your-writes). */
  requiredFor(collectionId: string | null): number {
    return this.lastCommitted.get(collectionId ?? CATALOG_KEY) ?? 0;
  }

  /** Highest committed seq: a node at or past it holds every acknowledged write. */
  get committedHead(): number {
    return this.maxCommitted;
  }

  /** True while some entry may have reached the primary without a recorded outcome. */
  get hasUnsettledWrites(): boolean {
    return this.inDoubt.size > 0;
  }

  get pendingCount(): number {
    return this.waiters.size;
  }
}
