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

  eligible(need: ReadNeed, exclude?: Set<ClusterNode>): ClusterNode[] {
    const required = need.consistency === 'eventual' ? 0 : this.log.requiredFor(need.collectionId);
    return this.cluster.nodes.filter((n) => {
      if (exclude?.has(n) || !n.isUp || n.syncState === 'diverged' || !n.isMember || n.drained) return false;
      if (n.appliedSeq < required) return false;
      if (need.collectionId !== null) return this.catalog.localId(n.id, need.collectionId) !== undefined;
      if (need.scope) return this.catalog.holdsAll(n.id, need.scope);
      return true;
    });
  }

  pick(need: ReadNeed, exclude?: Set<ClusterNode>): ClusterNode | null {
    // Runs for every read: plain loops over the (few) eligible nodes instead of filter/map chains.
    const nodes = this.eligible(need, exclude);
    if (nodes.length === 0) return null;
    let anyHealthy = false;
    for (const n of nodes) if (n.consecutiveFailures === 0) anyHealthy = true;
    const inPool = (n: ClusterNode) => !anyHealthy || n.consecutiveFailures === 0;
    let least = Infinity;
    let ties = 0;
    for (const n of nodes) {
      if (!inPool(n)) continue;
      if (n.inFlight < least) {
        least = n.inFlight;
        ties = 1;
      } else if (n.inFlight === least) ties++;
    }
    this.turn = (this.turn + 1) % 1_000_000;
    let k = this.turn % ties;
    for (const n of nodes) if (inPool(n) && n.inFlight === least && k-- === 0) return n;
    return null;
  }

  /** Any up node, the primary first: for heartbeat, version and other node-level questions. */
  pickAny(exclude?: Set<ClusterNode>): ClusterNode | null {
    const primary = this.cluster.primary;
    if (primary.isUp && !exclude?.has(primary)) return primary;
    for (const n of this.cluster.nodes) if (n.isUp && !exclude?.has(n)) return n;
    return null;
  }
}
