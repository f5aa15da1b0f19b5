// The set of nodes and who is primary. Role changes happen only through setPrimary (called by the
// failover coordinator with the epoch the store recorded), which keeps exactly one node in the primary role.
import type { ClusterNode } from './node.js';

export interface FailoverRecord {
  at: number;
  from: string | null;
  to: string;
  reason: string;
  kind: 'failover' | 'switchover';
  /**
   * The node an operator last switched over to (its id): every later role change carries it forward, so
   * automatic failback keeps preferring it over the configured priorities.
   */
  preferredPrimary?: string | null;
  /** A planned switchover: how long new writes were held (ms). */
  writePauseMs?: number;
}

export class Cluster {
  private primaryNode: ClusterNode;
  epoch = 0;
  failoverCount = 0;
  lastFailover: FailoverRecord | null = null;
  /**
   * A node a role change waits for, holding the primary lane, to apply the last committed entries: its
   * applier must not wait for that lane itself (the spot check skips it), or neither would move.
   */
  catchingUp: ClusterNode | null = null;

  constructor(readonly nodes: ClusterNode[]) {
    this.primaryNode = nodes.find((n) => n.role === 'primary') ?? nodes[0]!;
  }

  get primary(): ClusterNode {
    return this.primaryNode;
  }

  byId(id: string): ClusterNode | undefined {
    return this.nodes.find((n) => n.id === id);
  }

  /** A node added at run time (src/gateway/members.ts): a replica until a role change says otherwise. */
  add(node: ClusterNode): void {
    node.role = 'replica';
    this.nodes.push(node);
  }

  /** Takes a node out of every list at once (reads, appliers, failover); never the primary. */
  remove(node: ClusterNode): void {
    if (node === this.primaryNode) throw new Error(`${node.name} is the primary and cannot be removed`);
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
  }

  setPrimary(node: ClusterNode, epoch: number): void {
    for (const n of this.nodes) n.role = n === node ? 'primary' : 'replica';
    this.primaryNode = node;
    this.epoch = epoch;
  }
}
