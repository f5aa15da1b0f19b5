// The gateway's event bus: health transitions, failovers, replication trouble and request outcomes.
// Logging, metrics and /status subscribe here instead of being called from deep inside the core.
import { EventEmitter } from 'node:events';

export interface ClusterEvents {
  'node-health': [{ node: string; from: string; to: string; reason: string; at: number }];
  failover: [{ from: string | null; to: string; reason: string; at: number; kind: 'failover' | 'switchover' }];
  'node-diverged': [{ node: string; seq: number; error: string; at: number }];
  /** Identity checked (member), refill or repair (resync), unchecked since it came back (unverified), foreign. */
  'node-lifecycle': [{ node: string; from: string; to: string; reason: string | null; at: number }];
  /** A node added or removed at run time (gateway/members.ts). */
  'node-membership': [{ node: string; action: 'added' | 'removed'; url: string; reason: string; at: number }];
  request: [{ routeClass: string; node: string | null; status: number; durationMs: number }];
  'upstream-error': [{ node: string; kind: string }];
  retry: [{ from: string; to: string; routeClass: string }];
}

export class ClusterEventBus extends EventEmitter<ClusterEvents> {}
