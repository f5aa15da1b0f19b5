// The set of nodes and who is primary. Role changes happen only through setPrimary (called by the
// failover coordinator with the epoch the store recorded), which keeps exactly one node in the primary role.
import type { ClusterNode } from './node.js';

export interface FailoverRecord {
  at: number;
  from: string | null;
  to: string;
  reason: string;
  kind: 'failover' | 'switchover';
}

export class Cluster {
  private primaryNode: ClusterNode;
  epoch = 0;
  failoverCount = 0;
  lastFailover: FailoverRecord | null = null;

  constructor(readonly nodes: ClusterNode[]) {
    this.primaryNode = nodes.find((n) => n.role === 'primary') ?? nodes[0]!;
  }

  get primary(): ClusterNode {
    return this.primaryNode;
  }

  byId(id: string): ClusterNode | undefined {
    return this.nodes.find((n) => n.id === id);
  }

  setPrimary(node: ClusterNode, epoch: number): void {
    for (const n of this.nodes) n.role = n === node ? 'primary' : 'replica';
    this.primaryNode = node;
    this.epoch = epoch;
  }
}
