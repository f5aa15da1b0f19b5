// The generic webhook payload, version 1, and its JSON Schema. The schema is the contract: it is printed
// in docs/monitoring.md (a test keeps the two identical) and any change to the payload bumps schemaVersion.
import { ALERT_KINDS, isoTime, type Alert } from './alert.js';

export const JSON_SCHEMA_VERSION = 1;

const isoDateTime = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$' };

export const jsonPayloadSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'urn:chroma-ha:notification:v1',
  title: 'chroma-ha monitor notification, schemaVersion 1',
  type: 'object',
  additionalProperties: false,
  required: [
    'schemaVersion', 'id', 'source', 'cluster', 'kind', 'status', 'severity', 'title', 'summary',
    'since', 'at', 'durationSeconds', 'incident', 'target', 'details', 'checks',
  ],
  properties: {
    schemaVersion: { const: 1 },
    id: { type: 'string', pattern: '^[0-9a-f-]{36}$', description: 'Unique per notification (retries reuse it, so receivers can deduplicate).' },
    source: { const: 'chroma-ha-monitor' },
    cluster: { type: 'string', minLength: 1, description: 'CLUSTER_NAME of the sending monitor.' },
    kind: { enum: [...ALERT_KINDS] },
    status: { enum: ['firing', 'reminder', 'resolved', 'notice'] },
    severity: { enum: ['info', 'warning', 'critical'] },
    title: { type: 'string', minLength: 1, description: 'One line: what happened, to what.' },
    summary: { type: 'string', minLength: 1, description: 'What happened and since when, in sentences.' },
    since: { ...isoDateTime, description: 'When the situation began (UTC).' },
    at: { ...isoDateTime, description: 'When the monitor detected it (UTC).' },
    durationSeconds: { type: ['number', 'null'], minimum: 0, description: 'Length so far (reminder) or in total (resolved).' },
    incident: {
      description: 'Same key and id on the firing, reminder and resolved notifications of one problem; null for notices.',
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['key', 'id'],
          properties: { key: { type: 'string', minLength: 1 }, id: { type: 'string', pattern: '^[0-9a-f-]{36}$' } },
        },
      ],
    },
    target: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'kind', 'url', 'role'],
      properties: {
        name: { type: 'string', minLength: 1 },
        kind: { enum: ['node', 'gateway', 'cluster'] },
        url: { type: ['string', 'null'], description: 'Without credentials.' },
        role: { type: ['string', 'null'], description: 'primary or replica, as the gateway last reported.' },
      },
    },
    details: { type: 'object', description: 'Facts specific to the kind (last error, old and new primary, lag, ...).' },
    checks: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'What to check, most likely cause first.' },
  },
} as const;

export function jsonPayload(alert: Alert) {
  return {
    schemaVersion: JSON_SCHEMA_VERSION,
    id: alert.id,
    source: 'chroma-ha-monitor',
    cluster: alert.cluster,
    kind: alert.kind,
    status: alert.status,
    severity: alert.severity,
    title: alert.title,
    summary: alert.summary,
    since: isoTime(alert.since),
    at: isoTime(alert.at),
    durationSeconds: alert.durationSeconds,
    incident: alert.incident,
    target: alert.target,
    details: alert.details,
    checks: alert.checks,
  };
}
