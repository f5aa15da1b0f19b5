// The words of every notification: for each kind and status, its severity, a one-line title, a summary
// that says what happened and since when, and what to check. Kept apart so the rules stay readable.
import { formatDuration, isoTime, type AlertTarget, type Severity } from '../notify/alert.js';

export interface Message {
  severity: Severity;
  title: string;
  summary: string;
  checks: string[];
}

/** Where the operator can look next: the gateway's /status when a gateway is watched. */
export interface MessageContext {
  statusUrl: string | null;
}

const statusHint = (ctx: MessageContext, what: string) =>
  ctx.statusUrl ? `${what}: ${ctx.statusUrl}` : `${what}: the gateway's /status (set LOAD_BALANCER_URL so the monitor watches it too)`;

function nodeDownChecks(t: AlertTarget, ctx: MessageContext): string[] {
  return [
    `Is the Chroma process of ${t.name} running? Its service logs, restarts and memory (an out-of-memory kill looks like this)`,
    `From the gateway's network: curl ${t.url}/api/v2/heartbeat`,
    `Disk space and the data volume of ${t.name} (a full or missing disk stops Chroma)`,
    statusHint(ctx, 'Roles, lag and whether a failover happened'),
  ];
}

export const messages = {
  nodeDown(t: AlertTarget, since: number, failures: number, error: string | null, ctx: MessageContext): Message {
    const isPrimary = t.role === 'primary';
    return {
      severity: isPrimary ? 'critical' : 'warning',
      title: `Node down: ${t.name}`,
      summary:
        `${t.name} (${t.url}) has failed ${failures} health checks in a row since ${isoTime(since)}. Last error: ${error ?? 'unknown'}. ` +
        (isPrimary
          ? 'It is still the primary: writes wait until it returns or a replica is promoted.'
          : 'The gateway serves from the other nodes meanwhile and replays missed writes when it returns.'),
      checks: nodeDownChecks(t, ctx),
    };
  },

  nodeStillDown(t: AlertTarget, since: number, at: number, error: string | null, ctx: MessageContext): Message {
    return {
      severity: t.role === 'primary' ? 'critical' : 'warning',
      title: `Still down: ${t.name} (${formatDuration((at - since) / 1000)})`,
      summary: `${t.name} (${t.url}) has been down for ${formatDuration((at - since) / 1000)}, since ${isoTime(since)}. Last error: ${error ?? 'unknown'}.`,
      checks: nodeDownChecks(t, ctx),
    };
  },

  nodeRecovered(t: AlertTarget, since: number, until: number, ctx: MessageContext): Message {
    const lasted = formatDuration((until - since) / 1000);
    return {
      severity: 'info',
      title: `Recovered: ${t.name} (down for ${lasted})`,
      summary: `${t.name} (${t.url}) answers its heartbeat again after an outage of ${lasted}, from ${isoTime(since)} to ${isoTime(until)}. The gateway replays the writes it missed before it serves reads or takes a role back.`,
      checks: [statusHint(ctx, `Watch ${t.name} until it is in-sync`), `The cause of the outage in the logs of ${t.name}, before it happens again`],
    };
  },

  nodeFlapping(t: AlertTarget, since: number, changes: number, windowMs: number, state: string, latencyMs: number | null): Message {
    const window = formatDuration(windowMs / 1000);
    return {
      severity: 'warning',
      title: `Flapping: ${t.name} (${changes} up/down changes in ${window})`,
      summary: `${t.name} (${t.url}) has been flapping since ${isoTime(since)}: ${changes} changes between up and down within ${window}; it is ${state} now. Notifications for ${t.name} are paused until it has been stable for ${window}.`,
      checks: [
        `Restarts of ${t.name}: out-of-memory kills or a crash loop in its logs`,
        `Its latency (${latencyMs === null ? 'no answer' : `${latencyMs} ms`} at the last check) against CHECK_TIMEOUT: a timeout that is too tight flaps a slow node`,
        `The network between the monitor and ${t.name}; a hosting plan that sleeps idle services`,
      ],
    };
  },

  nodeStable(t: AlertTarget, state: string, stateSince: number, flappingSince: number, at: number, ctx: MessageContext): Message {
    const down = state === 'down';
    return {
      severity: down ? 'warning' : 'info',
      title: down ? `Stopped flapping, down: ${t.name}` : `Stable again: ${t.name}`,
      summary: `${t.name} (${t.url}) has kept one state for a full flapping window: it is ${state} since ${isoTime(stateSince)}. It flapped for ${formatDuration((at - flappingSince) / 1000)}.${down ? ' Its outage is now reported like any other (reminders, then recovered).' : ''}`,
      checks: down ? nodeDownChecks(t, ctx) : [`The cause of the flapping in the logs of ${t.name}, before it comes back`],
    };
  },

  allDown(nodes: number, since: number): Message {
    return {
      severity: 'critical',
      title: `All ${nodes} Chroma nodes are down`,
      summary: `No Chroma node has answered its heartbeat since ${isoTime(since)}: every request through the gateway fails until one returns.`,
      checks: [
        'The hosting platform\'s status page and events: a shared outage takes every node at once',
        'Each node\'s logs and restarts (out of memory, disk full)',
        'The network from the monitor to the nodes (a monitor cut off sees the same picture)',
      ],
    };
  },

  allRecovered(up: string[], since: number, until: number): Message {
    const lasted = formatDuration((until - since) / 1000);
    return {
      severity: 'info',
      title: `Service restored: ${up.join(', ')} up again (all down for ${lasted})`,
      summary: `${up.join(', ')} answer${up.length === 1 ? 's' : ''} again; no node had answered from ${isoTime(since)} to ${isoTime(until)} (${lasted}).`,
      checks: ['The nodes still down, and the cause of the outage'],
    };
  },

  gatewayUnreachable(t: AlertTarget, since: number, failures: number, error: string | null, still: boolean, at: number): Message {
    const going = formatDuration((at - since) / 1000);
    return {
      severity: 'critical',
      title: still ? `Gateway still unreachable (${going})` : 'Gateway unreachable',
      summary: `The gateway at ${t.url} has not answered /health ${still ? `for ${going}` : `in ${failures} checks in a row`}, since ${isoTime(since)}: clients cannot reach Chroma through it. Last error: ${error ?? 'unknown'}.`,
      checks: [
        'Is the gateway process running? Its logs and restarts',
        `curl ${t.url}/health from the clients' network`,
        'Its port and the platform\'s routing, DNS and TLS in front of it',
      ],
    };
  },

  gatewayReachable(t: AlertTarget, since: number, until: number): Message {
    const lasted = formatDuration((until - since) / 1000);
    return {
      severity: 'info',
      title: `Gateway reachable again (unreachable for ${lasted})`,
      summary: `The gateway at ${t.url} answers /health again; it was unreachable from ${isoTime(since)} to ${isoTime(until)} (${lasted}).`,
      checks: ['The gateway\'s logs for why it stopped answering'],
    };
  },

  failover(from: string | null, to: string, reason: string, at: number, pausedMs: number | null, count: number, pending: number, ctx: MessageContext): Message {
    const paused =
      pausedMs === null
        ? 'How long writes waited is not known (the old primary was not seen down by the gateway).'
        : `Writes waited about ${formatDuration(pausedMs / 1000)}${pausedMs < 1000 ? ` (${Math.round(pausedMs)} ms)` : ''} between the gateway marking ${from} down and the promotion.`;
    return {
      severity: 'warning',
      title: `Failover: ${to} is now primary${from ? ` (was ${from})` : ''}`,
      summary:
        `The gateway promoted ${to} at ${isoTime(at)} because ${reason}. ${paused}` +
        (count > 1 ? ` ${count} role changes happened since the previous check; this is the latest.` : '') +
        (pending > 0 ? ` ${pending} write(s) are waiting right now.` : ''),
      checks: [
        `Why ${from ?? 'the old primary'} failed: its logs and the node-down notification`,
        `${to} takes every write now: its disk, memory and latency`,
        `${from ?? 'The old primary'} takes its role back by itself once it holds every write (higher priority)`,
        statusHint(ctx, 'Roles and lag'),
      ],
    };
  },

  /** A node an operator added or removed at run time (POST / DELETE /admin/nodes). */
  membership(action: 'added' | 'removed', node: string, url: string, at: number, ctx: MessageContext): Message {
    return action === 'added'
      ? {
          severity: 'info',
          title: `Node added: ${node}`,
          summary: `${node} (${url}) joined the cluster at ${isoTime(at)}. It is checked and filled by copy before it serves reads.`,
          checks: [statusHint(ctx, `Watch ${node} until it is in-sync (copy progress, sync state)`)],
        }
      : {
          severity: 'info',
          title: `Node removed: ${node}`,
          summary: `${node} (${url}) left the cluster at ${isoTime(at)}: it gets no more reads or writes. Its data stays on the node.`,
          checks: ['Nothing, if an operator removed it on purpose; otherwise who has the admin token'],
        };
  },

  /** writePauseMs is set for a planned switchover an operator asked for (none for an automatic failback). */
  switchover(from: string | null, to: string, reason: string, at: number, writePauseMs?: number): Message {
    const planned = writePauseMs !== undefined;
    return {
      severity: 'info',
      title: planned ? `Planned switchover: ${to} is primary${from ? ` (was ${from})` : ''}` : `Switchover: ${to} is primary again${from ? ` (was ${from})` : ''}`,
      summary: `The gateway handed the primary role to ${to} at ${isoTime(at)}: ${reason}.${planned ? ` New writes were held ${writePauseMs} ms.` : ''}`,
      checks: ['Nothing, unless role changes repeat: then look for a flapping node'],
    };
  },

  lag(t: AlertTarget, entries: number, seconds: number, since: number, limits: { entries: number; seconds: number }, still: boolean, at: number): Message {
    return {
      severity: 'warning',
      title: `${still ? 'Still lagging' : 'Replica lagging'}: ${t.name} (${entries} entries, ${seconds} s behind)`,
      summary: `${t.name} (${t.url}) has been more than ${limits.entries} entries or ${limits.seconds} s behind the primary since ${isoTime(since)}${still ? ` (${formatDuration((at - since) / 1000)})` : ''}: now ${entries} entries, oldest unapplied write ${seconds} s old. Reads that need recent writes go to other nodes meanwhile.`,
      checks: [
        `CPU, memory and disk I/O of ${t.name}`,
        'The gateway\'s logs for "replica could not apply entry"',
        `A burst of writes larger than ${t.name} can absorb`,
      ],
    };
  },

  caughtUp(t: AlertTarget, since: number, until: number): Message {
    return {
      severity: 'info',
      title: `Replica caught up: ${t.name}`,
      summary: `${t.name} (${t.url}) is back within the lag limits; it lagged from ${isoTime(since)} to ${isoTime(until)} (${formatDuration((until - since) / 1000)}).`,
      checks: ['Nothing, unless it keeps falling behind: then its resources against the write rate'],
    };
  },

  diverged(t: AlertTarget, reason: string | null, since: number, still: boolean, at: number): Message {
    return {
      severity: 'critical',
      title: `${still ? 'Still diverged' : 'Node diverged'}: ${t.name}`,
      summary: `${t.name} (${t.url}) stopped applying the replication log${still ? ` ${formatDuration((at - since) / 1000)} ago` : ''} (seen since ${isoTime(since)}): ${reason ?? 'no reason given'}. It serves no reads and cannot become primary until it is repaired.`,
      checks: [
        'The failing entry and the node\'s answer in the gateway\'s logs ("node diverged")',
        `Was ${t.name} changed directly, bypassing the gateway (a collection deleted or created on the node itself)?`,
        `Rebuild ${t.name} from the primary`,
      ],
    };
  },

  repaired(t: AlertTarget, since: number, until: number): Message {
    return {
      severity: 'info',
      title: `Node repaired: ${t.name}`,
      summary: `${t.name} (${t.url}) applies the replication log again; it was diverged from ${isoTime(since)} to ${isoTime(until)}.`,
      checks: [`Watch ${t.name} until it is in-sync`],
    };
  },
};
