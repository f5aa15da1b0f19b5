// Log compaction: entries older than both retention bounds (LOG_RETENTION_ENTRIES newest kept,
// LOG_RETENTION_SECONDS youngest kept) are deleted once every up member's identity marker vouches that it
// holds them. Nodes that are down or being refilled do not hold truncation back (the log must not grow
// forever for a node that may never return); one that returns behind the truncation point is refilled by
// copy (replication/lifecycle.ts). Deletes go in small chunks with pauses, so writes never wait long.
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { Logger } from '../log/logger.js';
import type { ReplicationStore } from '../store/types.js';
import { sleep } from '../util/signal.js';

const CHUNK = 1_000;
/** The oldest entries scanned for the age bound per run: enough, since the rest is newer anyway. */
const AGE_SCAN = 10_000;
const TRUNCATED_THROUGH = 'truncated_through';

export interface CompactionDeps {
  cluster: Cluster;
  store: ReplicationStore;
  logger: Logger;
  retentionEntries: number;
  retentionMs: number;
  /** Highest position a member is known to hold even after a restart (its marker's), or null if unknown. */
  vouchedPosition: (node: ClusterNode) => number | null;
  intervalMs?: number;
  /** A node paused for a repair or a backup's pin: not a member now, but it resumes from its position. */
  holdsLog?: (node: ClusterNode) => boolean;
  /** True while this gateway holds the applier lease: only the leaseholder compacts. */
  isActive?: () => boolean;
  /** Reads what must outlive the entries (the tenants they name) before entries up to `upTo` are deleted. */
  beforeTruncate?: (upTo: number) => Promise<void>;
}

/** The seq up to which entries may be deleted now; 0 when nothing may go. Pure. */
export function truncationPoint(input: {
  head: number;
  retentionEntries: number;
  /** Highest seq older than the age bound (null: none is). */
  oldEnough: number | null;
  /** Positions vouched for by every up member (null entries: a member whose marker position is unknown). */
  members: Array<number | null>;
}): number {
  if (input.members.length === 0 || input.members.some((p) => p === null) || input.oldEnough === null) return 0;
  return Math.max(0, Math.min(input.head - input.retentionEntries, input.oldEnough, ...(input.members as number[])));
}

export class LogCompactor {
  /** Every entry up to here may be gone: a node whose position is below it cannot catch up from the log. */
  truncatedThrough = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly deps: CompactionDeps) {}

  load(stored: Map<string, string>): void {
    this.truncatedThrough = Number(stored.get(TRUNCATED_THROUGH) ?? 0);
  }

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running && (this.deps.isActive?.() ?? true)) this.running = this.compact().finally(() => (this.running = null));
    }, this.deps.intervalMs ?? 2_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  async compact(): Promise<void> {
    const { cluster, store, logger } = this.deps;
    try {
      // A node being checked may turn out to be a member holding less than the others: wait for the verdict.
      if (cluster.nodes.some((n) => n.isUp && n.lifecycle === 'unverified')) return;
      const members = cluster.nodes.filter((n) => n.isUp && (n.isMember || this.deps.holdsLog?.(n)));
      const stats = await store.bounds();
      const upTo = truncationPoint({
        head: stats.head,
        retentionEntries: this.deps.retentionEntries,
        oldEnough: await store.lastCreatedBefore(Date.now() - this.deps.retentionMs, AGE_SCAN),
        members: members.map((n) => this.deps.vouchedPosition(n)),
      });
      if (upTo <= this.truncatedThrough && (stats.oldest === null || stats.oldest > upTo)) return;
      // Recorded before the delete: a node is judged against it even if the gateway stops half-way.
      if (upTo > this.truncatedThrough) {
        await store.setClusterValue(TRUNCATED_THROUGH, String(upTo));
        this.truncatedThrough = upTo;
      }
      await this.deps.beforeTruncate?.(upTo);
      let deleted = 0;
      for (;;) {
        if (this.stopped) break;
        const n = await store.truncate(upTo, CHUNK);
        deleted += n;
        if (n < CHUNK) break;
        await sleep(10); // let appends in
      }
      if (deleted > 0) logger.info({ truncatedThrough: upTo, deleted }, `log compacted: ${deleted} entries up to ${upTo} deleted`);
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'log compaction failed; retrying later');
    }
  }
}
