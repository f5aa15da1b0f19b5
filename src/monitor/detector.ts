// The monitor's rules. Fed one round of check results at a time (with the time they were taken, so a
// test can drive simulated time), it keeps per-target state and returns the state changes to store and
// the alerts to send. Alerts come on transitions only: a problem opens an incident (one notification),
// reminders follow at REMINDER_INTERVAL, and its end sends one resolved notification with the duration.
import { randomUUID } from 'node:crypto';
import type { NodeConfig } from '../config/load.js';
import type { MonitorConfig } from '../config/monitor-settings.js';
import { redactUrl } from '../log/redact.js';
import type { Alert, AlertKind, AlertStatus, AlertTarget } from '../notify/alert.js';
import { statusNodeFor, type GatewayProbe, type GatewayStatusView, type ProbeResult } from './probe.js';
import { IncidentBook, type Incident } from './incidents.js';
import { StateTracker, type TargetState } from './tracker.js';
import { messages, type Message, type MessageContext } from './messages.js';

export type DetectorConfig = Pick<
  MonitorConfig,
  | 'clusterName'
  | 'failureThreshold'
  | 'recoveryThreshold'
  | 'reminderIntervalMs'
  | 'flapWindowMs'
  | 'flapThreshold'
  | 'lagThresholdSeconds'
  | 'lagThresholdEntries'
>;

export interface Observation {
  at: number;
  nodes: Array<{ config: NodeConfig; result: ProbeResult }>;
  gateway: GatewayProbe | null;
}

export interface StateChange {
  at: number;
  target: string;
  fromState: TargetState;
  toState: TargetState;
  since: number;
  reason: string;
}

export interface Detection {
  alerts: Alert[];
  stateChanges: StateChange[];
}

type StatusNode = GatewayStatusView['nodes'][number];

interface NodeWatch {
  config: NodeConfig;
  url: string;
  role: string | null;
  tracker: StateTracker;
  /** Times of up/down changes within the flapping window. */
  changes: number[];
  lastLatencyMs: number | null;
}

export class Detector {
  readonly incidents = new IncidentBook();
  private readonly nodes = new Map<string, NodeWatch>();
  private readonly gatewayTracker: StateTracker;
  private readonly lagTrackers = new Map<string, StateTracker>();
  private readonly statusNodes = new Map<string, StatusNode>();
  private failoverBaseline: number | null = null;
  /** Membership changes already seen in /status (null until the first /status: those are not announced). */
  private seenMemberChanges: Set<string> | null = null;
  private readonly ctx: MessageContext;

  constructor(
    private readonly config: DetectorConfig,
    private readonly gateway: NodeConfig | null,
  ) {
    this.gatewayTracker = new StateTracker(config.failureThreshold, config.recoveryThreshold);
    this.ctx = { statusUrl: gateway ? `${redactUrl(gateway.url)}/status` : null };
  }

  observe(obs: Observation): Detection {
    const out: Detection = { alerts: [], stateChanges: [] };
    const status = obs.gateway?.status ?? null;
    for (const o of obs.nodes) this.watch(o.config);
    if (status) this.learn(status);
    for (const o of obs.nodes) this.observeNode(o.config, o.result, obs.at, out);
    this.checkAllDown(obs.at, out);
    if (this.gateway && obs.gateway) this.observeGateway(obs.gateway, obs.at, out);
    if (status) {
      this.checkFailovers(status, obs.at, out);
      this.checkMembership(status, obs.at, out);
      for (const s of status.nodes) this.checkReplication(s, obs.at, out);
    }
    this.remind(obs.at, out);
    return out;
  }

  nodeState(name: string): TargetState {
    return this.nodes.get(name)?.tracker.state ?? 'unknown';
  }

  get gatewayState(): TargetState {
    return this.gatewayTracker.state;
  }

  private observeNode(config: NodeConfig, result: ProbeResult, at: number, out: Detection): void {
    const w = this.watch(config);
    w.lastLatencyMs = result.latencyMs;
    const t = w.tracker.observe(result.ok, at, result.error);
    if (t) {
      out.stateChanges.push({ at, target: w.config.name, fromState: t.from, toState: t.to, since: t.since, reason: t.reason });
      if (t.from !== 'unknown') w.changes.push(at);
    }
    w.changes = w.changes.filter((c) => at - c < this.config.flapWindowMs);
    const name = w.config.name;
    const target = this.nodeTarget(w);
    const flapping = this.incidents.get('node-flapping', name);

    if (!flapping && t && w.changes.length >= this.config.flapThreshold) {
      const incident = this.incidents.start('node-flapping', name, w.changes[0]!, at)!;
      this.incidents.end('node-down', name);
      if (t.to === 'down') this.incidents.start('node-down', name, t.since, at, true);
      const msg = messages.nodeFlapping(target, incident.since, w.changes.length, this.config.flapWindowMs, t.to, w.lastLatencyMs);
      out.alerts.push(this.alert('node-flapping', 'firing', target, incident, incident.since, at, msg, { changes: w.changes.length, windowSeconds: this.config.flapWindowMs / 1000, state: t.to }));
      return;
    }
    if (flapping) {
      // Changes while flapping are tracked silently; one notification when it has been stable a whole window.
      if (t?.to === 'down') this.incidents.start('node-down', name, t.since, at, true);
      if (t?.to === 'up') this.incidents.end('node-down', name);
      if (w.changes.length === 0) {
        this.incidents.end('node-flapping', name);
        const down = this.incidents.get('node-down', name);
        if (down) {
          down.suppressed = false;
          down.lastNotifiedAt = at;
        }
        const state = w.tracker.state;
        const msg = messages.nodeStable(target, state, w.tracker.stateSince ?? at, flapping.since, at, this.ctx);
        out.alerts.push(this.alert('node-flapping', 'resolved', target, flapping, flapping.since, at, msg, { state, stateSince: iso(w.tracker.stateSince) }, (at - flapping.since) / 1000));
      }
      return;
    }
    if (t?.to === 'down') {
      const incident = this.incidents.start('node-down', name, t.since, at);
      if (incident) {
        const msg = messages.nodeDown(target, t.since, w.tracker.failures, w.tracker.lastError, this.ctx);
        out.alerts.push(this.alert('node-down', 'firing', target, incident, t.since, at, msg, { failedChecks: w.tracker.failures, lastError: w.tracker.lastError }));
      }
    } else if (t?.to === 'up' && t.from === 'down') {
      const incident = this.incidents.end('node-down', name);
      if (incident) {
        const msg = messages.nodeRecovered(target, incident.since, t.since, this.ctx);
        const outageSeconds = (t.since - incident.since) / 1000;
        out.alerts.push(this.alert('node-down', 'resolved', target, incident, incident.since, at, msg, { outageSeconds, recoveredAt: iso(t.since) }, outageSeconds));
      }
    }
  }

  private checkAllDown(at: number, out: Detection): void {
    const watches = [...this.nodes.values()];
    const target: AlertTarget = { name: 'cluster', kind: 'cluster', url: null, role: null };
    if (watches.length > 0 && watches.every((w) => w.tracker.state === 'down')) {
      const since = Math.max(...watches.map((w) => w.tracker.stateSince ?? at));
      const incident = this.incidents.start('all-nodes-down', 'cluster', since, at);
      if (incident) out.alerts.push(this.alert('all-nodes-down', 'firing', target, incident, since, at, messages.allDown(watches.length, since), { nodes: watches.map((w) => w.config.name) }));
      return;
    }
    const up = watches.filter((w) => w.tracker.state === 'up');
    if (up.length === 0) return;
    const incident = this.incidents.end('all-nodes-down', 'cluster');
    if (!incident) return;
    const until = Math.min(...up.map((w) => w.tracker.stateSince ?? at));
    const msg = messages.allRecovered(up.map((w) => w.config.name), incident.since, until);
    out.alerts.push(this.alert('all-nodes-down', 'resolved', target, incident, incident.since, at, msg, { up: up.map((w) => w.config.name) }, (until - incident.since) / 1000));
  }

  private observeGateway(probe: GatewayProbe, at: number, out: Detection): void {
    const tracker = this.gatewayTracker;
    const t = tracker.observe(probe.ok, at, probe.ok ? null : probe.error);
    if (t) out.stateChanges.push({ at, target: 'gateway', fromState: t.from, toState: t.to, since: t.since, reason: t.reason });
    const target = this.gatewayTarget();
    if (t?.to === 'down') {
      const incident = this.incidents.start('gateway-unreachable', 'gateway', t.since, at);
      if (incident) {
        const msg = messages.gatewayUnreachable(target, t.since, tracker.failures, tracker.lastError, false, at);
        out.alerts.push(this.alert('gateway-unreachable', 'firing', target, incident, t.since, at, msg, { failedChecks: tracker.failures, lastError: tracker.lastError }));
      }
    } else if (t?.to === 'up' && t.from === 'down') {
      const incident = this.incidents.end('gateway-unreachable', 'gateway');
      if (incident) {
        const msg = messages.gatewayReachable(target, incident.since, t.since);
        out.alerts.push(this.alert('gateway-unreachable', 'resolved', target, incident, incident.since, at, msg, {}, (t.since - incident.since) / 1000));
      }
    }
  }

  private checkFailovers(status: GatewayStatusView, at: number, out: Detection): void {
    const count = status.failovers.count;
    const baseline = this.failoverBaseline;
    this.failoverBaseline = count;
    // The first /status seen (or a gateway that lost its history) sets the baseline without notifying.
    if (baseline === null || count <= baseline) return;
    const last = status.failovers.last;
    if (!last) return;
    const promoted = this.statusNodes.get(last.to);
    const target: AlertTarget = { name: last.to, kind: 'node', url: promoted?.url ?? null, role: 'primary' };
    const details = { from: last.from, to: last.to, reason: last.reason, failoverKind: last.kind, failoversTotal: count, changesSinceLastCheck: count - baseline };
    if (last.kind === 'switchover') {
      out.alerts.push(this.alert('switchover', 'notice', target, null, last.at, at, messages.switchover(last.from, last.to, last.reason, last.at, last.writePauseMs), { ...details, writePauseMs: last.writePauseMs ?? null }));
      return;
    }
    const old = last.from ? this.statusNodes.get(last.from) : undefined;
    const markedDown = old && old.health === 'down' ? Date.parse(old.healthSince) : NaN;
    const pausedMs = Number.isFinite(markedDown) && last.at >= markedDown ? last.at - markedDown : null;
    const msg = messages.failover(last.from, last.to, last.reason, last.at, pausedMs, count - baseline, status.log.pendingWrites, this.ctx);
    out.alerts.push(this.alert('failover', 'notice', target, null, last.at, at, msg, { ...details, writesPausedMs: pausedMs, pendingWrites: status.log.pendingWrites }));
  }

  /** One notice per node added or removed at run time, as /status lists them. */
  private checkMembership(status: GatewayStatusView, at: number, out: Detection): void {
    const changes = status.membership?.changes ?? [];
    const key = (c: (typeof changes)[number]) => `${c.at}|${c.action}|${c.node}`;
    const seen = this.seenMemberChanges;
    this.seenMemberChanges = new Set(changes.map(key));
    if (seen === null) return;
    for (const c of changes) {
      if (seen.has(key(c))) continue;
      const since = Date.parse(c.at);
      const target: AlertTarget = { name: c.node, kind: 'node', url: c.url, role: c.action === 'added' ? 'replica' : null };
      out.alerts.push(this.alert('node-membership', 'notice', target, null, since, at, messages.membership(c.action, c.node, c.url, since, this.ctx), { action: c.action }));
    }
  }

  private checkReplication(s: StatusNode, at: number, out: Detection): void {
    const target: AlertTarget = { name: s.name, kind: 'node', url: s.url, role: s.role };
    if (s.syncState === 'diverged') {
      const incident = this.incidents.start('node-diverged', s.name, at, at);
      if (incident) out.alerts.push(this.alert('node-diverged', 'firing', target, incident, at, at, messages.diverged(target, s.divergedReason, at, false, at), { reason: s.divergedReason, appliedPosition: s.appliedPosition }));
    } else {
      const incident = this.incidents.end('node-diverged', s.name);
      if (incident) out.alerts.push(this.alert('node-diverged', 'resolved', target, incident, incident.since, at, messages.repaired(target, incident.since, at), {}, (at - incident.since) / 1000));
    }

    // Lag is judged only for a healthy replica following the log: a down node has its own alert, a primary
    // cannot lag, and a node being refilled by copy (or paused for a repair, or having its identity checked)
    // is not following the log yet: its position is meaningless until the copy ends, and /status shows its progress.
    const open = this.incidents.get('replica-lag', s.name);
    const judged = s.role !== 'primary' && s.health === 'up' && (s.syncState === 'in-sync' || s.syncState === 'syncing');
    if (open) open.suppressed = !judged;
    if (!judged) return;
    let tracker = this.lagTrackers.get(s.name);
    if (!tracker) this.lagTrackers.set(s.name, (tracker = new StateTracker(this.config.failureThreshold, this.config.recoveryThreshold)));
    const over = s.lagEntries > this.config.lagThresholdEntries || s.lagSeconds > this.config.lagThresholdSeconds;
    const t = tracker.observe(!over, at, over ? `${s.lagEntries} entries, ${s.lagSeconds} s behind` : null);
    const lag = { lagEntries: s.lagEntries, lagSeconds: s.lagSeconds };
    if (t?.to === 'down') {
      const incident = this.incidents.start('replica-lag', s.name, t.since, at);
      if (incident) out.alerts.push(this.alert('replica-lag', 'firing', target, incident, t.since, at, messages.lag(target, s.lagEntries, s.lagSeconds, t.since, this.lagLimits, false, at), lag));
    } else if (t?.to === 'up' && t.from === 'down') {
      const incident = this.incidents.end('replica-lag', s.name);
      if (incident) out.alerts.push(this.alert('replica-lag', 'resolved', target, incident, incident.since, at, messages.caughtUp(target, incident.since, t.since), lag, (t.since - incident.since) / 1000));
    }
  }

  private remind(at: number, out: Detection): void {
    for (const incident of this.incidents.takeDueReminders(at, this.config.reminderIntervalMs)) {
      const reminder = this.reminder(incident, at);
      out.alerts.push(this.alert(incident.kind, 'reminder', reminder.target, incident, incident.since, at, reminder.message, reminder.details, (at - incident.since) / 1000));
    }
  }

  private reminder(i: Incident, at: number): { target: AlertTarget; message: Message; details: Record<string, unknown> } {
    const w = this.nodes.get(i.subject);
    const s = this.statusNodes.get(i.subject);
    switch (i.kind) {
      case 'node-down': {
        const target = this.nodeTarget(w!);
        return { target, message: messages.nodeStillDown(target, i.since, at, w!.tracker.lastError, this.ctx), details: { lastError: w!.tracker.lastError } };
      }
      case 'node-flapping': {
        const target = this.nodeTarget(w!);
        return { target, message: messages.nodeFlapping(target, i.since, w!.changes.length, this.config.flapWindowMs, w!.tracker.state, w!.lastLatencyMs), details: { changes: w!.changes.length, state: w!.tracker.state } };
      }
      case 'all-nodes-down':
        return { target: { name: 'cluster', kind: 'cluster', url: null, role: null }, message: messages.allDown(this.nodes.size, i.since), details: {} };
      case 'gateway-unreachable': {
        const target = this.gatewayTarget();
        const tr = this.gatewayTracker;
        return { target, message: messages.gatewayUnreachable(target, i.since, tr.failures, tr.lastError, true, at), details: { lastError: tr.lastError } };
      }
      case 'replica-lag': {
        const target: AlertTarget = { name: i.subject, kind: 'node', url: s?.url ?? null, role: s?.role ?? null };
        const lag = { lagEntries: s?.lagEntries ?? 0, lagSeconds: s?.lagSeconds ?? 0 };
        return { target, message: messages.lag(target, lag.lagEntries, lag.lagSeconds, i.since, this.lagLimits, true, at), details: lag };
      }
      default: {
        const target: AlertTarget = { name: i.subject, kind: 'node', url: s?.url ?? null, role: s?.role ?? null };
        return { target, message: messages.diverged(target, s?.divergedReason ?? null, i.since, true, at), details: { reason: s?.divergedReason ?? null } };
      }
    }
  }

  private learn(status: GatewayStatusView): void {
    this.statusNodes.clear();
    for (const s of status.nodes) this.statusNodes.set(s.name, s);
    for (const w of this.nodes.values()) w.role = statusNodeFor(status, w.config)?.role ?? w.role;
  }

  private watch(config: NodeConfig): NodeWatch {
    let w = this.nodes.get(config.name);
    if (!w) {
      w = {
        config,
        url: redactUrl(config.url),
        role: config.configuredRole,
        tracker: new StateTracker(this.config.failureThreshold, this.config.recoveryThreshold),
        changes: [],
        lastLatencyMs: null,
      };
      this.nodes.set(config.name, w);
    }
    return w;
  }

  private get lagLimits() {
    return { entries: this.config.lagThresholdEntries, seconds: this.config.lagThresholdSeconds };
  }

  private nodeTarget(w: NodeWatch): AlertTarget {
    return { name: w.config.name, kind: 'node', url: w.url, role: w.role };
  }

  private gatewayTarget(): AlertTarget {
    return { name: 'gateway', kind: 'gateway', url: this.gateway ? redactUrl(this.gateway.url) : null, role: null };
  }

  private alert(
    kind: AlertKind,
    status: AlertStatus,
    target: AlertTarget,
    incident: Incident | null,
    since: number,
    at: number,
    msg: Message,
    details: Record<string, unknown>,
    durationSeconds: number | null = null,
  ): Alert {
    return {
      id: randomUUID(),
      kind,
      status,
      severity: msg.severity,
      title: msg.title,
      summary: msg.summary,
      since,
      at,
      durationSeconds: durationSeconds === null ? null : Math.round(durationSeconds * 1000) / 1000,
      incident: incident ? { key: incident.key, id: incident.id } : null,
      target,
      details,
      checks: msg.checks,
      cluster: this.config.clusterName,
    };
  }
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
