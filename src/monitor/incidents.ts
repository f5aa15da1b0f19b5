// Open problems, one per kind and subject (node-down of replica-1, all-nodes-down of the cluster, ...). An
// incident notifies when it opens, reminds at a slow interval while it lasts, and notifies once when it
// closes. A suppressed incident (its node is flapping, or its lag cannot be judged now) is tracked but
// sends no reminders.
import { randomUUID } from 'node:crypto';
import type { AlertKind } from '../notify/alert.js';

export interface Incident {
  key: string;
  id: string;
  kind: AlertKind;
  subject: string;
  since: number;
  lastNotifiedAt: number;
  suppressed: boolean;
}

export class IncidentBook {
  private readonly open = new Map<string, Incident>();

  get(kind: AlertKind, subject: string): Incident | undefined {
    return this.open.get(`${kind}:${subject}`);
  }

  get size(): number {
    return this.open.size;
  }

  all(): Incident[] {
    return [...this.open.values()];
  }

  /** Opens an incident unless one is open already for this kind and subject (then returns null). */
  start(kind: AlertKind, subject: string, since: number, at: number, suppressed = false): Incident | null {
    const key = `${kind}:${subject}`;
    if (this.open.has(key)) return null;
    const incident = { key, id: randomUUID(), kind, subject, since, lastNotifiedAt: at, suppressed };
    this.open.set(key, incident);
    return incident;
  }

  end(kind: AlertKind, subject: string): Incident | null {
    const key = `${kind}:${subject}`;
    const incident = this.open.get(key);
    if (!incident) return null;
    this.open.delete(key);
    return incident;
  }

  /** Incidents whose last notification is at least intervalMs old; marks them notified at `at`. */
  takeDueReminders(at: number, intervalMs: number): Incident[] {
    if (intervalMs <= 0) return [];
    const due = this.all().filter((i) => !i.suppressed && at - i.lastNotifiedAt >= intervalMs);
    for (const i of due) i.lastNotifiedAt = at;
    return due;
  }
}
