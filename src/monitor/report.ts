// `chroma-ha monitor report`: uptime per target (share of successful checks), incidents (down periods
// from the recorded state changes, clipped to the period) and what was notified, for a period.
import { formatDuration, isoTime } from '../notify/alert.js';
import type { HistoryStore } from './history-store.js';

export interface Outage {
  target: string;
  start: number;
  /** null while the outage is still going on at the end of the period. */
  end: number | null;
  durationSeconds: number;
  reason: string;
}

export interface Report {
  from: number;
  to: number;
  store: string;
  targets: Array<{ target: string; kind: string; checks: number; okChecks: number; uptimePercent: number; avgLatencyMs: number | null; incidents: number; downtimeSeconds: number }>;
  incidents: Outage[];
  alerts: { total: number; byKind: Record<string, number> };
  deliveries: { delivered: number; failed: number };
}

export async function buildReport(store: HistoryStore, from: number, to: number): Promise<Report> {
  const [uptime, changes, alerts, deliveries] = await Promise.all([
    store.uptime(from, to),
    store.stateChanges(to),
    store.alerts(from, to),
    store.deliveries(from, to),
  ]);
  const incidents = downPeriods(changes, from, to);
  const byKind: Record<string, number> = {};
  for (const a of alerts) byKind[a.kind] = (byKind[a.kind] ?? 0) + 1;
  return {
    from,
    to,
    store: `${store.kind} ${store.location}`,
    targets: uptime.map((u) => {
      const own = incidents.filter((i) => i.target === u.target);
      return {
        target: u.target,
        kind: u.targetKind,
        checks: u.checks,
        okChecks: u.okChecks,
        uptimePercent: u.checks === 0 ? 0 : Math.round((u.okChecks / u.checks) * 100_000) / 1000,
        avgLatencyMs: u.avgLatencyMs,
        incidents: own.length,
        downtimeSeconds: Math.round(own.reduce((s, i) => s + i.durationSeconds, 0) * 1000) / 1000,
      };
    }),
    incidents,
    alerts: { total: alerts.length, byKind },
    deliveries: { delivered: deliveries.filter((d) => d.ok).length, failed: deliveries.filter((d) => !d.ok).length },
  };
}

/** Pairs each target's change to down with its next change to up; keeps the ones overlapping [from, to). */
function downPeriods(changes: Array<{ target: string; toState: string; since: number; reason: string }>, from: number, to: number): Outage[] {
  const open = new Map<string, { start: number; reason: string }>();
  const periods: Outage[] = [];
  for (const c of changes) {
    if (c.toState === 'down' && !open.has(c.target)) open.set(c.target, { start: c.since, reason: c.reason });
    if (c.toState === 'up') {
      const o = open.get(c.target);
      open.delete(c.target);
      if (o && c.since > from) periods.push(clip(c.target, o.start, c.since, o.reason));
    }
  }
  for (const [target, o] of open) periods.push({ ...clip(target, o.start, to, o.reason), end: null });
  return periods.sort((a, b) => a.start - b.start);

  function clip(target: string, start: number, end: number, reason: string): Outage {
    const s = Math.max(start, from);
    const e = Math.min(end, to);
    return { target, start: s, end: e, durationSeconds: Math.max(0, (e - s) / 1000), reason };
  }
}

export function formatReport(r: Report): string {
  const lines = [
    `chroma-ha monitor report, ${isoTime(r.from)} to ${isoTime(r.to)} (${formatDuration((r.to - r.from) / 1000)}), from ${r.store}`,
    '',
  ];
  if (r.targets.length === 0) lines.push('No checks were recorded in this period.');
  else {
    const rows = [
      ['target', 'kind', 'checks', 'uptime', 'avg latency', 'incidents', 'downtime'],
      ...r.targets.map((t) => [
        t.target,
        t.kind,
        String(t.checks),
        `${t.uptimePercent.toFixed(3)} %`,
        t.avgLatencyMs === null ? '-' : `${t.avgLatencyMs} ms`,
        String(t.incidents),
        formatDuration(t.downtimeSeconds),
      ]),
    ];
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
    for (const row of rows) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  }
  lines.push('', r.incidents.length === 0 ? 'Incidents: none' : 'Incidents:');
  for (const i of r.incidents) {
    lines.push(`  ${i.target}: down ${isoTime(i.start)} to ${i.end === null ? 'still down' : isoTime(i.end)} (${formatDuration(i.durationSeconds)}) - ${i.reason}`);
  }
  const kinds = Object.entries(r.alerts.byKind).map(([k, n]) => `${k} ${n}`).join(', ');
  lines.push('', `Notifications: ${r.alerts.total}${kinds ? ` (${kinds})` : ''}; deliveries ${r.deliveries.delivered} delivered, ${r.deliveries.failed} failed`);
  return lines.join('\n');
}

/** `90s`, `15m`, `24h`, `7d` -> milliseconds. */
export function parsePeriod(value: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*([smhd])$/.exec(value.trim());
  if (!m) return null;
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
