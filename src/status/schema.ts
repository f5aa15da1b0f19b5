// The gateway's GET /status document, defined once: the gateway's status.ts is typed by it, and the monitor,
// `chroma-ha failover-test` and the tests parse it with it. Depends on nothing but zod, so any part of the
// code base may use it. Unknown keys are stripped when parsing, so a newer gateway's extra fields are ignored.
import { z } from 'zod';

const iso = z.string();

export const decisionSchema = z.object({
  at: iso,
  action: z.enum(['none', 'follow', 'failover', 'switchover']),
  /** The node the action concerns (new primary), null for 'none'. */
  target: z.string().nullable(),
  reason: z.string(),
});

export const nodeStatusSchema = z.object({
  name: z.string(),
  url: z.string(),
  role: z.enum(['primary', 'replica']),
  priority: z.number(),
  health: z.enum(['unknown', 'up', 'down']),
  healthSince: iso,
  consecutiveFailures: z.number(),
  consecutiveSuccesses: z.number(),
  lastCheck: iso.nullable(),
  latencyMs: z.number().nullable(),
  lastError: z.string().nullable(),
  appliedPosition: z.number(),
  lagEntries: z.number(),
  lagSeconds: z.number(),
  /** in-sync, syncing, diverged; for a node whose identity is not established: unverified, resync or foreign. */
  syncState: z.enum(['syncing', 'in-sync', 'diverged', 'unverified', 'resync', 'foreign']),
  divergedReason: z.string().nullable(),
  lifecycleReason: z.string().nullable().optional(),
  drained: z.boolean().optional(),
  /** A refill by copy under way. */
  copy: z
    .object({
      node: z.string(),
      source: z.string(),
      fromPosition: z.number(),
      startedAt: z.number(),
      collectionsTotal: z.number(),
      collectionsCopied: z.number(),
      recordsTotal: z.number(),
      recordsCopied: z.number(),
      recordsPerSecond: z.number(),
      etaSeconds: z.number().nullable(),
    })
    .nullable()
    .optional(),
  inFlight: z.number(),
});

export const gatewayStatusSchema = z.object({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  version: z.string(),
  uptimeSeconds: z.number(),
  primary: z.string(),
  epoch: z.number(),
  failovers: z.object({
    count: z.number(),
    last: z
      .object({
        at: z.number(),
        from: z.string().nullable(),
        to: z.string(),
        reason: z.string(),
        kind: z.enum(['failover', 'switchover']),
        /** The node an operator last switched over to (id); automatic failback prefers it. */
        preferredPrimary: z.string().nullable().optional(),
        /** A planned switchover: how long new writes were held (ms). */
        writePauseMs: z.number().optional(),
      })
      .nullable(),
  }),
  /** The failover coordinator's last decision and last action, each with its reason. */
  decision: z.object({ last: decisionSchema.nullable(), lastAction: decisionSchema.nullable() }).optional(),
  /**
   * The applier lease: this gateway's id, whether it holds the lease, and who does. graceUntil: this gateway
   * took the lease over after it expired elsewhere and starts sending then (replication/lease-grace.ts).
   */
  lease: z.object({ gateway: z.string(), held: z.boolean(), holder: z.string().nullable(), expiresAt: iso.nullable(), graceUntil: iso.nullable().optional() }).optional(),
  nodes: z.array(nodeStatusSchema).min(1),
  /** Background verify-and-repair (ANTI_ENTROPY_INTERVAL; intervalSeconds 0 when off) and its last pass. */
  antiEntropy: z
    .object({
      intervalSeconds: z.number(),
      running: z.boolean(),
      passes: z.number(),
      last: z
        .object({
          startedAt: iso,
          finishedAt: iso,
          durationMs: z.number(),
          outcome: z.enum(['identical', 'repaired', 'incomplete', 'skipped', 'failed']),
          identical: z.boolean().nullable(),
          reason: z.string().nullable(),
          nodesRepaired: z.number(),
          recordsWritten: z.number(),
          recordsDeleted: z.number(),
          collectionsRepaired: z.number(),
          databasesRepaired: z.number(),
        })
        .nullable(),
    })
    .optional(),
  /** Nodes added or removed at run time through this gateway or seen from the store (newest last). */
  membership: z
    .object({ changes: z.array(z.object({ at: iso, action: z.enum(['added', 'removed']), node: z.string(), url: z.string() })) })
    .optional(),
  log: z.object({
    store: z.enum(['sqlite', 'postgres']),
    storeReachable: z.boolean(),
    head: z.number(),
    committedHead: z.number(),
    entries: z.number().nullable(),
    bytes: z.number().nullable(),
    /** Oldest entry still stored, and the compaction point (entries up to it may be gone). */
    oldestRetained: z.number().nullable().optional(),
    truncatedThrough: z.number().optional(),
    pendingWrites: z.number(),
  }),
});

export type GatewayStatus = z.infer<typeof gatewayStatusSchema>;
export type NodeStatus = z.infer<typeof nodeStatusSchema>;
export type DecisionStatus = z.infer<typeof decisionSchema>;
