// The monitor's settings (`chroma-ha monitor`, `chroma-ha notify test`, `chroma-ha monitor report`): one table
// with the same shape as the gateway's, so env vars, flags, validation and docs come from one place.
// The guide's variable names are kept (PRIMARY_URL, REPLICA_URL, LOAD_BALANCER_URL, CHECK_INTERVAL,
// FAILURE_THRESHOLD, NOTIFICATION_WEBHOOK, DATABASE_URL); everything else has a default.
import { z } from 'zod';
import { gatewaySettings, nodeUrl, nodeUrlList, port, positiveInt, seconds, type Setting } from './settings.js';
import { ConfigError, distinctNodeUrls, nodeConfig, readSetting, type Env, type NodeConfig } from './load.js';

const secondsOrZero = z.coerce.number().min(0, 'must be 0 (off) or a positive number of seconds');
/** Webhook URLs are secrets (the path is the credential): validated, and never echoed in an error. */
const webhookUrl = z
  .string()
  .url('must be an absolute URL such as https://hooks.slack.com/services/...')
  .refine((u) => /^https?:\/\//.test(u), 'must use http:// or https://');
const webhookUrlList = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim()).filter(Boolean))
  .pipe(z.array(webhookUrl));

export const notifySettings = {
  NOTIFICATION_WEBHOOK: {
    env: 'NOTIFICATION_WEBHOOK',
    description: 'Slack incoming-webhook URL (the guide\'s variable). Notifications use Block Kit with a plain-text fallback.',
    secret: true,
    schema: webhookUrl,
  },
  SLACK_WEBHOOK_URLS: {
    env: 'SLACK_WEBHOOK_URLS',
    description: 'More Slack incoming-webhook URLs, comma-separated; each gets every notification.',
    secret: true,
    schema: webhookUrlList,
  },
  JSON_WEBHOOK_URLS: {
    env: 'JSON_WEBHOOK_URLS',
    description: 'Generic webhook URLs, comma-separated; each gets the versioned JSON payload (schemaVersion 1, see docs/monitoring.md).',
    secret: true,
    schema: webhookUrlList,
  },
  NOTIFY_TIMEOUT: {
    env: 'NOTIFY_TIMEOUT',
    description: 'Seconds one delivery attempt may take before it counts as failed.',
    default: '10',
    schema: seconds,
  },
  NOTIFY_MAX_ATTEMPTS: {
    env: 'NOTIFY_MAX_ATTEMPTS',
    description: 'Attempts per notification and sink (timeouts, connection errors, 429 and 5xx are retried); then it is recorded as failed.',
    default: '5',
    schema: positiveInt,
  },
  NOTIFY_RETRY_DELAY: {
    env: 'NOTIFY_RETRY_DELAY',
    description: 'Seconds before the first retry; doubles for each further attempt (at most 60 s). A 429 Retry-After wins (at most 300 s).',
    default: '1',
    schema: seconds,
  },
  CLUSTER_NAME: {
    env: 'CLUSTER_NAME',
    description: 'Name of this deployment shown in every notification, so several clusters can share a channel.',
    default: 'chroma-ha',
    schema: z.string().min(1).max(80),
  },
  LOG_LEVEL: gatewaySettings.LOG_LEVEL,
} satisfies Record<string, Setting>;

export const historySettings = {
  DATA_DIR: {
    env: 'DATA_DIR',
    description: 'Directory for the monitor\'s SQLite history (monitor-history.sqlite), used when DATABASE_URL is not set.',
    default: './data',
    schema: z.string().min(1),
  },
  DATABASE_URL: {
    ...gatewaySettings.DATABASE_URL,
    description: 'PostgreSQL connection string; when set, check history, state changes and notifications are stored there (tables monitor_*).',
  },
} satisfies Record<string, Setting>;

export const monitorSettings = {
  PRIMARY_URL: { ...gatewaySettings.PRIMARY_URL, description: 'URL of the primary Chroma node to watch (host:port means http://host:port).', schema: nodeUrl },
  REPLICA_URL: { ...gatewaySettings.REPLICA_URL, description: 'URL of one replica Chroma node to watch (the guide\'s variable).' },
  REPLICA_URLS: { ...gatewaySettings.REPLICA_URLS, description: 'Comma-separated replica URLs to watch; combined with REPLICA_URL (a URL named in both is one node).', schema: nodeUrlList },
  NODE_TOKEN: {
    ...gatewaySettings.NODE_TOKEN,
    description: 'Token the monitor sends to every node (`Authorization: Bearer <token>`), for nodes behind a token check; the same value as the gateway\'s.',
  },
  LOAD_BALANCER_URL: {
    env: 'LOAD_BALANCER_URL',
    description: 'URL of the chroma-ha gateway; its /health and /status are checked (failovers, lag, diverged nodes). Without it only the nodes are watched.',
    schema: nodeUrl,
  },
  CHECK_INTERVAL: {
    env: 'CHECK_INTERVAL',
    description: 'Seconds between two rounds of checks (fractions allowed). The checks also keep sleeping services warm.',
    default: '30',
    schema: seconds,
  },
  CHECK_TIMEOUT: {
    env: 'CHECK_TIMEOUT',
    description: 'Seconds one check may take; capped at CHECK_INTERVAL so a hung node never delays the next round.',
    default: '5',
    schema: seconds,
  },
  FAILURE_THRESHOLD: {
    env: 'FAILURE_THRESHOLD',
    description: 'Consecutive failed checks before a node (or the gateway) is declared down; also how many checks a replica\'s lag must stay high.',
    default: '3',
    schema: positiveInt,
  },
  RECOVERY_THRESHOLD: {
    env: 'RECOVERY_THRESHOLD',
    description: 'Consecutive successful checks before a down node (or the gateway) is declared recovered.',
    default: '2',
    schema: positiveInt,
  },
  REMINDER_INTERVAL: {
    env: 'REMINDER_INTERVAL',
    description: 'Seconds between reminders while a problem continues (0 = no reminders).',
    default: '3600',
    schema: secondsOrZero,
  },
  FLAP_WINDOW: {
    env: 'FLAP_WINDOW',
    description: 'Seconds over which up/down changes of one node are counted for flapping; a flapping node is stable again after this long without a change.',
    default: '600',
    schema: seconds,
  },
  FLAP_THRESHOLD: {
    env: 'FLAP_THRESHOLD',
    description: 'Up/down changes within FLAP_WINDOW that make a node "flapping": one notification, then silence for it until it is stable.',
    default: '3',
    schema: z.coerce.number().int('must be a whole number').min(2, 'must be at least 2'),
  },
  LAG_THRESHOLD_SECONDS: {
    env: 'LAG_THRESHOLD_SECONDS',
    description: 'A healthy replica whose oldest unapplied write is older than this many seconds is lagging.',
    default: '60',
    schema: seconds,
  },
  LAG_THRESHOLD_ENTRIES: {
    env: 'LAG_THRESHOLD_ENTRIES',
    description: 'A healthy replica more than this many log entries behind is lagging.',
    default: '1000',
    schema: positiveInt,
  },
  ...notifySettings,
  ...historySettings,
  HISTORY_RETENTION_DAYS: {
    env: 'HISTORY_RETENTION_DAYS',
    description: 'Days of history kept; older rows are deleted (at start-up and every hour).',
    default: '30',
    schema: seconds,
  },
  HISTORY_BUFFER_LIMIT: {
    env: 'HISTORY_BUFFER_LIMIT',
    description: 'History rows kept in memory while the store is unreachable; beyond it the oldest check rows are dropped (and counted).',
    default: '10000',
    schema: positiveInt,
  },
  MONITOR_METRICS_PORT: {
    env: 'MONITOR_METRICS_PORT',
    description: 'Port of the monitor\'s own Prometheus endpoint (GET /metrics); 0 picks a free port.',
    default: '9470',
    schema: port,
  },
  MONITOR_METRICS_HOST: {
    env: 'MONITOR_METRICS_HOST',
    description: 'Address the monitor\'s metrics endpoint binds to.',
    default: '0.0.0.0',
    schema: z.string().min(1),
  },
} satisfies Record<string, Setting>;

export type SinkKind = 'slack' | 'json';

export interface SinkConfig {
  /** Short name used in logs, metrics and the history (slack-1, json-1, ...); never the URL. */
  name: string;
  kind: SinkKind;
  url: string;
  /** The variable the URL came from, for messages. */
  variable: string;
}

export interface NotifyConfig {
  sinks: SinkConfig[];
  delivery: { timeoutMs: number; maxAttempts: number; retryDelayMs: number };
  clusterName: string;
  logLevel: string;
}

export interface HistoryConfig {
  dataDir: string;
  databaseUrl?: string;
}

export interface MonitorConfig extends NotifyConfig, HistoryConfig {
  nodes: NodeConfig[];
  gateway: NodeConfig | null;
  checkIntervalMs: number;
  checkTimeoutMs: number;
  failureThreshold: number;
  recoveryThreshold: number;
  reminderIntervalMs: number;
  flapWindowMs: number;
  flapThreshold: number;
  lagThresholdSeconds: number;
  lagThresholdEntries: number;
  historyRetentionMs: number;
  historyBufferLimit: number;
  metricsPort: number;
  metricsHost: string;
}

const ms = (s: number) => Math.round(s * 1000);

export function loadNotifyConfig(env: Env): NotifyConfig {
  const s = notifySettings;
  const get = <T>(setting: Setting) => readSetting<T>(env, setting);
  const hook = get<string>(s.NOTIFICATION_WEBHOOK);
  const slack = [
    ...(hook ? [{ url: hook, variable: 'NOTIFICATION_WEBHOOK' }] : []),
    ...(get<string[]>(s.SLACK_WEBHOOK_URLS) ?? []).map((url) => ({ url, variable: 'SLACK_WEBHOOK_URLS' })),
  ];
  const json = get<string[]>(s.JSON_WEBHOOK_URLS) ?? [];
  const sinks: SinkConfig[] = [
    ...slack.map((h, i) => ({ name: `slack-${i + 1}`, kind: 'slack' as const, ...h })),
    ...json.map((url, i) => ({ name: `json-${i + 1}`, kind: 'json' as const, url, variable: 'JSON_WEBHOOK_URLS' })),
  ];
  return {
    sinks,
    delivery: {
      timeoutMs: ms(get<number>(s.NOTIFY_TIMEOUT)!),
      maxAttempts: get<number>(s.NOTIFY_MAX_ATTEMPTS)!,
      retryDelayMs: ms(get<number>(s.NOTIFY_RETRY_DELAY)!),
    },
    clusterName: get<string>(s.CLUSTER_NAME)!,
    logLevel: get<string>(s.LOG_LEVEL)!,
  };
}

export function loadHistoryConfig(env: Env): HistoryConfig {
  return {
    dataDir: readSetting<string>(env, historySettings.DATA_DIR)!,
    databaseUrl: readSetting<string>(env, historySettings.DATABASE_URL),
  };
}

export function loadMonitorConfig(env: Env): MonitorConfig {
  const s = monitorSettings;
  const get = <T>(setting: Setting) => readSetting<T>(env, setting);
  const primary = get<string>(s.PRIMARY_URL);
  if (!primary) throw new ConfigError('PRIMARY_URL is required: the URL of the primary Chroma node to watch');
  const nodeToken = get<string>(s.NODE_TOKEN);
  const nodes = distinctNodeUrls(primary, get<string>(s.REPLICA_URL), get<string[]>(s.REPLICA_URLS)).map((url, i) =>
    nodeConfig(url, i, undefined, nodeToken),
  );
  const lb = get<string>(s.LOAD_BALANCER_URL);
  const checkIntervalMs = ms(get<number>(s.CHECK_INTERVAL)!);
  return {
    ...loadNotifyConfig(env),
    ...loadHistoryConfig(env),
    nodes,
    gateway: lb ? { ...nodeConfig(lb, 0, undefined), name: 'gateway', configuredRole: 'primary' } : null,
    checkIntervalMs,
    checkTimeoutMs: Math.min(ms(get<number>(s.CHECK_TIMEOUT)!), checkIntervalMs),
    failureThreshold: get<number>(s.FAILURE_THRESHOLD)!,
    recoveryThreshold: get<number>(s.RECOVERY_THRESHOLD)!,
    reminderIntervalMs: ms(get<number>(s.REMINDER_INTERVAL)!),
    flapWindowMs: ms(get<number>(s.FLAP_WINDOW)!),
    flapThreshold: get<number>(s.FLAP_THRESHOLD)!,
    lagThresholdSeconds: get<number>(s.LAG_THRESHOLD_SECONDS)!,
    lagThresholdEntries: get<number>(s.LAG_THRESHOLD_ENTRIES)!,
    historyRetentionMs: ms(get<number>(s.HISTORY_RETENTION_DAYS)! * 86_400),
    historyBufferLimit: get<number>(s.HISTORY_BUFFER_LIMIT)!,
    metricsPort: get<number>(s.MONITOR_METRICS_PORT)!,
    metricsHost: get<string>(s.MONITOR_METRICS_HOST)!,
  };
}
