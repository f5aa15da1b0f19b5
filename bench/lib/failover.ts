// Failover comparison: kill -9 of the primary under a stream of reads and a stream of writes, through
// HAProxy (primary + `backup`, `inter 1s fall 3 rise 2`) and through the gateway (primary + replica, same
// health-check settings). Each client op resolves the collection by name and then reads or adds, as a
// client would after reconnecting. The killed primary is restarted part-way, as an operator would.
// Reported: failed reads and writes, the longest stall between successful answers, and acknowledged
// writes missing from the final primary (the node that serves writes at the end).
import { COLLECTIONS, http, waitFor, type Harness } from '../../tests/helpers/cluster.js';
import { startHaproxy } from './haproxy.js';
import type { BenchOptions } from './options.js';
import { collectionId, gatewayEnv, must } from './systems.js';
import { addBatch, rng } from './workload.js';

export interface FailoverResult {
  system: string;
  setup: string;
  reads: { ok: number; failed: number; longestStallMs: number };
  writes: { acknowledged: number; failed: number; longestStallMs: number };
  /** Acknowledged writes not on the final primary. */
  missingOnFinalPrimary: number;
  finalPrimary: string;
  /** Seconds from the kill until the first successful write after it. */
  writeRecoveryS: number | null;
}

const NAME = 'bench-failover';
const SEED = 50;


/** Kill after beforeKillMs, restart restartAfterMs later, stop the streams afterRestartMs after that. */
export function timing(options: BenchOptions) {
  return options.mode === 'quick' ? { beforeKillMs: 1_000, restartAfterMs: 5_000, afterRestartMs: 2_000 } : { beforeKillMs: 2_000, restartAfterMs: 7_000, afterRestartMs: 5_000 };
}

interface Stream {
  ok: number;
  failed: number;
  longestStallMs: number;
  acked: string[];
  firstOkAfter(t: number): number | null;
}

/** Runs one client op after another until `stop()`; an op that throws or answers non-2xx counts as failed. */
function stream(op: (i: number) => Promise<string | null>): { done: Promise<Stream>; stop: () => void } {
  let running = true;
  const result: Stream & { oks: number[] } = {
    ok: 0,
    failed: 0,
    longestStallMs: 0,
    acked: [],
    oks: [],
    firstOkAfter(t) {
      return this.oks.find((x) => x > t) ?? null;
    },
  };
  const done = (async () => {
    let lastOk = Date.now();
    for (let i = 0; running; i++) {
      try {
        const acked = await op(i);
        result.ok++;
        if (acked) result.acked.push(acked);
        const now = Date.now();
        result.longestStallMs = Math.max(result.longestStallMs, now - lastOk);
        result.oks.push(now);
        lastOk = now;
      } catch {
        result.failed++;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    result.longestStallMs = Math.max(result.longestStallMs, Date.now() - lastOk);
    return result;
  })();
  return { done, stop: () => (running = false) };
}

const timeout = { signal: () => AbortSignal.timeout(10_000) };

async function clientOps(url: string, options: BenchOptions, prefix: string) {
  const random = rng(99);
  const resolve = async () => {
    const r = await fetch(`${url}${COLLECTIONS}/${NAME}`, { signal: timeout.signal() });
    if (!r.ok) throw new Error(`get collection: ${r.status}`);
    return ((await r.json()) as { id: string }).id;
  };
  const read = async (i: number) => {
    const id = await resolve();
    const ids = [`seed-0-${i % SEED}`];
    const r = await fetch(`${url}${COLLECTIONS}/${id}/get`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ids }), signal: timeout.signal() });
    const body = (await r.json()) as { ids?: string[] };
    if (!r.ok || body.ids?.length !== 1) throw new Error(`get: ${r.status}`);
    return null;
  };
  const write = async (i: number) => {
    const id = await resolve();
    const { ids, body } = addBatch(random, `${prefix}-${i}`, 1, options.dimensions, options.encoding);
    const r = await fetch(`${url}${COLLECTIONS}/${id}/add`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.toString(), signal: timeout.signal() });
    await r.arrayBuffer();
    if (!r.ok) throw new Error(`add: ${r.status}`);
    return ids[0]!;
  };
  return { read, write };
}

/** How many of `ids` the node holds in the named collection. */
async function present(nodeUrl: string, ids: string[]): Promise<number> {
  const id = await collectionId(nodeUrl, NAME);
  let found = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const r = await must(nodeUrl, 'POST', `${COLLECTIONS}/${id}/get`, { ids: ids.slice(i, i + 500), include: [] });
    found += (r.ids as string[]).length;
  }
  return found;
}

async function seed(url: string, options: BenchOptions): Promise<void> {
  await must(url, 'POST', COLLECTIONS, { name: NAME });
  const id = await collectionId(url, NAME);
  await must(url, 'POST', `${COLLECTIONS}/${id}/add`, addBatch(rng(5), 'seed-0', SEED, options.dimensions, options.encoding).body.toString());
}

/** Streams through `url`, kills `primary` after a while, restarts it later, and collects what the clients saw. */
async function scenario(url: string, primary: { kill(): Promise<void>; spawn(): Promise<void> }, options: BenchOptions, prefix: string) {
  const TIMING = timing(options);
  const ops = await clientOps(url, options, prefix);
  const reads = stream(ops.read);
  const writes = stream(ops.write);
  await new Promise((r) => setTimeout(r, TIMING.beforeKillMs));
  const killedAt = Date.now();
  await primary.kill();
  await new Promise((r) => setTimeout(r, TIMING.restartAfterMs));
  await primary.spawn();
  await new Promise((r) => setTimeout(r, TIMING.afterRestartMs));
  reads.stop();
  writes.stop();
  const [r, w] = await Promise.all([reads.done, writes.done]);
  const firstWrite = w.firstOkAfter(killedAt);
  return { r, w, writeRecoveryS: firstWrite === null ? null : (firstWrite - killedAt) / 1000 };
}

export async function benchFailover(harness: Harness, haproxyBinary: string, options: BenchOptions, log: (line: string) => void): Promise<FailoverResult[]> {
  const results: FailoverResult[] = [];

  log('  failover through HAProxy (primary + backup)');
  const [a, b] = await Promise.all([harness.chroma({ name: 'ha-primary' }), harness.chroma({ name: 'ha-backup' })]);
  // HAProxy replicates nothing: the same collection and seed records are created on both nodes beforehand.
  await Promise.all([seed(a.url, options), seed(b.url, options)]);
  const proxy = await startHaproxy(harness, haproxyBinary, 'haproxy-failover', [
    { name: 'primary', url: a.url },
    { name: 'backup', url: b.url, backup: true },
  ]);
  const h = await scenario(proxy.url, a, options, 'haproxy');
  // Back up and healthy again (rise 2), HAProxy sends everything to the primary: that is where writes live now.
  await waitFor('the restarted primary to answer', async () => (await http(a.url, 'GET', '/api/v2/heartbeat')).status === 200);
  const hMissing = h.w.acked.length - (await present(a.url, h.w.acked));
  results.push({
    system: 'haproxy',
    setup: `HAProxy ${proxy.version}, primary + backup, inter 1s fall 3 rise 2`,
    reads: { ok: h.r.ok, failed: h.r.failed, longestStallMs: h.r.longestStallMs },
    writes: { acknowledged: h.w.acked.length, failed: h.w.failed, longestStallMs: h.w.longestStallMs },
    missingOnFinalPrimary: hMissing,
    finalPrimary: 'primary (HAProxy returns to it once it is up)',
    writeRecoveryS: h.writeRecoveryS,
  });
  await Promise.all([a.stop(1_000), b.stop(1_000)]);

  log('  failover through chroma-ha (primary + replica)');
  const [p, r] = await Promise.all([harness.chroma({ name: 'gw-primary' }), harness.chroma({ name: 'gw-replica' })]);
  const gateway = await harness.gatewayProcess(gatewayEnv(harness, [p, r], 'gateway-failover'));
  await seed(gateway.url, options);
  const g = await scenario(gateway.url, p, options, 'chroma-ha');
  const status = await must(gateway.url, 'GET', '/status');
  const finalPrimary = status.nodes.find((n: { name: string; role: string }) => n.role === 'primary');
  const node = [p, r].find((n) => new URL(finalPrimary.url).port === String(n.port))!;
  const gMissing = g.w.acked.length - (await present(node.url, g.w.acked));
  results.push({
    system: 'chroma-ha',
    setup: 'chroma-ha, primary + replica, CHECK_INTERVAL 1 s, FAILURE_THRESHOLD 3, RECOVERY_THRESHOLD 2',
    reads: { ok: g.r.ok, failed: g.r.failed, longestStallMs: g.r.longestStallMs },
    writes: { acknowledged: g.w.acked.length, failed: g.w.failed, longestStallMs: g.w.longestStallMs },
    missingOnFinalPrimary: gMissing,
    finalPrimary: `${finalPrimary.name} (${node === p ? 'the restarted old primary' : 'the promoted replica'})`,
    writeRecoveryS: g.writeRecoveryS,
  });
  await gateway.terminate();
  await Promise.all([p.stop(1_000), r.stop(1_000)]);
  for (const x of results) {
    log(
      `  ${x.system}: reads ${x.reads.failed} failed / ${x.reads.ok} ok, longest read stall ${x.reads.longestStallMs} ms; ` +
        `writes ${x.writes.failed} failed / ${x.writes.acknowledged} acknowledged, ${x.missingOnFinalPrimary} missing on the final primary`,
    );
  }
  return results;
}
