// The systems under test, all fresh and started through the test harness (tests/helpers/cluster.ts):
// one Chroma server used directly, HAProxy and the plain Node proxy in front of it, the gateway in front of
// the same server (one node: what the gateway itself costs), and a second gateway over a primary and two
// replicas (read scaling and replicated writes). Gateways run as their own processes (the compiled CLI) so
// their CPU and memory can be read from /proc and capped with a cgroup. harness.cleanup() stops everything.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gatewaySettings } from '../../src/config/settings.js';
import type { Env } from '../../src/config/load.js';
import { COLLECTIONS, FAST_HEALTH, freePort, Harness, http, waitFor, ChromaProcess, type GatewayChild } from '../../tests/helpers/cluster.js';
import { haproxyBinary, startHaproxy, type Haproxy } from './haproxy.js';
import type { BenchOptions } from './options.js';
import { addBatch, rng } from './workload.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const READ_COLLECTION = 'bench-read';
export const WRITE_COLLECTION = 'bench-write';

/** The gateway's production health-check defaults (the harness's FAST_HEALTH is for tests), the same as HAProxy's below. */
export const DEFAULT_HEALTH: Record<string, string> = Object.fromEntries(
  Object.keys(FAST_HEALTH).map((k) => [k, (gatewaySettings[k as keyof typeof gatewaySettings] as { default?: string }).default!]),
);

export interface Target {
  url: string;
  /** Collection ids as this system's clients see them. */
  readId: string;
  writeId: string;
  /** The system's own processes (proxy or gateway), charged with CPU and memory; empty for direct Chroma. */
  pids: number[];
}

export interface Systems {
  harness: Harness;
  direct: ChromaProcess;
  /** Primary and two replicas behind gateway3. */
  trio: ChromaProcess[];
  haproxyVersion: string;
  /** direct, haproxy, plain-proxy, chroma-ha (one node), chroma-ha-3 (primary + 2 replicas). */
  targets: Record<'direct' | 'haproxy' | 'plain-proxy' | 'chroma-ha' | 'chroma-ha-3', Target>;
  gateway1: GatewayChild;
  gateway3: GatewayChild;
}

/** True when dist/ is missing or older than a file in src/: the gateway processes run the compiled CLI. */
function buildIsStale(): boolean {
  const built = join(ROOT, 'dist/cli/main.js');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const newer = (dir: string): boolean =>
    readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? newer(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs > builtAt));
  return newer(join(ROOT, 'src'));
}

/** Environment of a gateway child process over `nodes`, with its own store directory. */
export function gatewayEnv(harness: Harness, nodes: Array<{ url: string }>, name: string): Env {
  return harness.gatewayEnv(nodes, {
    ...DEFAULT_HEALTH,
    DATA_DIR: join(harness.dir, `${name}-store`),
    LOG_LEVEL: 'warn',
  });
}

/** Node flags of a gateway process: a CPU profile written on exit when BENCH_CPU_PROF is set. */
export function gatewayNodeArgs(name: string, options: BenchOptions): string[] {
  return options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
}

/** Answers of a small JSON call; throws with the answer on an unexpected status. */
export async function must(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const r = await http(base, method, path, body);
  if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${base}${path}: ${r.status} ${r.text.slice(0, 300)}`);
  return r.json;
}

export const collectionId = async (base: string, name: string): Promise<string> => (await must(base, 'GET', `${COLLECTIONS}/${name}`)).id;

/** Fills a collection with `records` records in adds of `batch`, two requests at a time. */
export async function load(base: string, id: string, options: BenchOptions, seed: number): Promise<void> {
  const random = rng(seed);
  const adds = Math.ceil(options.records / options.batch);
  let next = 0;
  const worker = async () => {
    while (next < adds) {
      const i = next++;
      const { body } = addBatch(random, `seed-${i}`, options.batch, options.dimensions, options.encoding);
      await must(base, 'POST', `${COLLECTIONS}/${id}/add`, body.toString());
    }
  };
  await Promise.all([worker(), worker()]);
}

/** True when the gateway's /status shows every node up with nothing left to apply. */
export async function inSync(gatewayUrl: string): Promise<boolean> {
  const s = await must(gatewayUrl, 'GET', '/status');
  return s.log.pendingWrites === 0 && s.nodes.every((n: { health: string; lagEntries: number }) => n.health === 'up' && n.lagEntries === 0);
}

export async function startSystems(options: BenchOptions, harness: Harness, log: (line: string) => void): Promise<Systems> {
  if (buildIsStale()) {
    log('building the gateway (npm run build)');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const haproxy = haproxyBinary(log);
  log('starting 4 Chroma servers');
  const [direct, ...trio] = (await Promise.all(['direct', 'primary', 'replica-1', 'replica-2'].map((name) => harness.chroma({ name })))) as [ChromaProcess, ...ChromaProcess[]];

  log(`loading ${options.records} records into the direct server`);
  for (const name of [READ_COLLECTION, WRITE_COLLECTION]) await must(direct.url, 'POST', COLLECTIONS, { name });
  await load(direct.url, await collectionId(direct.url, READ_COLLECTION), options, 1);

  log('starting the gateways, HAProxy and the plain Node proxy');
  const gateway1 = await harness.gatewayProcess(gatewayEnv(harness, [direct], 'gateway-1'), undefined, gatewayNodeArgs('gateway-1', options));
  const gateway3 = await harness.gatewayProcess(gatewayEnv(harness, trio, 'gateway-3'), undefined, gatewayNodeArgs('gateway-3', options));
  const proxy: Haproxy = await startHaproxy(harness, haproxy, 'haproxy', [{ name: 'direct', url: direct.url }]);
  const plainPort = await freePort();
  // One process (node with tsx's loader), not the tsx launcher, so its CPU is read and it is stopped directly.
  const plain = harness.spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/lib/plain-proxy.ts'), direct.url, String(plainPort)]);
  const plainUrl = `http://127.0.0.1:${plainPort}`;
  await waitFor('the plain proxy to answer', async () => (await fetch(`${plainUrl}/api/v2/heartbeat`)).ok);

  log(`loading ${options.records} records through the 3-node gateway`);
  for (const name of [READ_COLLECTION, WRITE_COLLECTION]) await must(gateway3.url, 'POST', COLLECTIONS, { name });
  await load(gateway3.url, await collectionId(gateway3.url, READ_COLLECTION), options, 1);
  await waitFor('the replicas to catch up with the loaded records', () => inSync(gateway3.url), 120_000);

  const ids = async (url: string) => ({ readId: await collectionId(url, READ_COLLECTION), writeId: await collectionId(url, WRITE_COLLECTION) });
  const directIds = await ids(direct.url);
  return {
    harness,
    direct,
    trio,
    haproxyVersion: proxy.version,
    gateway1,
    gateway3,
    targets: {
      direct: { url: direct.url, ...directIds, pids: [] },
      haproxy: { url: proxy.url, ...directIds, pids: [proxy.pid] },
      'plain-proxy': { url: plainUrl, ...directIds, pids: [plain.process.pid!] },
      'chroma-ha': { url: gateway1.url, ...(await ids(gateway1.url)), pids: [gateway1.process.pid!] },
      'chroma-ha-3': { url: gateway3.url, ...(await ids(gateway3.url)), pids: [gateway3.process.pid!] },
    },
  };
}
