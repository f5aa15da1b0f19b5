// The systems under test, all fresh and empty: one Chroma server used directly, and a primary + replica
// (real Chroma servers too) behind a gateway running in this process with a SQLite log. Everything
// started here is stopped by stop(), which is safe to call more than once and from a signal handler.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChromaProcess } from '../../src/dev/chroma-process.js';
import { loadGatewayConfig } from '../../src/config/load.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createLogger } from '../../src/log/logger.js';

export interface BenchCluster {
  dir: string;
  direct: ChromaProcess;
  primary: ChromaProcess;
  replica: ChromaProcess;
  gateway: Gateway;
  gatewayUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts everything. `onStop` receives the stop function before the first process starts, so a signal
 * that arrives during start-up can still stop what has been started so far.
 */
export async function startBenchCluster(
  options: { logLevel: string; keepData: boolean; storeDir: string | null },
  onStop: (stop: () => Promise<void>) => void,
): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'chroma-ha-bench-'));
  const chromas: ChromaProcess[] = [];
  let gateway: Gateway | null = null;
  let storeDir: string | null = null;
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      if (gateway) await gateway.stop().catch(() => undefined);
      await Promise.allSettled(chromas.map((c) => c.stop(2_000)));
      if (!options.keepData) for (const d of [dir, storeDir]) if (d) rmSync(d, { recursive: true, force: true });
    })());
  onStop(stop);
  try {
    const start = async (name: string) => {
      const c = await ChromaProcess.start({ dataDir: join(dir, name), logFile: join(dir, `${name}.log`) });
      chromas.push(c);
      return c;
    };
    const [direct, primary, replica] = [await start('direct'), await start('primary'), await start('replica')];
    if (options.storeDir) storeDir = mkdtempSync(join(options.storeDir, 'chroma-ha-bench-store-'));
    const config = loadGatewayConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      PRIMARY_URL: primary.url,
      REPLICA_URLS: replica.url,
      DATA_DIR: storeDir ?? join(dir, 'gateway-store'),
      LOG_LEVEL: options.logLevel,
    });
    gateway = await Gateway.create(config, createLogger(config.logLevel, 'chroma-ha-bench'));
    const port = await gateway.start();
    const gw = gateway;
    await waitUntil('both nodes to be probed up', () => gw.cluster.nodes.every((n) => n.isUp), 20_000);
    return { dir, direct, primary, replica, gateway: gw, gatewayUrl: `http://127.0.0.1:${port}`, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls `check` every `intervalMs` until it is true; throws naming `what` after the deadline. */
export async function waitUntil(what: string, check: () => boolean, timeoutMs: number, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Every node up and holding every committed write, nothing pending. */
export function allInSync(gw: Gateway): boolean {
  return gw.log.pendingCount === 0 && gw.cluster.nodes.every((n) => n.isUp && n.appliedSeq >= gw.log.committedHead);
}
