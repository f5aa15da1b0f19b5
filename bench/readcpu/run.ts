// The gateway-CPU-per-read study (issue #10): one Chroma server with RECORDS × 384-d records, and in front
// of it the gateway (compiled CLI), HAProxy, and the proxy variants of bench/readcpu/variants.ts. Each
// system answers the same get of 10 ids at c=8 for SECONDS, rounds interleaved; prints CPU µs per answer
// of the system's own process (utime+stime from /proc). `npx tsx bench/readcpu/run.ts [SECONDS] [ROUNDS]`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COLLECTIONS, freePort, Harness, waitFor } from '../../tests/helpers/cluster.js';
import { haproxyBinary, startHaproxy } from '../lib/haproxy.js';
import { combine, interleave, runLoad } from '../lib/load.js';
import { benchOptions } from '../lib/options.js';
import { collectionId, gatewayEnv, load, must } from '../lib/systems.js';
import { getBody, rng } from '../lib/workload.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const seconds = Number(process.argv[2] ?? 4);
const rounds = Number(process.argv[3] ?? 2);
const records = Number(process.env.RECORDS ?? 10_000);
const modes = (process.env.MODES ?? 'stream,gather,stream-nagle,stream-pipe,local').split(',');
const harness = new Harness();
try {
  const chroma = await harness.chroma({ name: 'direct' });
  await must(chroma.url, 'POST', COLLECTIONS, { name: 'readcpu' });
  const id = await collectionId(chroma.url, 'readcpu');
  await load(chroma.url, id, { ...benchOptions([], {}), records, batch: 2_000 }, 1);
  const targets: Record<string, { url: string; pids: number[] }> = {};
  for (const mode of modes) {
    const port = await freePort();
    const p = harness.spawn(process.execPath, [...(process.env.VARIANT_FLAGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', join(ROOT, 'bench/readcpu/variants.ts'), mode, chroma.url, String(port)]);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`variant ${mode}`, async () => (await fetch(`${url}/api/v2/heartbeat`).catch(() => null))?.ok);
    targets[mode] = { url, pids: [p.process.pid!] };
  }
  const gw = await harness.gatewayProcess(gatewayEnv(harness, [chroma], 'gw'), undefined, process.env.GW_ARGS ? process.env.GW_ARGS.split(' ') : []);
  targets.gateway = { url: gw.url, pids: [gw.process.pid!] };
  const hap = await startHaproxy(harness, haproxyBinary(console.log), 'haproxy', [{ name: 'direct', url: chroma.url }]);
  targets.haproxy = { url: hap.url, pids: [hap.pid] };
  targets.direct = { url: chroma.url, pids: [] };
  const gwId = await collectionId(gw.url, 'readcpu');
  const ids = Array.from({ length: records }, (_, i) => `seed-${Math.floor(i / 2_000)}-${i % 2_000}`);
  const random = rng(7);
  const body = () => getBody(random, ids, 10);
  const path = (sys: string) => `${COLLECTIONS}/${sys === 'gateway' ? gwId : id}/get`;
  const names = Object.keys(targets);
  // ATTACH: a command run against each system's process during its rounds ({pid}, {sys}), stopped with SIGINT;
  // used with `strace -c -f -p {pid} -o /tmp/x-{sys}` (perf counters are not available in this container).
  const attach = process.env.ATTACH;
  const runs = await interleave(names, rounds, async (sys) => {
    const pid = targets[sys]!.pids[0];
    const tool = attach && pid ? spawn('sh', ['-c', attach.replaceAll('{pid}', String(pid)).replaceAll('{sys}', sys)], { stdio: 'inherit' }) : null;
    if (tool) await new Promise((r) => setTimeout(r, 300));
    const run = await runLoad({ baseUrl: targets[sys]!.url, concurrency: 8, seconds, request: { method: 'POST', path: path(sys), body }, pids: targets[sys]!.pids });
    if (tool) {
      tool.kill('SIGINT');
      await new Promise((r) => tool.once('exit', r));
    }
    return run;
  });
  const head = await fetch(`${chroma.url}${path('direct')}`, { method: 'POST', body: body().toString(), headers: { 'content-type': 'application/json' } });
  console.log('chroma answer headers', Object.fromEntries(head.headers), (await head.arrayBuffer()).byteLength, 'bytes');
  for (const sys of names) {
    const r = combine(runs.get(sys)!, sys !== 'direct');
    const stats = modes.includes(sys) ? await (await fetch(`${targets[sys]!.url}/__stats`)).text() : '';
    console.log(`${sys.padEnd(14)} ${r.requestsPerS.toFixed(0).padStart(6)} req/s  p50 ${r.p50Ms.toFixed(2)} ms  cpu ${r.cpuUsPerRequest?.toFixed(0) ?? '-'} µs/req  rss ${r.rssMiB?.toFixed(0) ?? '-'} MiB  err ${r.errors} ${stats}`);
  }
  console.log('load', (await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' '));
} finally {
  await harness.cleanup();
}
