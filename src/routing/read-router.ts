// Chooses the node that serves a read. A node is eligible when it is up, not diverged, holds the
// collection, and its applied position covers every committed write the read depends on
// (read-your-writes for every client). Among eligible nodes the least busy wins, round-robin on ties;
// nodes with a recent failed request are used only when nothing else is eligible.
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { Catalog } from '../replication/catalog.js';
import type { ReplicationLog } from '../replication/log.js';

export type Consistency = 'strong' | 'eventual';

export interface ReadNeed {
  /** Stable id of the collection read, or null for catalog reads. */
  collectionId: string | null;
  /** Catalog reads that list collections need a node holding all of them. */
  scope?: { tenant: string; database?: string };
  consistency: Consistency;
}

export class ReadRouter {
  private turn = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly catalog: Catalog,
    private readonly log: ReplicationLog,
  ) {}

  eligible(need: ReadNeed, exclude: Set<ClusterNode> = new Set()): ClusterNode[] {
    const required = need.consistency === 'eventual' ? 0 : this.log.requiredFor(need.collectionId);
    return this.cluster.nodes.filter((n) => {
      if (exclude.has(n) || !n.isUp || n.syncState === 'diverged' || !n.isMember || n.drained) return false;
      if (n.appliedSeq < required) return false;
      if (need.collectionId !== null) return this.catalog.localId(n.id, need.collectionId) !== undefined;
      if (need.scope) return this.catalog.holdsAll(n.id, need.scope);
      return true;
    });
  }

  pick(need: ReadNeed, exclude?: Set<ClusterNode>): ClusterNode | null {
    const nodes = this.eligible(need, exclude);
    if (nodes.length === 0) return null;
    const healthy = nodes.filter((n) => n.consecutiveFailures === 0);
    const pool = healthy.length > 0 ? healthy : nodes;
    const least = Math.min(...pool.map((n) => n.inFlight));
    const candidates = pool.filter((n) => n.inFlight === least);
    this.turn = (this.turn + 1) % 1_000_000;
    return candidates[this.turn % candidates.length]!;
  }

  /** Any up node, the primary first: for heartbeat, version and other node-level questions. */
  pickAny(exclude: Set<ClusterNode> = new Set()): ClusterNode | null {
    const up = this.cluster.nodes.filter((n) => n.isUp && !exclude.has(n));
    return up.find((n) => n === this.cluster.primary) ?? up[0] ?? null;
  }
}
