// `npm run bench:verify`: what verify costs the clients. A primary and a replica (BENCH_VERIFY_RECORDS,
// default 10,000 × 384-d) behind a gateway process; closed-loop clients query through the gateway, and the
// p50/p95 of their reads is measured with no verify running, during a verify without a rate limit (one
// request at a time per node, pages of 100), and during one paced by VERIFY_RECORDS_PER_SECOND (the gateway
// restarted with it). The verify's own time and the CPU it costs the gateway and each node are the cost of
// one anti-entropy pass over identical nodes. Writes bench/results/verify.md; every process is stopped on the
// way out (the test harness's cleanup).
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { COLLECTIONS, Harness, PATIENT_PROBES, type GatewayChild } from '../tests/helpers/cluster.js';
import { waitStatusInSync } from '../tests/helpers/convergence.js';
import { cpuMicros } from './lib/procstat.js';
import { summarize } from './lib/load.js';
import { createCollection, post } from './lib/pair.js';
import { addBatch, queryBody, rng } from './lib/workload.js';

const RECORDS = Number(process.env.BENCH_VERIFY_RECORDS ?? 10_000);
const RATE = Number(process.env.BENCH_VERIFY_RATE ?? 2_000);
const CLIENTS = Number(process.env.BENCH_VERIFY_CLIENTS ?? 4);
const IDLE_SECONDS = 8;
const DIMENSIONS = 384;
const TOKEN = 'bench-admin-token-0123456789abcdef';
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Phase {
  phase: string;
  seconds: number;
  reads: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  verifySeconds: number | null;
  gatewayCpuS: number | null;
  nodeCpuS: number[] | null;
}

/** Closed-loop readers until `until` settles; latencies in ms. */
async function readers(url: string, id: string, until: Promise<unknown>, clients = CLIENTS): Promise<number[]> {
  const samples: number[] = [];
  let done = false;
  void until.finally(() => (done = true));
  const random = rng(5);
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (!done) {
        const t = performance.now();
        const r = await fetch(`${url}${COLLECTIONS}/${id}/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: queryBody(random, DIMENSIONS, 10).toString() });
        await r.arrayBuffer();
        if (r.status !== 200) throw new Error(`query answered ${r.status}`);
        samples.push(performance.now() - t);
      }
    }),
  );
  return samples;
}

async function phase(name: string, gw: GatewayChild, id: string, pids: number[], work: () => Promise<unknown>, clients = CLIENTS): Promise<Phase> {
  const cpu0 = [gw.process.pid!, ...pids].map(cpuMicros);
  const t0 = performance.now();
  let verifySeconds: number | null = null;
  const running = work().then((v) => {
    verifySeconds = (performance.now() - t0) / 1000;
    return v;
  });
  const samples = await readers(gw.url, id, running, clients);
  await running;
  const cpu = [gw.process.pid!, ...pids].map((pid, i) => (cpuMicros(pid) - cpu0[i]!) / 1e6);
  const s = summarize(samples);
  const row: Phase = {
    phase: name,
    seconds: (performance.now() - t0) / 1000,
    reads: samples.length,
    ...s,
    verifySeconds: name === 'no verify' ? null : verifySeconds,
    gatewayCpuS: cpu[0]!,
    nodeCpuS: cpu.slice(1),
  };
  log(`  ${name}: ${row.reads} reads, p50 ${s.p50Ms.toFixed(1)} ms, p95 ${s.p95Ms.toFixed(1)} ms${row.verifySeconds ? `, verify ${row.verifySeconds.toFixed(1)} s` : ''}`);
  return row;
}

async function verify(url: string): Promise<void> {
  const r = await fetch(`${url}/admin/verify`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  const body = (await r.json()) as { identical: boolean };
  if (r.status !== 200 || !body.identical) throw new Error(`verify answered ${r.status}: ${JSON.stringify(body).slice(0, 300)}`);
}

async function main(): Promise<void> {
  const h = new Harness();
  const stop = () => void h.cleanup().finally(() => process.exit(130));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const load0 = loadavg()[0]!;
    const nodes = await h.chromaCluster(2);
    const env = (extra: Record<string, string>) =>
      h.gatewayEnv(nodes, { ...PATIENT_PROBES, ADMIN_TOKEN: TOKEN, DATA_DIR: join(h.dir, 'gw'), WRITE_TIMEOUT: '60', REQUEST_TIMEOUT: '60', LOG_LEVEL: 'warn', ...extra });
    let gw = await h.gatewayProcess(env({}));
    await waitStatusInSync(gw.url);
    const id = await createCollection(gw.url, 'bench-verify');
    const random = rng(11);
    for (let written = 0, i = 0; written < RECORDS; i++) {
      const n = Math.min(500, RECORDS - written);
      await post(gw.url, `${COLLECTIONS}/${id}/add`, addBatch(random, `v-${i}`, n, DIMENSIONS, 'base64').body);
      written += n;
    }
    await waitStatusInSync(gw.url, 300_000);
    const pids = nodes.map((n) => n.pid!);
    log(`${RECORDS} records of ${DIMENSIONS} dimensions on 2 nodes; ${CLIENTS} clients querying; load ${load0.toFixed(2)}`);
    const rows: Phase[] = [];
    rows.push(await phase('no verify', gw, id, pids, () => new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000))));
    rows.push(await phase('verify, no rate limit', gw, id, pids, () => verify(gw.url)));
    // The cost of one anti-entropy pass over identical nodes: the same verify with no client load.
    rows.push(await phase('verify alone, no clients', gw, id, pids, () => verify(gw.url), 0));
    await gw.terminate();
    gw = await h.gatewayProcess(env({ VERIFY_RECORDS_PER_SECOND: String(RATE) }));
    await waitStatusInSync(gw.url);
    rows.push(await phase(`verify, ${RATE} records/s`, gw, id, pids, () => verify(gw.url)));
    const load1 = loadavg()[0]!;
    const md = [
      `# Verify under client load (${new Date().toISOString()})`,
      '',
      `${RECORDS} records × ${DIMENSIONS}-d in one collection on a primary and a replica behind a gateway process; ${CLIENTS} closed-loop clients send top-10 queries through the gateway. Load average ${load0.toFixed(2)} at start, ${load1.toFixed(2)} at end (2 cores, shared).`,
      '',
      '| phase | reads | p50 ms | p95 ms | p99 ms | verify s | gateway CPU s | node CPU s (primary, replica) |',
      '|---|---|---|---|---|---|---|---|',
      ...rows.map(
        (r) =>
          `| ${r.phase} | ${r.reads} | ${r.reads ? r.p50Ms.toFixed(1) : '–'} | ${r.reads ? r.p95Ms.toFixed(1) : '–'} | ${r.reads ? r.p99Ms.toFixed(1) : '–'} | ${r.verifySeconds?.toFixed(1) ?? '–'} | ${r.gatewayCpuS?.toFixed(2)} | ${r.nodeCpuS?.map((c) => c.toFixed(2)).join(', ')} |`,
      ),
      '',
    ].join('\n');
    process.stdout.write(md);
    writeFileSync(join(fileURLToPath(new URL('./results', import.meta.url)), 'verify.md'), md);
    writeFileSync(join(fileURLToPath(new URL('./results', import.meta.url)), 'verify.json'), JSON.stringify({ records: RECORDS, rate: RATE, clients: CLIENTS, load0, load1, rows }, null, 2));
  } finally {
    await h.cleanup();
  }
}

void main().catch((err) => {
  log(`bench:verify failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
