// The gateway's settings: one table that is the single source of truth for env var names, CLI flags,
// defaults, validation and the configuration reference in the docs.
import { z } from 'zod';

export interface Setting {
  /** Environment variable name; the CLI flag is derived from it (PRIMARY_URL -> --primary-url). */
  env: string;
  description: string;
  /** Default as the user would write it in the environment, or undefined when the setting is optional. */
  default?: string;
  secret?: boolean;
  schema: z.ZodType<unknown>;
}

export const seconds = z.coerce.number().positive('must be a positive number of seconds');
export const positiveInt = z.coerce.number().int('must be a whole number').positive('must be at least 1');
export const port = z.coerce.number().int().min(0).max(65535, 'must be a port number (0-65535)');
/** `host:port` (what Render's `fromService ... property: hostport` yields) means `http://host:port`. */
export function withDefaultScheme(value: string): string {
  const v = value.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`;
}
/** A node URL: absolute http(s) URL, or `host:port` taken as http. Shared with the monitor's settings. */
export const nodeUrl = z
  .string()
  .transform(withDefaultScheme)
  .pipe(
    z
      .string()
      .url('must be an absolute URL such as http://host:8000 (or host:port)')
      .refine((u) => /^https?:\/\//.test(u), 'must use http:// or https://'),
  );
export const nodeUrlList = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
  .pipe(z.array(nodeUrl));

export const gatewaySettings = {
  PORT: { env: 'PORT', description: 'Port the gateway listens on.', default: '8000', schema: port },
  HOST: { env: 'HOST', description: 'Address the gateway binds to.', default: '0.0.0.0', schema: z.string().min(1) },
  PRIMARY_URL: {
    env: 'PRIMARY_URL',
    description:
      'URL of the primary Chroma node (credentials in the URL are used for the node and never shown). A bare host:port (Render\'s fromService hostport) means http://host:port.',
    schema: nodeUrl,
  },
  REPLICA_URL: { env: 'REPLICA_URL', description: 'URL of one replica Chroma node (the guide\'s variable).', schema: nodeUrl },
  REPLICA_URLS: {
    env: 'REPLICA_URLS',
    description: 'Comma-separated URLs of replica nodes; combined with REPLICA_URL (a URL named in both is one node).',
    schema: nodeUrlList,
  },
  NODE_TOKEN: {
    env: 'NODE_TOKEN',
    description:
      'Token the gateway sends to every node (`Authorization: Bearer <token>`) on health checks, reads and writes, for nodes behind a token check (the node guard of Dockerfile.guarded). Client credentials are then not forwarded to the nodes. A node URL with its own credentials keeps those.',
    secret: true,
    schema: z.string().min(16, 'must be at least 16 characters'),
  },
  NODE_PRIORITIES: {
    env: 'NODE_PRIORITIES',
    description:
      'Comma-separated priorities in node order (primary first, then REPLICA_URL, then REPLICA_URLS). Higher wins a failover. Default: 100 for the primary, 80, 79, ... for replicas.',
    schema: z
      .string()
      .transform((s) => s.split(',').map((p) => p.trim()))
      .pipe(z.array(z.string().regex(/^-?\d+$/, 'priorities must be whole numbers').transform(Number))),
  },
  CHECK_INTERVAL: {
    env: 'CHECK_INTERVAL',
    description: 'Seconds between health probes of a steady node (HAProxy `inter`).',
    default: '1',
    schema: seconds,
  },
  FAST_CHECK_INTERVAL: {
    env: 'FAST_CHECK_INTERVAL',
    description: 'Seconds between probes while a node is changing state (HAProxy `fastinter`).',
    default: '0.1',
    schema: seconds,
  },
  FAILURE_THRESHOLD: {
    env: 'FAILURE_THRESHOLD',
    description: 'Consecutive failed checks before a node is marked down (HAProxy `fall`).',
    default: '3',
    schema: positiveInt,
  },
  RECOVERY_THRESHOLD: {
    env: 'RECOVERY_THRESHOLD',
    description: 'Consecutive successful checks before a down node is marked up (HAProxy `rise`).',
    default: '2',
    schema: positiveInt,
  },
  HEALTH_CHECK_TIMEOUT: {
    env: 'HEALTH_CHECK_TIMEOUT',
    description:
      'Most seconds a health probe may take before it counts as failed. The actual timeout adapts to the node\'s observed latency (10× its smoothed heartbeat latency plus 4 deviations), between HEALTH_CHECK_MIN_TIMEOUT and this; it is this value until the node has answered once.',
    default: '1',
    schema: seconds,
  },
  HEALTH_CHECK_MIN_TIMEOUT: {
    env: 'HEALTH_CHECK_MIN_TIMEOUT',
    description:
      'Fewest seconds a health probe may take before it counts as failed, however fast the node usually answers. The same adaptive bound, from the primary\'s observed write latency, applies to a write in flight on the primary: one that takes longer counts as a failed check and starts fast probing, so a hung primary is failed over in about a second. Set it equal to HEALTH_CHECK_TIMEOUT for a fixed timeout.',
    default: '0.25',
    schema: seconds,
  },
  REQUEST_TIMEOUT: {
    env: 'REQUEST_TIMEOUT',
    description: 'Seconds an upstream request may wait for response headers or between body chunks before the client gets 504.',
    default: '30',
    schema: seconds,
  },
  WRITE_TIMEOUT: {
    env: 'WRITE_TIMEOUT',
    description: 'Seconds a write may wait for a primary (for instance during a failover) before the client gets 503.',
    default: '20',
    schema: seconds,
  },
  SPOT_CHECK_INTERVAL: {
    env: 'SPOT_CHECK_INTERVAL',
    description:
      'Least seconds between two spot checks of a replica: after it applies a collection\'s latest write, a sample of that collection\'s records is compared with the primary\'s, and a node that differs is marked diverged. 0 turns it off.',
    default: '2',
    schema: z.coerce.number().min(0, 'must be 0 (off) or a positive number of seconds'),
  },
  BODY_TIMEOUT: {
    env: 'BODY_TIMEOUT',
    description:
      'Seconds a client may take to send a whole request, headers and body. A client that stalls gets 408 and its connection is closed, so slow clients cannot hold the gateway\'s connections.',
    default: '30',
    schema: seconds,
  },
  MAX_BODY_BYTES: {
    env: 'MAX_BODY_BYTES',
    description: 'Largest request body accepted; larger bodies get 413.',
    default: String(32 * 1024 * 1024),
    schema: positiveInt,
  },
  DATA_DIR: {
    env: 'DATA_DIR',
    description: 'Directory for the embedded SQLite replication log (used when DATABASE_URL is not set).',
    default: './data',
    schema: z.string().min(1),
  },
  DATABASE_URL: {
    env: 'DATABASE_URL',
    description: 'PostgreSQL connection string; when set, the replication log lives there instead of SQLite.',
    secret: true,
    schema: z
      .string()
      .refine((s) => /^postgres(ql)?:\/\//.test(s), 'must be a postgres:// or postgresql:// connection string'),
  },
  LOG_LEVEL: {
    env: 'LOG_LEVEL',
    description: 'Log level: fatal, error, warn, info, debug, trace or silent.',
    default: 'info',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  },
  CLIENT_AUTH_CREDENTIALS: {
    env: 'CLIENT_AUTH_CREDENTIALS',
    description:
      'Comma-separated tokens clients must present, as with Chroma\'s token auth (`Authorization: Bearer <token>` or `X-Chroma-Token: <token>`): none gets 401, a wrong one 403. /health, /status, /metrics and the heartbeat stay open. Without it, client credentials pass through to the nodes.',
    secret: true,
    schema: z
      .string()
      .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
      .pipe(z.array(z.string().min(16, 'each token must be at least 16 characters')).min(1, 'must name at least one token')),
  },
  ALLOW_UNKNOWN_WRITES: {
    env: 'ALLOW_UNKNOWN_WRITES',
    description:
      'true: send a non-GET request to a route the gateway does not know to the primary alone, unlogged and unreplicated (the nodes may then differ). Default false: it gets 501.',
    default: 'false',
    schema: z.enum(['true', 'false'], { message: 'must be true or false' }).transform((v) => v === 'true'),
  },
  ADMIN_TOKEN: {
    env: 'ADMIN_TOKEN',
    description: 'Bearer token required by the admin endpoints (/admin/*). Without it they are disabled.',
    secret: true,
    schema: z.string().min(16, 'must be at least 16 characters'),
  },
  BACKUP_STALL_TIMEOUT: {
    env: 'BACKUP_STALL_TIMEOUT',
    description:
      'Seconds a `chroma-ha backup` client may read nothing before the gateway abandons the backup and releases the replica it pinned, so a dead client cannot hold a replica out of the cluster.',
    default: '60',
    schema: seconds,
  },
  LOG_RETENTION_ENTRIES: {
    env: 'LOG_RETENTION_ENTRIES',
    description:
      'Newest log entries always kept. Older entries that every up node has applied are deleted; a node that was away longer is refilled by copy.',
    default: '100000',
    schema: positiveInt,
  },
  LOG_RETENTION_SECONDS: {
    env: 'LOG_RETENTION_SECONDS',
    description: 'Log entries younger than this are always kept (same rule as LOG_RETENTION_ENTRIES; an entry goes once both bounds are passed).',
    default: '86400',
    schema: seconds,
  },
  ANTI_ENTROPY_INTERVAL: {
    env: 'ANTI_ENTROPY_INTERVAL',
    description:
      'Seconds between two background anti-entropy passes: the gateway holding the lease verifies every replica against the primary and repairs what differs, as `chroma-ha repair` does. It reads every record of every node once per pass (cost in docs/operations.md). 0 (the default) turns it off.',
    default: '0',
    schema: z.coerce.number().min(0, 'must be 0 (off) or a positive number of seconds'),
  },
  VERIFY_RECORDS_PER_SECOND: {
    env: 'VERIFY_RECORDS_PER_SECOND',
    description:
      'Most records per second that verify, repair and anti-entropy read from the nodes (each node gets at most one of their requests at a time, in pages of 100 records). 0 (the default) means no rate limit beyond that.',
    default: '0',
    schema: z.coerce.number().min(0, 'must be 0 (no limit) or a positive number of records per second'),
  },
  LEASE_PERIOD: {
    env: 'LEASE_PERIOD',
    description:
      'Seconds an applier lease lasts without a renewal (several gateways on one PostgreSQL log: only the holder applies the log and changes roles). A gateway killed with -9 is taken over after at most this; the new holder sends from 1 s (a fifth of a shorter period) after the old lease expired, since every write a holder sends is aborted at its own lease end, that margin before the store\'s expiry.',
    default: '5',
    schema: seconds,
  },
  LEASE_RENEW_INTERVAL: {
    env: 'LEASE_RENEW_INTERVAL',
    description: 'Seconds between renewals of the applier lease; at most a third of LEASE_PERIOD, so one lost renewal does not lose the lease.',
    default: '1',
    schema: seconds,
  },
  SHUTDOWN_TIMEOUT: {
    env: 'SHUTDOWN_TIMEOUT',
    description: 'Seconds the gateway waits for in-flight requests on SIGTERM before closing connections.',
    default: '10',
    schema: seconds,
  },
} satisfies Record<string, Setting>;

export type GatewaySettingName = keyof typeof gatewaySettings;

/** `PRIMARY_URL` -> `primary-url`: the CLI flag for a setting. */
export function flagName(env: string): string {
  return env.toLowerCase().replace(/_/g, '-');
}
