// Turns environment variables (and CLI flags, given as the same names) into a validated configuration.
// Every error names the variable at fault, so a bad deploy fails at start-up with a readable message.
import { gatewaySettings, type Setting } from './settings.js';
import { redactUrl } from '../log/redact.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type Env = Record<string, string | undefined>;

/** Parses one setting; returns undefined for an unset optional setting. */
export function readSetting<T>(env: Env, setting: Setting): T | undefined {
  const raw = env[setting.env]?.trim();
  const value = raw === undefined || raw === '' ? setting.default : raw;
  if (value === undefined) return undefined;
  const parsed = setting.schema.safeParse(value);
  if (!parsed.success) {
    const shown = setting.secret ? '(hidden)' : JSON.stringify(redactUrl(value));
    const reason = parsed.error.issues.map((i) => i.message).join('; ');
    throw new ConfigError(`${setting.env}=${shown} is invalid: ${reason}`);
  }
  return parsed.data as T;
}

export interface NodeConfig {
  /** Stable key for the node in the store: its URL without credentials. */
  id: string;
  /** Short display name: primary, replica-1, ... */
  name: string;
  /** Base URL without credentials or trailing slash. */
  url: string;
  /** Headers sent on the gateway's own requests to this node (from URL credentials). */
  authHeaders: Record<string, string>;
  priority: number;
  configuredRole: 'primary' | 'replica';
}

export interface GatewayConfig {
  port: number;
  host: string;
  nodes: NodeConfig[];
  checkIntervalMs: number;
  fastCheckIntervalMs: number;
  failureThreshold: number;
  recoveryThreshold: number;
  healthCheckTimeoutMs: number;
  healthCheckMinTimeoutMs: number;
  requestTimeoutMs: number;
  writeTimeoutMs: number;
  spotCheckIntervalMs: number;
  maxBodyBytes: number;
  bodyTimeoutMs: number;
  /** Tokens clients must present; undefined: the gateway does not authenticate clients. */
  clientTokens?: string[];
  allowUnknownWrites: boolean;
  /** True when client credentials are not forwarded to the nodes (the gateway has its own). */
  ownNodeCredentials: boolean;
  /** NODE_TOKEN: the gateway's own credential for nodes, also given to nodes added at run time. */
  nodeToken?: string;
  dataDir: string;
  databaseUrl?: string;
  logLevel: string;
  adminToken?: string;
  backupStallTimeoutMs: number;
  shutdownTimeoutMs: number;
  logRetentionEntries: number;
  logRetentionMs: number;
  /** 0: no anti-entropy pass. */
  antiEntropyIntervalMs: number;
  /** 0: verify reads unpaced. */
  verifyRecordsPerSecond: number;
  leasePeriodMs: number;
  leaseRenewMs: number;
}

export function loadGatewayConfig(env: Env): GatewayConfig {
  const s = gatewaySettings;
  const get = <T>(setting: Setting) => readSetting<T>(env, setting);
  const primary = get<string>(s.PRIMARY_URL);
  if (!primary) throw new ConfigError('PRIMARY_URL is required: the URL of the primary Chroma node');
  const urls = distinctNodeUrls(primary, get<string>(s.REPLICA_URL), get<string[]>(s.REPLICA_URLS));
  const priorities = get<number[]>(s.NODE_PRIORITIES);
  if (priorities && priorities.length !== urls.length) {
    throw new ConfigError(
      `NODE_PRIORITIES has ${priorities.length} values but there are ${urls.length} distinct nodes (primary first, then replicas)`,
    );
  }
  const nodeToken = get<string>(s.NODE_TOKEN);
  const nodes = urls.map((raw, i) => nodeConfig(raw, i, priorities?.[i], nodeToken));
  const clientTokens = get<string[]>(s.CLIENT_AUTH_CREDENTIALS);
  const ms = (setting: Setting) => Math.round(get<number>(setting)! * 1000);
  const leasePeriodMs = ms(s.LEASE_PERIOD);
  const leaseRenewMs = ms(s.LEASE_RENEW_INTERVAL);
  if (leaseRenewMs * 3 > leasePeriodMs) {
    // Two renewals may fail (a slow store, a pause) before the lease lapses under a gateway that is alive.
    throw new ConfigError(`LEASE_RENEW_INTERVAL=${leaseRenewMs / 1000} is more than a third of LEASE_PERIOD=${leasePeriodMs / 1000}: renew at least three times per period`);
  }
  return {
    port: get<number>(s.PORT)!,
    host: get<string>(s.HOST)!,
    nodes,
    checkIntervalMs: ms(s.CHECK_INTERVAL),
    fastCheckIntervalMs: ms(s.FAST_CHECK_INTERVAL),
    failureThreshold: get<number>(s.FAILURE_THRESHOLD)!,
    recoveryThreshold: get<number>(s.RECOVERY_THRESHOLD)!,
    healthCheckTimeoutMs: ms(s.HEALTH_CHECK_TIMEOUT),
    // A floor above the ceiling would be meaningless: the ceiling wins (a fixed timeout).
    healthCheckMinTimeoutMs: Math.min(ms(s.HEALTH_CHECK_MIN_TIMEOUT), ms(s.HEALTH_CHECK_TIMEOUT)),
    requestTimeoutMs: ms(s.REQUEST_TIMEOUT),
    writeTimeoutMs: ms(s.WRITE_TIMEOUT),
    spotCheckIntervalMs: ms(s.SPOT_CHECK_INTERVAL),
    maxBodyBytes: get<number>(s.MAX_BODY_BYTES)!,
    bodyTimeoutMs: ms(s.BODY_TIMEOUT),
    clientTokens,
    allowUnknownWrites: get<boolean>(s.ALLOW_UNKNOWN_WRITES)!,
    ownNodeCredentials: clientTokens !== undefined || nodeToken !== undefined,
    nodeToken,
    dataDir: get<string>(s.DATA_DIR)!,
    databaseUrl: get<string>(s.DATABASE_URL),
    logLevel: get<string>(s.LOG_LEVEL)!,
    adminToken: get<string>(s.ADMIN_TOKEN),
    backupStallTimeoutMs: ms(s.BACKUP_STALL_TIMEOUT),
    shutdownTimeoutMs: ms(s.SHUTDOWN_TIMEOUT),
    logRetentionEntries: get<number>(s.LOG_RETENTION_ENTRIES)!,
    logRetentionMs: ms(s.LOG_RETENTION_SECONDS),
    antiEntropyIntervalMs: ms(s.ANTI_ENTROPY_INTERVAL),
    verifyRecordsPerSecond: get<number>(s.VERIFY_RECORDS_PER_SECOND)!,
    leasePeriodMs,
    leaseRenewMs,
  };
}

/**
 * The node URLs in order (primary, REPLICA_URL, REPLICA_URLS), each node once: the guide names a replica in
 * REPLICA_URL and our docs in REPLICA_URLS, and a reader of both writes it in both. The primary named again
 * as a replica is a mistake, not a repetition.
 */
export function distinctNodeUrls(primary: string, replica: string | undefined, replicas: string[] | undefined): string[] {
  const primaryId = nodeId(primary);
  const seen = new Set<string>();
  const out = [primary];
  for (const url of [...(replica ? [replica] : []), ...(replicas ?? [])]) {
    const id = nodeId(url);
    if (id === primaryId) throw new ConfigError(`REPLICA_URL/REPLICA_URLS name ${id}, which is PRIMARY_URL: a node cannot be its own replica`);
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(url);
  }
  return out;
}

/** A node's identity: its URL without credentials or trailing slash. */
function nodeId(raw: string): string {
  const parsed = new URL(raw);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString().replace(/\/+$/, '');
}

export function nodeConfig(raw: string, index: number, priority: number | undefined, nodeToken?: string): NodeConfig {
  const parsed = new URL(raw);
  const authHeaders: Record<string, string> = {};
  if (parsed.username || parsed.password) {
    const user = decodeURIComponent(parsed.username);
    const pass = decodeURIComponent(parsed.password);
    authHeaders.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  } else if (nodeToken) {
    authHeaders.authorization = `Bearer ${nodeToken}`;
  }
  const url = nodeId(parsed.toString());
  return {
    id: url,
    name: index === 0 ? 'primary' : `replica-${index}`,
    url,
    authHeaders,
    priority: priority ?? (index === 0 ? 100 : 81 - index),
    configuredRole: index === 0 ? 'primary' : 'replica',
  };
}
