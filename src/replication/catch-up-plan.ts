// Plans how a replica catching up applies a stretch of committed log entries with few requests. Writers
// interleaving several collections leave no two consecutive entries for one collection, so merging only
// consecutive entries (batch.ts) sends one request per entry; here each collection's entries are merged
// across the whole stretch. Writes to different collections commute, and so do writes to one collection
// that share no id (Chroma keeps records independent), so the node ends as if it had applied the entries
// one by one: every record id still sees its own writes in log order.
//
// The stretch (a "window") holds only add, upsert and delete by ids: replaying any prefix of such a window
// and then the whole window leaves every record as the window alone does (each id ends as its last upsert
// or delete left it, or, with adds only, as its first add or earlier value), so a crash before the window's
// position is recorded is harmless. update (its effect depends on whether the id exists: Chroma's index
// bug), delete by filter and every collection-level operation end a window and are applied on their own.
import type { LogEntry } from '../store/types.js';
import { mergeableWrite, mergeBodies, withinLimits, type MergeableWrite } from './batch.js';

export interface CatchUpPlan {
  /**
   * One chain of requests per collection, collections in order of first appearance, each chain in the
   * order it must be sent. A request is an entry, or a merged one carrying the seq of the last it merges.
   */
  chains: LogEntry[][];
  /** Index (in the given list) of the last entry the window covers: the node's position once every chain is applied. */
  lastIndex: number;
  /** Committed entries the window covers (rejected and aborted ones inside it are skipped). */
  entries: number;
}

/** update is not among them: replaying it after a later add of the same id would change that record. */
const WINDOW_OPS: ReadonlySet<string> = new Set(['add', 'upsert', 'delete']);
/** Entries one window covers at most (the applier reads the log in smaller pages anyway). */
const MAX_WINDOW = 1_000;

interface Group {
  shape: string;
  ids: Set<string>;
  parts: MergeableWrite[];
  entries: LogEntry[];
  bytes: number;
}

/**
 * The window starting at `start`, or null when it would not save a request over applying the entry at
 * `start` alone (a barrier there, a pending entry, or a window with one request per entry anyway).
 */
export function planCatchUp(entries: LogEntry[], start: number): CatchUpPlan | null {
  const byCollection = new Map<string, Group[]>();
  let lastIndex = -1;
  let count = 0;
  for (let i = start; i < entries.length && i - start < MAX_WINDOW; i++) {
    const e = entries[i]!;
    if (e.state === 'rejected' || e.state === 'aborted') {
      if (count > 0) lastIndex = i;
      continue;
    }
    const write = e.state === 'committed' ? mergeableWrite(e, WINDOW_OPS) : null;
    if (!write) break;
    const key = JSON.stringify([e.tenant, e.database, e.collectionId]);
    const groups = byCollection.get(key) ?? [];
    byCollection.set(key, groups);
    place(groups, e, write);
    lastIndex = i;
    count++;
  }
  if (count < 2) return null;
  const chains = [...byCollection.values()].map((groups) => groups.map(toRequest));
  if (chains.reduce((n, c) => n + c.length, 0) === count) return null;
  return { chains, lastIndex, entries: count };
}

/**
 * Joins the latest group of the same operation and shape that no later group shares an id with (the write
 * then moves ahead only of writes to other records), or opens a new group at the end.
 */
function place(groups: Group[], entry: LogEntry, write: MergeableWrite): void {
  for (let g = groups.length - 1; g >= 0; g--) {
    const group = groups[g]!;
    const shared = write.ids.some((id) => group.ids.has(id));
    if (!shared && group.shape === write.shape && withinLimits(group.ids.size, group.bytes, write)) {
      for (const id of write.ids) group.ids.add(id);
      group.parts.push(write);
      group.entries.push(entry);
      group.bytes += write.bytes;
      return;
    }
    if (shared) break;
  }
  groups.push({ shape: write.shape, ids: new Set(write.ids), parts: [write], entries: [entry], bytes: write.bytes });
}

function toRequest(group: Group): LogEntry {
  const last = group.entries.reduce((a, b) => (b.seq > a.seq ? b : a));
  return group.entries.length === 1 ? group.entries[0]! : { ...last, body: mergeBodies(group.parts.map((p) => p.body)) };
}
