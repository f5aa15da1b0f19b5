// The notification `chroma-ha notify test` sends: a real alert of kind "test", so it exercises exactly the
// formatting and delivery path of every other notification.
import { randomUUID } from 'node:crypto';
import type { Alert } from './alert.js';

export function testAlert(cluster: string, at = Date.now()): Alert {
  return {
    id: randomUUID(),
    kind: 'test',
    status: 'notice',
    severity: 'info',
    title: 'Test notification from the chroma-ha monitor',
    summary: 'If you can read this, this webhook delivers chroma-ha notifications. Nothing is wrong.',
    since: at,
    at,
    durationSeconds: null,
    incident: null,
    target: { name: 'cluster', kind: 'cluster', url: null, role: null },
    details: {},
    checks: ['Nothing: this was sent by `chroma-ha notify test`'],
    cluster,
  };
}
