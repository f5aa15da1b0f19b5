// The replication store's contract: the ordered write log, each node's applied position, the
// collection catalog (stable id -> per-node local ids) and small cluster state. SQLite and PostgreSQL
// implement it identically; everything above this interface is store-agnostic.
import type { WriteOp } from '../routing/routes.js';

/** pending: logged, outcome not yet known; committed/rejected: the primary's answer; aborted: never applied anywhere. */
export type EntryState = 'pending' | 'committed' | 'rejected' | 'aborted';

export interface NewEntry {
  op: WriteOp;
  method: string;
  /** Request path with stable collection ids; query string included. */
  path: string;
  body: Buffer | null;
  /** Stable id of the collection the entry acts on (for creates, the id the new collection will get). */
  collectionId: string | null;
  tenant: string | null;
  database: string | null;
}

export interface LogEntry extends NewEntry {
  seq: number;
  state: EntryState;
  status: number | null;
  createdAt: number;
}

export interface CollectionRecord {
  stableId: string;
  tenant: string;
  database: string;
  name: string;
  /** 'log': created through the gateway; 'adopted': found on the primary when the gateway took it over. */
  origin: 'log' | 'adopted';
  deleted: boolean;
}

export interface Mapping {
  stableId: string;
  nodeId: string;
  /** The node's own id for the collection; null removes the mapping. */
  localId: string | null;
}

export interface CatalogChanges {
  collections?: CollectionRecord[];
  mappings?: Mapping[];
}

export interface ApplyRecord {
  nodeId: string;
  seq: number;
  /** Set when this apply decided the entry's outcome (the primary applying a pending entry). */
  outcome?: { state: 'committed' | 'rejected'; status: number; collectionId?: string | null };
  changes?: CatalogChanges;
}

export interface StoredState {
  collections: CollectionRecord[];
  mappings: Mapping[];
  positions: Map<string, number>;
  cluster: Map<string, string>;
  /** Highest committed seq per collection (stable id), and for catalog-changing entries under key ''. */
  lastCommitted: Map<string, number>;
  pendingSeqs: number[];
  head: number;
}

export interface LogStats {
  head: number;
  entries: number;
  bytes: number;
  /** Oldest entry still in the log (null when it is empty). */
  oldest: number | null;
}

export interface ReplicationStore {
  readonly kind: 'sqlite' | 'postgres';
  init(): Promise<void>;
  close(): Promise<void>;
  append(entry: NewEntry): Promise<number>;
  /** Entries with seq > afterSeq, in order: at most `limit`, and bodies within `maxBytes` (but at least one entry). */
  readAfter(afterSeq: number, limit: number, maxBytes?: number): Promise<LogEntry[]>;
  /**
   * Records that a node applied an entry, atomically with its position and catalog changes.
   * With an outcome, succeeds only if the entry is still pending (returns false otherwise, writing nothing).
   */
  recordApply(record: ApplyRecord): Promise<boolean>;
  /** Moves a node's position past entries that do not concern it (rejected, aborted, not held). */
  advancePosition(nodeId: string, seq: number): Promise<void>;
  /** pending -> aborted; false when the entry already has an outcome. */
  abort(seq: number): Promise<boolean>;
  saveCatalog(changes: CatalogChanges): Promise<void>;
  setClusterValue(key: string, value: string): Promise<void>;
  loadState(): Promise<StoredState>;
  stats(): Promise<LogStats>;
  /** Creation time (ms) of the first entry after seq that a node still has to apply, or null. */
  firstCommittedAfter(seq: number): Promise<{ seq: number; createdAt: number } | null>;
  /** Cheap round trip used to tell whether the store is reachable. */
  ping(): Promise<void>;
  /** Highest seq among the oldest `scan` entries created before `createdBefore` (ms), or null. */
  lastCreatedBefore(createdBefore: number, scan: number): Promise<number | null>;
  /** Deletes up to `limit` of the oldest entries with seq <= upTo (log compaction); returns how many. */
  truncate(upTo: number, limit: number): Promise<number>;
}
