// Shared test harness: real Chroma servers on free ports, gateways in-process or as child processes,
// throwaway PostgreSQL schemas, and waiting on conditions with deadlines. Everything started through
// a Harness is stopped by harness.cleanup(), even when the test fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ChromaProcess, freePort } from '../../src/dev/chroma-process.js';
import { loadGatewayConfig, type Env } from '../../src/config/load.js';
import { gatewaySettings } from '../../src/config/settings.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createLogger } from '../../src/log/logger.js';
import { startNodeGuard, type NodeGuard } from '../../src/guard/node-guard.js';
import { TcpProxy } from './tcp-proxy.js';

export { ChromaProcess, freePort };

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The compiled CLI, built once per run by tests/helpers/global-setup.ts. */
export const CLI = join(ROOT, 'dist/cli/main.js');

/** The test runner's environment without any gateway setting, plus `extra`: for running the CLI as a user would. */
export function cliEnv(extra: Env = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const s of Object.values(gatewaySettings)) delete env[s.env];
  return { ...env, ...extra };
}

/** Waits until `check` returns a truthy value (returned), or fails with `what` after the deadline. */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs = 15_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

/** Fast health-check settings so tests fail over in well under a second. */
export const FAST_HEALTH: Env = {
  CHECK_INTERVAL: '0.2',
  FAST_CHECK_INTERVAL: '0.05',
  FAILURE_THRESHOLD: '2',
  RECOVERY_THRESHOLD: '2',
  HEALTH_CHECK_TIMEOUT: '1',
  // A fixed probe timeout for tests of other things; tests/gateway/failover-tails.test.ts runs the adaptive default.
  HEALTH_CHECK_MIN_TIMEOUT: '1',
  REQUEST_TIMEOUT: '5',
  WRITE_TIMEOUT: '15',
};

/**
 * For tests of anything but hang detection: on a busy 2-core machine a heartbeat can take longer than
 * FAST_HEALTH allows, and a healthy node marked down mid-test would make the test fail for the wrong reason.
 * Dead nodes are still found at once (connection refused).
 */
export const PATIENT_PROBES: Env = { HEALTH_CHECK_TIMEOUT: '2', HEALTH_CHECK_MIN_TIMEOUT: '2' };

export interface GatewayChild {
  url: string;
  port: number;
  process: ChildProcess;
  output: () => string;
  /** kill -9 */
  kill(): Promise<void>;
  /** SIGTERM and wait; resolves with the exit code. */
  terminate(): Promise<number | null>;
}

export class Harness {
  readonly dir = mkdtempSync(join(tmpdir(), 'chroma-ha-test-'));
  private readonly chromas: ChromaProcess[] = [];
  private readonly gateways: Gateway[] = [];
  private readonly children: ChildProcess[] = [];
  private readonly schemas: string[] = [];
  private readonly proxies: TcpProxy[] = [];
  private readonly guards: NodeGuard[] = [];
  private counter = 0;

  /** A real Chroma server on a free port with its own data directory. */
  async chroma(options: { name?: string; allowReset?: boolean } = {}): Promise<ChromaProcess> {
    const name = options.name ?? `node-${++this.counter}`;
    const proc = await ChromaProcess.start({
      dataDir: join(this.dir, name),
      allowReset: options.allowReset,
      logFile: join(this.dir, `${name}.log`),
    });
    this.chromas.push(proc);
    return proc;
  }

  async chromaCluster(count: number): Promise<ChromaProcess[]> {
    return Promise.all(Array.from({ length: count }, () => this.chroma()));
  }

  /** The node guard (token check) in front of a Chroma node, as a node of its own: `{ url }`. */
  async guard(node: ChromaProcess, token: string): Promise<{ url: string; port: number }> {
    const guard = await startNodeGuard({ upstream: node.url, token, port: 0, host: '127.0.0.1' });
    this.guards.push(guard);
    return { url: `http://127.0.0.1:${guard.port}`, port: guard.port };
  }

  /**
   * Environment for a gateway in front of the given nodes (first is the primary), SQLite store in the harness dir.
   * A node is anything with a URL: a Chroma server, or a test double standing in front of one.
   */
  gatewayEnv(nodes: Array<{ url: string }>, extra: Env = {}): Env {
    return {
      PORT: '0',
      HOST: '127.0.0.1',
      PRIMARY_URL: nodes[0]!.url,
      REPLICA_URLS: nodes.slice(1).map((n) => n.url).join(','),
      DATA_DIR: join(this.dir, 'gateway-store'),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...FAST_HEALTH,
      ...extra,
    };
  }

  /** A gateway in this process; waits until every node has been probed and every running Chroma node is up. */
  async gateway(nodes: Array<{ url: string }>, extra: Env = {}): Promise<Gateway> {
    const config = loadGatewayConfig(this.gatewayEnv(nodes, extra));
    const gw = await Gateway.create(config, createLogger(config.logLevel));
    this.gateways.push(gw);
    await gw.start();
    await waitFor('every node to be probed', () => gw.cluster.nodes.every((n) => n.health !== 'unknown'));
    // On a busy machine a first probe can time out, and a node marked down needs RECOVERY_THRESHOLD probes.
    const running = new Set(nodes.filter((n) => n instanceof ChromaProcess && n.running).map((n) => n.url));
    await waitFor('every running Chroma node to be up', () => gw.cluster.nodes.every((n) => n.isUp || !running.has(n.config.url)), 30_000);
    // An up node serves only once its identity marker is checked (src/replication/lifecycle.ts).
    await waitFor('every running Chroma node to have its identity checked', () => gw.cluster.nodes.every((n) => !running.has(n.config.url) || (n.isUp && n.lifecycle !== 'unverified')), 30_000);
    return gw;
  }

  /** Stops an in-process gateway started by this harness (idempotent). */
  async stopGateway(gw: Gateway): Promise<void> {
    const i = this.gateways.indexOf(gw);
    if (i < 0) return;
    this.gateways.splice(i, 1);
    await gw.stop();
  }

  /**
   * A gateway as a child process (the compiled `chroma-ha gateway`), for kill -9 and SIGTERM tests.
   * `nodeArgs` go to node itself (the benchmark's --cpu-prof, which NODE_OPTIONS does not accept).
   */
  async gatewayProcess(env: Env, port?: number, nodeArgs: string[] = []): Promise<GatewayChild> {
    const p = port ?? (await freePort());
    let out = '';
    const child = spawn(process.execPath, [...nodeArgs, CLI, 'gateway'], {
      cwd: ROOT,
      env: { ...process.env, ...env, PORT: String(p), LOG_LEVEL: env.LOG_LEVEL === 'silent' ? 'warn' : (env.LOG_LEVEL ?? 'warn') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    this.children.push(child);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const url = `http://127.0.0.1:${p}`;
    await waitFor(
      `gateway process on ${p} to serve /health`,
      async () => {
        if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}: ${out}`);
        const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(500) });
        return r.status === 200;
      },
      30_000,
    );
    return {
      url,
      port: p,
      process: child,
      output: () => out,
      async kill() {
        child.kill('SIGKILL');
        await exited;
      },
      async terminate() {
        child.kill('SIGTERM');
        return exited;
      },
    };
  }

  /** Any other child process (a load balancer, a control proxy), killed by cleanup(); `output` keeps its last 4 KB of output. */
  spawn(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): { process: ChildProcess; output: () => string } {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d: Buffer) => (out = (out + d.toString()).slice(-4_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    this.children.push(child);
    return { process: child, output: () => out };
  }

  /** A fresh PostgreSQL schema; returns a DATABASE_URL whose search_path points at it. */
  async pgDatabaseUrl(): Promise<string> {
    const schema = `t_${process.pid}_${Date.now().toString(36)}_${++this.counter}`;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`CREATE SCHEMA ${schema}`);
    await client.end();
    this.schemas.push(schema);
    const u = new URL(PG_URL);
    u.searchParams.set('options', `-c search_path=${schema}`);
    return u.toString();
  }

  /** A TCP forwarder to host:port that the test can cut and restore (a store or node going away for real). */
  async tcpProxy(host: string, port: number): Promise<TcpProxy> {
    const proxy = await TcpProxy.start(host, port);
    this.proxies.push(proxy);
    return proxy;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.gateways.splice(0).map((g) => g.stop()));
    for (const c of this.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.allSettled(this.chromas.splice(0).map((c) => c.stop(1_000)));
    await Promise.allSettled(this.proxies.splice(0).map((p) => p.cut()));
    await Promise.allSettled(this.guards.splice(0).map((g) => g.close()));
    if (this.schemas.length > 0) {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect().catch(() => undefined);
      for (const s of this.schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
      await client.end().catch(() => undefined);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** JSON request helper against a gateway or node. */
export async function http(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text, headers: r.headers };
}

export const gatewayUrl = (gw: Gateway) => `http://127.0.0.1:${gw.port}`;
export const COLLECTIONS = '/api/v2/tenants/default_tenant/databases/default_database/collections';
