// `chroma-ha failover-test`: the guide's manual failover test as one command. Against a running gateway it
// checks /status, writes a probe collection, keeps writing and reading through it while the primary is
// stopped (by --kill-cmd or by the operator) and brought back, then verifies that no acknowledged write
// was lost, that the old primary rejoined in sync, and removes the probe data.
import { GatewayClient, TargetError, type GatewayStatus, type NodeStatus } from './gateway-client.js';
import { runHook, type HookTarget } from './hooks.js';
import { ProbeWorkload, sleep } from './workload.js';
import { medianGap, summarizeReads, summarizeWrites, writePause, type Check, type FailoverReport } from './report.js';

export interface FailoverTestOptions {
  url: string;
  /** Shell command that stops the primary (FAILOVER_TEST_NODE_NAME/_URL name it). */
  killCmd?: string;
  /** Shell command that brings the old primary back; without it the node must come back by itself or by hand. */
  restartCmd?: string;
  /** Ask the operator to stop / bring back the primary (e.g. suspend and resume it in the Render dashboard). */
  waitForManual: boolean;
  /** Sent with every request (auth headers for nodes that need them). */
  headers: Record<string, string>;
  failoverTimeoutMs: number;
  rejoinTimeoutMs: number;
  hookTimeoutMs: number;
  requestTimeoutMs: number;
  writeIntervalMs: number;
  readIntervalMs: number;
  /** Acknowledged writes before the primary is stopped, and after each step. */
  writesPerPhase: number;
  maxWriteErrors: number;
  maxReadErrors: number;
  /** Progress lines (the timeline), as they happen. */
  log: (line: string) => void;
}

const POLL_MS = 100;
const ID_CHUNK = 100;

export async function runFailoverTest(o: FailoverTestOptions): Promise<FailoverReport> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const timeline: FailoverReport['timeline'] = [];
  const note = (event: string) => {
    timeline.push({ atMs: Math.round(now()), event });
    o.log(`[${(now() / 1000).toFixed(2).padStart(7)} s] ${event}`);
  };
  const client = new GatewayClient(o.url, o.headers, o.requestTimeoutMs);
  const before = await client.status();
  const oldPrimary = preflight(before);
  const target: HookTarget = { name: oldPrimary.name, url: oldPrimary.url };
  note(`gateway ${client.baseUrl}: chroma-ha ${before.version}, ${before.nodes.length} nodes up, primary ${oldPrimary.name} (${oldPrimary.url})`);

  const probeCollection = `chroma-ha-failover-probe-${Date.now().toString(36)}`;
  const collectionId = await client.createCollection(probeCollection);
  note(`probe collection ${probeCollection} created`);
  const workload = new ProbeWorkload(client, collectionId, { writeIntervalMs: o.writeIntervalMs, readIntervalMs: o.readIntervalMs, now });
  workload.start();

  const waitStatus = (what: string, timeoutMs: number, ok: (s: GatewayStatus) => boolean) => pollStatus(client, what, timeoutMs, ok);
  const waitWrites = async (what: string, sinceMs: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (workload.ackedSince(sinceMs) < o.writesPerPhase) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${o.writesPerPhase} acknowledged writes ${what}`);
      await sleep(POLL_MS);
    }
  };

  let failure: string | null = null;
  let killAt: number | null = null;
  let restartAt: number | null = null;
  let failoverMs: number | null = null;
  let rejoinMs: number | null = null;
  let newPrimary: string | null = null;
  let restarted = false;
  let writesOnNewPrimary = false;
  try {
    await waitWrites('before the failover', 0, o.failoverTimeoutMs);
    killAt = now();
    if (o.killCmd) {
      note(`stopping the primary: ${o.killCmd}`);
      await hook('kill', o.killCmd);
    } else {
      note(`ACTION: stop the primary ${oldPrimary.name} (${oldPrimary.url}) now, e.g. suspend chroma-primary in the Render dashboard. Waiting up to ${o.failoverTimeoutMs / 1000} s for the gateway to fail over.`);
    }
    // A failover counted since the start also covers one that failed back before this poll saw it.
    const failedOver = await waitStatus(
      'the gateway to promote another node',
      o.failoverTimeoutMs,
      (s) => s.primary !== oldPrimary.name || s.failovers.count > before.failovers.count,
    );
    failoverMs = now() - killAt;
    newPrimary = failedOver.primary !== oldPrimary.name ? failedOver.primary : (failedOver.failovers.last?.from ?? 'another node');
    note(`failover: ${newPrimary} is primary`);
    await waitWrites('on the new primary', now(), o.failoverTimeoutMs);
    writesOnNewPrimary = true;
    note(`${o.writesPerPhase} writes acknowledged on the new primary`);

    restartAt = now();
    if (o.restartCmd) {
      note(`bringing the old primary back: ${o.restartCmd}`);
      restarted = true;
      await hook('restart', o.restartCmd);
    } else if (o.waitForManual) {
      note(`ACTION: bring ${oldPrimary.name} back now (Render: Resume Service). Waiting up to ${o.rejoinTimeoutMs / 1000} s for it to rejoin.`);
    } else {
      note(`no --restart-cmd: waiting up to ${o.rejoinTimeoutMs / 1000} s for ${oldPrimary.name} to come back by itself`);
    }
    await waitStatus(`${oldPrimary.name} to rejoin (up and in sync)`, o.rejoinTimeoutMs, (s) => {
      const n = s.nodes.find((x) => x.name === oldPrimary.name);
      return n?.health === 'up' && n.syncState === 'in-sync';
    });
    rejoinMs = now() - restartAt;
    note(`${oldPrimary.name} rejoined: up and in sync`);
    await waitWrites('after the rejoin', now(), o.failoverTimeoutMs);
  } catch (err) {
    failure = (err as Error).message;
    note(`FAILED: ${failure}`);
  }
  const trafficEnd = now();
  await workload.stop();
  if (o.restartCmd && killAt !== null && !restarted) {
    note(`bringing the old primary back after the failure: ${o.restartCmd}`);
    await hook('restart', o.restartCmd).catch((err: Error) => note(`restart hook failed: ${err.message}`));
  }

  const settled = await waitStatus('every node to be up and in sync', Math.min(o.rejoinTimeoutMs, 60_000), (s) =>
    s.nodes.every((n) => n.health === 'up' && n.syncState === 'in-sync' && n.lagEntries === 0),
  ).catch(() => null);
  const writes = workload.writes;
  const acked = [...workload.ackedIds];
  const rejected = writes.filter((w) => w.outcome === 'rejected').map((w) => w.id);
  let readBack: string | null = null;
  const present = await presentIds(client, collectionId, [...acked, ...rejected]).catch((err: Error) => {
    readBack = err.message;
    return new Set<string>();
  });
  const lostWrites = readBack ? [] : acked.filter((id) => !present.has(id));
  const rejectedButApplied = rejected.filter((id) => present.has(id));
  const cleanup = await client.deleteCollection(probeCollection);
  note(cleanup.ok ? `probe collection ${probeCollection} deleted` : `could not delete probe collection ${probeCollection}`);

  const w = summarizeWrites(writes);
  const r = summarizeReads(workload.reads);
  const checks: Check[] = [
    { name: 'failover', ok: failoverMs !== null, detail: newPrimary ? `${newPrimary} took over from ${oldPrimary.name}` : 'no other node became primary' },
    {
      name: 'writes kept working',
      ok: w.rejected + w.unknown <= o.maxWriteErrors && writesOnNewPrimary,
      detail: `${w.rejected + w.unknown} failed writes (allowed ${o.maxWriteErrors})${writesOnNewPrimary ? '' : ', none acknowledged by a new primary'}`,
    },
    { name: 'reads kept working', ok: r.errors <= o.maxReadErrors, detail: `${r.errors} failed or stale reads (allowed ${o.maxReadErrors})` },
    {
      name: 'no acknowledged write lost',
      ok: readBack === null && lostWrites.length === 0 && acked.length > 0,
      detail: readBack ?? `${lostWrites.length} of ${acked.length} missing`,
    },
    { name: 'rejected writes not applied', ok: rejectedButApplied.length === 0, detail: `${rejectedButApplied.length} of ${rejected.length} present` },
    { name: 'old primary rejoined', ok: rejoinMs !== null, detail: rejoinMs !== null ? `${oldPrimary.name} up and in sync` : `${oldPrimary.name} did not rejoin` },
    { name: 'cluster in sync', ok: settled !== null, detail: settled ? 'every node up, in sync, no lag' : 'some node still down or behind' },
    { name: 'probe data removed', ok: cleanup.ok, detail: cleanup.ok ? probeCollection : `delete the collection ${probeCollection} by hand` },
  ];
  if (failure) checks.push({ name: 'run', ok: false, detail: failure });
  return {
    url: client.baseUrl,
    gatewayVersion: before.version,
    nodes: before.nodes.length,
    oldPrimary: oldPrimary.name,
    newPrimary,
    primaryAtEnd: settled?.primary ?? null,
    timeline,
    failoverMs: round(failoverMs),
    rejoinMs: round(rejoinMs),
    writePauseMs: killAt === null ? null : round(writePause(writes, killAt, trafficEnd)),
    normalWriteGapMs: round(medianGap(writes, killAt ?? trafficEnd)),
    writes: { ...w, maxLatencyMs: round(w.maxLatencyMs) },
    reads: { ...r, maxLatencyMs: round(r.maxLatencyMs) },
    lostWrites,
    rejectedButApplied,
    probeCollection,
    cleanedUp: cleanup.ok,
    checks,
    passed: checks.every((c) => c.ok),
  };

  async function hook(kind: 'kill' | 'restart', command: string): Promise<void> {
    const result = await runHook(command, target, o.hookTimeoutMs);
    const took = `${(result.durationMs / 1000).toFixed(2)} s`;
    if (result.timedOut) throw new Error(`the ${kind} command did not finish within ${o.hookTimeoutMs / 1000} s`);
    if (result.exitCode !== 0) throw new Error(`the ${kind} command exited with ${result.exitCode} after ${took}`);
    note(`${kind} command done in ${took}`);
  }
}

/** The primary to stop, once the cluster is fit for a failover test; otherwise a TargetError saying why not. */
function preflight(status: GatewayStatus): NodeStatus {
  const primary = status.nodes.find((n) => n.name === status.primary);
  if (!primary) throw new TargetError(`/status names primary ${status.primary}, which is not among its nodes`);
  if (status.nodes.length < 2) throw new TargetError('the gateway has a single node: a failover needs at least one replica');
  const notReady = status.nodes.filter((n) => n.health !== 'up' || n.syncState === 'diverged');
  if (notReady.length > 0) {
    throw new TargetError(
      `not every node is ready (${notReady.map((n) => `${n.name}: ${n.health}, ${n.syncState}`).join('; ')}): bring them up before a failover test`,
    );
  }
  return primary;
}

async function pollStatus(client: GatewayClient, what: string, timeoutMs: number, ok: (s: GatewayStatus) => boolean): Promise<GatewayStatus> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    try {
      const s = await client.status();
      if (ok(s)) return s;
    } catch (err) {
      lastError = ` (last /status error: ${(err as Error).message})`;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError}`);
    await sleep(POLL_MS);
  }
}

async function presentIds(client: GatewayClient, collectionId: string, ids: string[]): Promise<Set<string>> {
  const present = new Set<string>();
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const r = await client.get(collectionId, ids.slice(i, i + ID_CHUNK));
    if (!r.ok) throw new Error(`reading the probe records back failed: HTTP ${r.status ?? r.error}`);
    for (const id of r.ids ?? []) present.add(id);
  }
  return present;
}

const round = (ms: number | null) => (ms === null ? null : Math.round(ms));
