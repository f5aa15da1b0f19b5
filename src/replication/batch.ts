// Merges a run of consecutive record writes into one Chroma request for a replica catching up.
// Chroma applies one request at a time and a single-record add costs ~19 ms while 100 records in one
// add cost ~38 ms (measured), so a replica applying entries one by one can never overtake a busy
// primary. Merging is only done where it cannot change the result: same collection and operation,
// same fields present, same embedding encoding, no id repeated, and for delete only id lists.
// The primary merges runs of pending writes the same way (group commit), so that writes queued behind a
// pause (a failover, a switchover) are decided faster than new ones arrive instead of one by one.
import type { LogEntry } from '../store/types.js';
import { sameTarget } from './operation-request.js';

const MERGEABLE = new Set(['add', 'upsert', 'update', 'delete']);
const RECORD_FIELDS = ['ids', 'embeddings', 'documents', 'metadatas', 'uris'] as const;
const MAX_RECORDS = 2_000;
const MAX_BYTES = 8 * 1024 * 1024;

type Body = Record<string, unknown>;

export interface MergedRun {
  /** A synthetic entry carrying the merged body; its seq is the last merged entry's. */
  entry: LogEntry;
  /** Index (in the given list) of the last entry the run covers. */
  lastIndex: number;
  /** Number of log entries merged (rejected/aborted entries inside the run are skipped, not counted). */
  merged: number;
}

export interface RunOptions {
  /** committed: a replica catching up (rejected and aborted entries inside the run are skipped). pending: the primary deciding. */
  state: 'committed' | 'pending';
  /** Operations that may be merged (default: every record write). */
  ops?: ReadonlySet<string>;
  /** Further condition on each entry of the run, the first included. */
  accept?: (entry: LogEntry) => boolean;
}

/** The longest mergeable run starting at `start`, or null if it is a single entry. */
export function mergeRun(entries: LogEntry[], start: number, options: RunOptions = { state: 'committed' }): MergedRun | null {
  const first = entries[start]!;
  const ops = options.ops ?? MERGEABLE;
  const accept = options.accept ?? (() => true);
  if (!ops.has(first.op) || first.state !== options.state || !accept(first)) return null;
  // A write with nothing after it to join (the usual case on the primary) is not parsed at all.
  if (!nextCandidate(entries, start, options.state, accept)) return null;
  const firstBody = parse(first.body);
  if (!firstBody || !compatibleShape(first.op, firstBody)) return null;
  const shape = shapeOf(firstBody);
  const ids = new Set<string>(firstBody.ids as string[]);
  const parts: Body[] = [firstBody];
  let bytes = first.body?.length ?? 0;
  let lastIndex = start;
  for (let i = start + 1; i < entries.length; i++) {
    const e = entries[i]!;
    if (options.state === 'committed' && (e.state === 'rejected' || e.state === 'aborted')) continue;
    if (e.state !== options.state || !sameTarget(e, first) || !accept(e)) break;
    const body = parse(e.body);
    if (!body || !compatibleShape(e.op, body) || shapeOf(body) !== shape) break;
    const more = body.ids as string[];
    if (ids.size + more.length > MAX_RECORDS || bytes + (e.body?.length ?? 0) > MAX_BYTES) break;
    if (more.some((id) => ids.has(id))) break;
    for (const id of more) ids.add(id);
    parts.push(body);
    bytes += e.body?.length ?? 0;
    lastIndex = i;
  }
  if (parts.length < 2) return null;
  const last = entries[lastIndex]!;
  return { entry: { ...last, body: mergeBodies(parts) }, lastIndex, merged: parts.length };
}

/** Whether the entry after `start` that a run would look at next could join it (bodies not read). */
function nextCandidate(entries: LogEntry[], start: number, state: RunOptions['state'], accept: (e: LogEntry) => boolean): boolean {
  for (let i = start + 1; i < entries.length; i++) {
    const e = entries[i]!;
    if (state === 'committed' && (e.state === 'rejected' || e.state === 'aborted')) continue;
    return e.state === state && sameTarget(e, entries[start]!) && accept(e);
  }
  return false;
}

/** A record write another may join in one request: its parsed body, ids and shape (see shapeOf). */
export interface MergeableWrite {
  body: Body;
  ids: string[];
  shape: string;
  bytes: number;
}

/** The entry as a MergeableWrite when it is a plain record list (no filter, no unknown field), else null. */
export function mergeableWrite(entry: LogEntry, ops: ReadonlySet<string> = MERGEABLE): MergeableWrite | null {
  if (!ops.has(entry.op)) return null;
  const body = parse(entry.body);
  if (!body || !compatibleShape(entry.op, body)) return null;
  return { body, ids: body.ids as string[], shape: `${entry.op}|${shapeOf(body)}`, bytes: entry.body?.length ?? 0 };
}

/** Whether `more` records and bytes may join a request already carrying `records` and `bytes`. */
export function withinLimits(records: number, bytes: number, more: MergeableWrite): boolean {
  return records + more.ids.length <= MAX_RECORDS && bytes + more.bytes <= MAX_BYTES;
}

/** One body carrying every part's records in order (parts of one shape). */
export function mergeBodies(parts: Body[]): Buffer {
  const merged: Body = {};
  for (const field of RECORD_FIELDS) {
    if (parts[0]![field] !== undefined && parts[0]![field] !== null) merged[field] = parts.flatMap((p) => p[field] as unknown[]);
  }
  return Buffer.from(JSON.stringify(merged));
}

function parse(body: Buffer | null): Body | null {
  if (!body) return null;
  try {
    const v = JSON.parse(body.toString('utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : null;
  } catch {
    return null;
  }
}

/** Only plain record lists merge: a delete by filter, or any field we do not know, stops the run. */
function compatibleShape(op: string, body: Body): boolean {
  if (!Array.isArray(body.ids) || !body.ids.every((id) => typeof id === 'string')) return false;
  for (const [k, v] of Object.entries(body)) {
    if (v === null || v === undefined) continue;
    if (!(RECORD_FIELDS as readonly string[]).includes(k)) return false;
    if (op === 'delete' && k !== 'ids') return false;
    if (!Array.isArray(v) || v.length !== (body.ids as unknown[]).length) return false;
  }
  return true;
}

/**
 * Which fields are present, whether embeddings are JSON arrays or base64 strings, and their dimensions: a
 * write with a wrong dimension (which Chroma refuses) then stays alone instead of failing a merged request.
 */
function shapeOf(body: Body): string {
  const present = RECORD_FIELDS.filter((f) => body[f] !== undefined && body[f] !== null);
  const embeddings = (body.embeddings as unknown[] | undefined) ?? [];
  const encoding = embeddings.length > 0 ? typeof embeddings[0] : '-';
  const dimensions = [...new Set(embeddings.map((e) => (Array.isArray(e) ? e.length : -1)))].join('/');
  return `${present.join(',')}|${encoding}|${dimensions}`;
}
