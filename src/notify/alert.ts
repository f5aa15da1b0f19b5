// What the monitor tells people: one Alert per notification, independent of where it is sent. Every alert
// says what happened (title, summary), since when, how severe, and what to check; sinks only format it.

export type Severity = 'info' | 'warning' | 'critical';

/**
 * firing: a problem started; reminder: it is still going on; resolved: it ended (with its duration);
 * notice: a one-off event with nothing to resolve (a failover, a test).
 */
export type AlertStatus = 'firing' | 'reminder' | 'resolved' | 'notice';

export const ALERT_KINDS = [
  'node-down',
  'node-flapping',
  'all-nodes-down',
  'gateway-unreachable',
  'failover',
  'switchover',
  'node-membership',
  'replica-lag',
  'node-diverged',
  'test',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export interface AlertTarget {
  /** primary, replica-1, ..., gateway, or cluster for alerts about the whole deployment. */
  name: string;
  kind: 'node' | 'gateway' | 'cluster';
  /** URL without credentials; null for the cluster. */
  url: string | null;
  /** The node's current role according to the gateway, when known. */
  role: string | null;
}

export interface Alert {
  id: string;
  kind: AlertKind;
  status: AlertStatus;
  severity: Severity;
  title: string;
  summary: string;
  /** When the situation began (first failed check of an outage, time of a failover). */
  since: number;
  /** When the monitor detected what it reports. */
  at: number;
  /** Length of the problem so far (reminder) or in total (resolved); null for notices and new problems. */
  durationSeconds: number | null;
  /** Groups firing, reminders and resolved of one problem: same key and id from start to end. */
  incident: { key: string; id: string } | null;
  target: AlertTarget;
  details: Record<string, unknown>;
  /** What an operator should look at, most likely cause first. */
  checks: string[];
  cluster: string;
}

/** `125.4` -> `2m 5s`; used in titles and summaries. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const m = Math.floor((s % 3_600) / 60);
  const rest = s % 60;
  const parts = [d ? `${d}d` : '', h ? `${h}h` : '', m ? `${m}m` : '', rest || (!d && !h && !m) ? `${rest}s` : ''];
  return parts.filter(Boolean).join(' ');
}

export const isoTime = (ms: number) => new Date(ms).toISOString();
