// A whole local deployment for development: a primary and a replica (real Chroma servers) under
// ./.chroma-ha/, and the gateway and the monitor in this process. Node ports are remembered in .chroma-ha/dev.json so a
// second start finds the same nodes (the store knows nodes by URL) and reuses their data.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ChromaProcess, freePort } from './chroma-process.js';
import { loadGatewayConfig, type Env } from '../config/load.js';
import { Gateway } from '../gateway/gateway.js';
import type { Monitor } from '../monitor/monitor.js';
import { startDevMonitor } from '../monitor/dev.js';

export interface LocalCluster {
  nodes: ChromaProcess[];
  gateway: Gateway;
  monitor: Monitor;
  stop(): Promise<void>;
}

export async function startLocalCluster(options: { baseDir: string; env: Env; replicas?: number }): Promise<LocalCluster> {
  const base = resolve(options.baseDir);
  mkdirSync(join(base, 'logs'), { recursive: true });
  const portsFile = join(base, 'dev.json');
  const saved: number[] = existsSync(portsFile) ? JSON.parse(readFileSync(portsFile, 'utf8')).ports ?? [] : [];
  const names = ['primary', ...Array.from({ length: options.replicas ?? 1 }, (_, i) => `replica-${i + 1}`)];
  const nodes: ChromaProcess[] = [];
  try {
    for (const [i, name] of names.entries()) {
      const wanted = saved[i];
      const port = wanted && (await isFree(wanted)) ? wanted : await freePort();
      nodes.push(await ChromaProcess.start({ dataDir: join(base, name), port, logFile: join(base, 'logs', `${name}.log`) }));
    }
    writeFileSync(portsFile, JSON.stringify({ ports: nodes.map((n) => n.port) }, null, 2));
    const config = loadGatewayConfig({
      DATA_DIR: join(base, 'gateway'),
      ...options.env,
      PRIMARY_URL: nodes[0]!.url,
      REPLICA_URLS: nodes.slice(1).map((n) => n.url).join(','),
      REPLICA_URL: undefined,
    });
    const gateway = await Gateway.create(config);
    await gateway.start();
    const monitor = await startDevMonitor({ baseDir: base, env: options.env, nodeUrls: nodes.map((n) => n.url), gatewayPort: gateway.port, logger: gateway.logger }).catch(
      async (err) => {
        await gateway.stop();
        throw err;
      },
    );
    return {
      nodes,
      gateway,
      monitor,
      async stop() {
        await monitor.stop(1_000);
        await gateway.stop();
        await Promise.all(nodes.map((n) => n.stop()));
      },
    };
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}

async function isFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((r) => {
    const s = createServer();
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
}
