// The replication store's contract: the ordered write log, each node's applied position, the
// collection catalog (stable id -> per-node local ids) and small cluster state. SQLite and PostgreSQL
// implement it identically; everything above this interface is store-agnostic.

/** The operation a log entry performs (a write route of Chroma's API). */
export type WriteOp =
  | 'reset'
  | 'create_tenant'
  | 'update_tenant'
  | 'create_database'
  | 'delete_database'
  | 'create_collection'
  | 'delete_collection'
  | 'modify_collection'
  | 'add'
  | 'upsert'
  | 'update'
  | 'delete';

/** pending: logged, outcome not yet known; committed/rejected: the primary's answer; aborted: never applied anywhere. */
export type EntryState = 'pending' | 'committed' | 'rejected' | 'aborted';

/**
 * One write as the log keeps it: what it does and to what, never how a node's HTTP API spells it.
 * replication/operation-request.ts turns an operation into the request for a given node.
 */
export interface Operation {
  op: WriteOp;
  /** The tenant acted in (update_tenant: the tenant updated). Null for reset and create_tenant (its name is in the body). */
  tenant: string | null;
  /** The database acted in (delete_database: the database deleted). */
  database: string | null;
  /**
   * Stable id of the collection acted on. For create_collection, the id the new collection will get; for
   * delete_collection, which addresses a collection by name, the primary's outcome fills it in.
   */
  collectionId: string | null;
  /** The collection a delete_collection addresses: Chroma deletes collections by name. */
  collectionName: string | null;
  /** The request body as the client sent it (for a guarded update, as the primary was sent it). */
  body: Buffer | null;
}

export interface LogEntry extends Operation {
  seq: number;
  state: EntryState;
  status: number | null;
  createdAt: number;
  /** The gateway that appended it (null for entries logged before several gateways could share a log). */
  origin: string | null;
  /** A leaseholder started sending it: it cannot be withdrawn, and may already have reached the primary. */
  claimed: boolean;
}

/** The primary's answer to a write, kept with its outcome for the gateway whose client is waiting. */
export interface StoredAnswer {
  contentType: string | undefined;
  body: string;
  /** The node that answered (ids in the body are that node's own). */
  nodeId: string;
}

/** An entry's outcome as another gateway reads it: no request body. */
export interface EntryOutcome {
  seq: number;
  op: WriteOp;
  state: EntryState;
  status: number | null;
  collectionId: string | null;
  origin: string | null;
  answer: StoredAnswer | null;
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
  /**
   * Set when this apply decided the entry's outcome (the primary applying a pending entry). `epoch` is the
   * epoch the entry was sent under: an outcome from an epoch older than the store's is refused (fencing).
   * `body` replaces the logged body: what the primary was actually sent (see replication/update-guard.ts).
   */
  outcome?: { state: 'committed' | 'rejected'; status: number; collectionId?: string | null; epoch: number; body?: Buffer; answer?: StoredAnswer };
  changes?: CatalogChanges;
}

/** What became of an ApplyRecord: written, or refused because the entry was decided or the epoch moved on. */
export type ApplyVerdict = 'recorded' | 'already-decided' | 'stale-epoch';

/** Who is primary, under which epoch, as the store records it: the cluster's authority on roles. */
export interface ClusterRoles {
  primaryId: string | null;
  epoch: number;
  failoverCount: number;
  /** The last role change (JSON written by the promoter), for /status. */
  lastFailover: string | null;
}

export interface Promotion {
  /** The epoch the promoter believes current; the promotion fails if the store holds another. */
  expectedEpoch: number;
  primaryId: string;
  /** Kept with the roles for /status after a restart (JSON). */
  lastFailover: string;
}

export interface StoredState {
  collections: CollectionRecord[];
  mappings: Mapping[];
  positions: Map<string, number>;
  /** Highest committed seq per collection (stable id), and for catalog-changing entries under key ''. */
  lastCommitted: Map<string, number>;
  pendingSeqs: number[];
  head: number;
  /** Small cluster-wide values (cluster id, node incarnations, drained nodes, the compaction point, roles). */
  cluster: Map<string, string>;
}

export interface LogStats {
  head: number;
  entries: number;
  bytes: number;
  /** Oldest entry still in the log (null when it is empty). */
  oldest: number | null;
}

/** The applier lease after an acquire attempt. */
export interface LeaseClaim {
  holder: string;
  expiresInMs: number;
  /**
   * Set when this attempt took the lease over from another gateway whose lease had expired (not released):
   * that gateway and how many ms ago (store clock) its lease expired. Requests it sent may still be in flight.
   */
  expiredPredecessor?: { holder: string; expiredAgoMs: number };
}

export interface ReplicationStore {
  readonly kind: 'sqlite' | 'postgres';
  init(): Promise<void>;
  close(): Promise<void>;
  /**
   * Appends a pending entry for `origin` (the appending gateway's id) and returns its seq. Concurrent
   * appends are committed together (store/group-commit.ts), seqs in call order.
   */
  append(entry: Operation, origin: string | null): Promise<number>;
  /** Entries with seq > afterSeq, in order: at most `limit`, and bodies within `maxBytes` (but at least one entry). */
  readAfter(afterSeq: number, limit: number, maxBytes?: number): Promise<LogEntry[]>;
  /**
   * Records that a node applied an entry, atomically with its position and catalog changes.
   * With an outcome, succeeds only if the entry is still pending and the outcome's epoch is the store's
   * current one; otherwise writes nothing and says why.
   */
  recordApply(record: ApplyRecord): Promise<ApplyVerdict>;
  /**
   * Several recordApply in one transaction (one fsync), in order, stopping after the first that is not
   * 'recorded': the verdicts returned are those of the records tried (the rest are not written).
   */
  recordApplies(records: ApplyRecord[]): Promise<ApplyVerdict[]>;
  /**
   * One transaction: if the stored epoch equals expectedEpoch, records the new primary, epoch + 1, the
   * failover count + 1 and the record. Returns the roles now stored, and whether this call made them.
   */
  promote(promotion: Promotion): Promise<{ promoted: boolean; roles: ClusterRoles }>;
  readRoles(): Promise<ClusterRoles>;
  /**
   * Takes the applier lease for `holder` for ttlMs (by the store's clock) if it is free, expired or already
   * theirs. Returns who holds it afterwards and in how many ms (by the store's clock) their lease expires.
   */
  acquireLease(holder: string, ttlMs: number): Promise<LeaseClaim>;
  /** Gives the lease up at once (a clean shutdown), if `holder` still has it. */
  releaseLease(holder: string): Promise<void>;
  /** Moves a node's position past entries that do not concern it (rejected, aborted, not held). */
  advancePosition(nodeId: string, seq: number): Promise<void>;
  /** pending -> aborted; false when the entry already has an outcome or a leaseholder claimed it. */
  abort(seq: number): Promise<boolean>;
  /** Marks a pending entry as being sent (it can no longer be aborted); false when it is no longer pending. */
  claim(seq: number): Promise<boolean>;
  /** Entries after seq in order, without request bodies: how a gateway without the lease learns outcomes. */
  outcomesAfter(seq: number, limit: number): Promise<EntryOutcome[]>;
  /** Each node's applied position, as the leaseholder publishes it. */
  readPositions(): Promise<Map<string, number>>;
  readCatalog(): Promise<Pick<StoredState, 'collections' | 'mappings'>>;
  /** Highest seq appended. */
  head(): Promise<number>;
  /**
   * Calls `onChange` when another gateway appends or decides an entry (PostgreSQL LISTEN/NOTIFY). Returns
   * a function that stops listening. A store with a single gateway has nothing to listen for.
   */
  watch(onChange: () => void): Promise<() => Promise<void>>;
  saveCatalog(changes: CatalogChanges): Promise<void>;
  /**
   * Records a small cluster-wide value (node lifecycle: cluster id, incarnations, drained nodes, compaction
   * point). Roles (primary, epoch) are written only by promote(), which fences them.
   */
  setClusterValue(key: string, value: string): Promise<void>;
  readClusterValues(): Promise<Map<string, string>>;
  loadState(): Promise<StoredState>;
  stats(): Promise<LogStats>;
  /** The log's first and last seq, without stats()' count and body sizes (which read every entry): compaction's check. */
  bounds(): Promise<Pick<LogStats, 'head' | 'oldest'>>;
  /** Creation time (ms) of the first entry after seq that a node still has to apply, or null. */
  firstCommittedAfter(seq: number): Promise<{ seq: number; createdAt: number } | null>;
  /** Cheap round trip used to tell whether the store is reachable. */
  ping(): Promise<void>;
  /** Highest seq among the oldest `scan` entries created before `createdBefore` (ms), or null. */
  lastCreatedBefore(createdBefore: number, scan: number): Promise<number | null>;
  /** Deletes up to `limit` of the oldest entries with seq <= upTo (log compaction); returns how many. */
  truncate(upTo: number, limit: number): Promise<number>;
}
