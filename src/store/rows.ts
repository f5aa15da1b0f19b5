// Row -> object conversion shared by both stores (column names are identical in SQLite and PostgreSQL).
import type { CollectionRecord, EntryOutcome, LogEntry } from './types.js';

export type Row = Record<string, unknown>;

/** Bodies read from the log in one batch: bounds an applier's memory when entries are large. */
export const DEFAULT_READ_BYTES = 16 * 1024 * 1024;

/** How many leading rows (with a `size` column) fit in maxBytes; at least one when there is any. */
export function countWithin(rows: Row[], maxBytes: number): number {
  let total = 0;
  for (let i = 0; i < rows.length; i++) {
    total += Number(rows[i]!.size);
    if (total > maxBytes) return Math.max(1, i);
  }
  return rows.length;
}

export function toEntry(r: Row): LogEntry {
  return {
    seq: Number(r.seq),
    op: r.op as LogEntry['op'],
    tenant: r.tenant === null ? null : String(r.tenant),
    database: r.database_name === null ? null : String(r.database_name),
    collectionId: r.collection_id === null ? null : String(r.collection_id),
    collectionName: r.collection_name === null ? null : String(r.collection_name),
    body: r.request_body === null ? null : (r.request_body as Buffer),
    state: r.state as LogEntry['state'],
    status: r.status === null ? null : Number(r.status),
    createdAt: Number(r.created_at),
    origin: r.origin === null || r.origin === undefined ? null : String(r.origin),
    claimed: Boolean(Number(r.claimed ?? 0)),
  };
}

/** The columns toOutcome reads: everything but the request body. */
export const OUTCOME_COLUMNS = 'seq, op, state, status, collection_id, origin, answer_type, answer_body, answer_node';

export function toOutcome(r: Row): EntryOutcome {
  return {
    seq: Number(r.seq),
    op: r.op as EntryOutcome['op'],
    state: r.state as EntryOutcome['state'],
    status: r.status === null ? null : Number(r.status),
    collectionId: r.collection_id === null ? null : String(r.collection_id),
    origin: r.origin === null ? null : String(r.origin),
    answer:
      r.answer_node === null || r.answer_node === undefined
        ? null
        : {
            contentType: r.answer_type === null ? undefined : String(r.answer_type),
            body: r.answer_body === null ? '' : Buffer.from(r.answer_body as Uint8Array).toString('utf8'),
            nodeId: String(r.answer_node),
          },
  };
}

export function toCollection(r: Row): CollectionRecord {
  return {
    stableId: String(r.stable_id),
    tenant: String(r.tenant),
    database: String(r.database_name),
    name: String(r.name),
    origin: r.origin === 'adopted' ? 'adopted' : 'log',
    deleted: Boolean(Number(r.deleted)),
  };
}
