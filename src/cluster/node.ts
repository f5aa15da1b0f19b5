// A Chroma node as the gateway sees it at run time: its configuration, connection pool, health,
// role and replication position. Other modules read and change these fields; only this shape is shared.
import type { NodeConfig } from '../config/load.js';
import { Cancellation, NodeClient } from '../upstream/node-client.js';

export type Health = 'unknown' | 'up' | 'down';
export type Role = 'primary' | 'replica';
/** syncing: behind the committed head; in-sync: caught up; diverged: stopped on an entry it cannot apply. */
export type SyncState = 'syncing' | 'in-sync' | 'diverged';
/**
 * Whether the node is the one the gateway remembers (replication/identity.ts). unverified: not checked since
 * it came up; member: checked, follows the log; resync: being (or to be) refilled by copy; foreign: holds
 * another cluster's data. Only members are applied to, read from, or promoted.
 */
export type Lifecycle = 'unverified' | 'member' | 'resync' | 'foreign';

export class ClusterNode {
  readonly client: NodeClient;
  health: Health = 'unknown';
  role: Role;
  consecutiveFailures = 0;
  consecutiveSuccesses = 0;
  lastCheckAt: number | null = null;
  lastLatencyMs: number | null = null;
  lastError: string | null = null;
  healthSince = Date.now();
  /** Seq of the last log entry this node has applied (or that was skipped for it). */
  appliedSeq = 0;
  syncState: SyncState = 'syncing';
  divergedReason: string | null = null;
  lifecycle: Lifecycle = 'unverified';
  /** Drained by an operator: serves no reads (it still follows the log and can be promoted). */
  drained = false;
  lifecycleReason: string | null = null;
  inFlight = 0;
  private downSignal = ClusterNode.newDownSignal();

  constructor(
    readonly config: NodeConfig,
    connectTimeoutMs: number,
  ) {
    this.role = config.configuredRole;
    this.client = new NodeClient(config.name, config.url, config.authHeaders, connectTimeoutMs);
  }

  get id(): string {
    return this.config.id;
  }
  get name(): string {
    return this.config.name;
  }
  get priority(): number {
    return this.config.priority;
  }
  get isUp(): boolean {
    return this.health === 'up';
  }
  get isMember(): boolean {
    return this.lifecycle === 'member';
  }

  /**
   * Aborted when the node is next marked down: a read waiting on it gives up and goes to another node
   * instead of waiting out REQUEST_TIMEOUT (proxy/forward.ts).
   */
  get untilDown(): Cancellation {
    return this.downSignal;
  }

  /** Called by the health checker, the one writer of `health`, when it marks the node down. */
  markedDown(): void {
    const signal = this.downSignal;
    this.downSignal = ClusterNode.newDownSignal();
    signal.abort();
  }

  private static newDownSignal(): Cancellation {
    // One listener per read in flight on the node: hundreds under load are expected, not a leak.
    const c = new Cancellation();
    c.setMaxListeners(0);
    return c;
  }
}
