// Slack incoming-webhook payload: Block Kit blocks (header with severity emoji and word, summary, facts,
// what to check, context line) plus a plain `text` fallback that Slack shows in push notifications and
// that clients without Block Kit render. Stays within Slack's documented limits for each block.
import { formatDuration, isoTime, type Alert, type AlertStatus, type Severity } from './alert.js';

const SEVERITY_EMOJI: Record<Severity, string> = { critical: '🔴', warning: '🟠', info: '🔵' };
const STATUS_WORD: Record<AlertStatus, string> = { firing: 'FIRING', reminder: 'STILL FIRING', resolved: 'RESOLVED', notice: 'NOTICE' };

/** Limits from Slack's Block Kit reference. */
export const SLACK_LIMITS = { header: 150, sectionText: 3000, field: 2000, fields: 10, contextElements: 10, text: 40_000 } as const;

export interface SlackPayload {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

export function slackPayload(alert: Alert): SlackPayload {
  const emoji = alert.status === 'resolved' ? '✅' : SEVERITY_EMOJI[alert.severity];
  const label = `${alert.severity.toUpperCase()}${alert.status === 'firing' || alert.status === 'notice' ? '' : ` · ${STATUS_WORD[alert.status]}`}`;
  const fields = [
    field('Severity', `${SEVERITY_EMOJI[alert.severity]} ${alert.severity.toUpperCase()}`),
    field('Status', STATUS_WORD[alert.status]),
    field('Since', slackDate(alert.since)),
    field(alert.target.kind === 'cluster' ? 'Cluster' : 'Target', targetText(alert)),
  ];
  if (alert.durationSeconds !== null) {
    fields.push(field(alert.status === 'resolved' ? 'Lasted' : 'Going on for', formatDuration(alert.durationSeconds)));
  }
  const blocks: Array<Record<string, unknown>> = [
    { type: 'header', text: { type: 'plain_text', text: cut(`${emoji} ${label}: ${alert.title}`, SLACK_LIMITS.header), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(escape(alert.summary), SLACK_LIMITS.sectionText) }, fields: fields.slice(0, SLACK_LIMITS.fields) },
  ];
  if (alert.checks.length > 0) {
    const list = alert.checks.map((c) => `• ${escape(c)}`).join('\n');
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(`*What to check*\n${list}`, SLACK_LIMITS.sectionText) } });
  }
  blocks.push({
    type: 'context',
    elements: [
      { type: 'mrkdwn', text: cut(`chroma-ha monitor · *${escape(alert.cluster)}* · ${alert.kind} · detected ${slackDate(alert.at)}`, SLACK_LIMITS.field) },
    ],
  });
  const text = `${emoji} [${label}] ${escape(alert.cluster)}: ${escape(alert.title)} (since ${isoTime(alert.since)})`;
  return { text: cut(text, SLACK_LIMITS.text), blocks };
}

function field(name: string, value: string) {
  return { type: 'mrkdwn', text: cut(`*${name}*\n${value}`, SLACK_LIMITS.field) };
}

function targetText(alert: Alert): string {
  const t = alert.target;
  const role = t.role && t.role !== t.name ? ` (${t.role})` : '';
  return escape(`${t.name}${role}${t.url ? ` ${t.url}` : ''}`);
}

/** Slack renders this in the reader's time zone; the part after `|` is the fallback. */
function slackDate(ms: number): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time_secs}|${isoTime(ms)}>`;
}

/** Slack mrkdwn needs only &, < and > escaped. */
function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
