// Runs a real Chroma server from the `chromadb` npm package as a child process: used by `chroma-ha dev`
// and by the test suite. Picks a free port, writes a small config file, waits for the heartbeat.
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { mkdirSync, openSync, closeSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const require = createRequire(import.meta.url);

/** Path of the `chroma` CLI shipped by the chromadb package. */
export function chromaCliPath(): string {
  let dir = dirname(require.resolve('chromadb'));
  while (!dir.endsWith('chromadb')) dir = dirname(dir);
  return join(dir, 'dist', 'cli.mjs');
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface ChromaOptions {
  /** Directory holding the node's data (created if missing). */
  dataDir: string;
  port?: number;
  host?: string;
  allowReset?: boolean;
  /** File that receives the server's output; discarded when omitted. */
  logFile?: string;
  startTimeoutMs?: number;
}

export class ChromaProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  readonly port: number;
  readonly host: string;

  private constructor(
    private readonly options: ChromaOptions,
    port: number,
  ) {
    this.port = port;
    this.host = options.host ?? '127.0.0.1';
  }

  static async start(options: ChromaOptions): Promise<ChromaProcess> {
    const port = options.port || (await freePort(options.host));
    const proc = new ChromaProcess(options, port);
    await proc.spawn();
    return proc;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts (again) on the same port and data directory, and waits until it answers. */
  async spawn(): Promise<void> {
    if (this.child) return;
    const dataDir = resolve(this.options.dataDir);
    mkdirSync(dataDir, { recursive: true });
    const configPath = `${dataDir}.chroma.yaml`;
    writeFileSync(
      configPath,
      [`port: ${this.port}`, `listen_address: "${this.host}"`, `persist_path: "${dataDir}"`, `allow_reset: ${this.options.allowReset ? 'true' : 'false'}`].join('\n') + '\n',
    );
    const out = this.options.logFile ? openSync(this.options.logFile, 'a') : 'ignore';
    const child = spawn(process.execPath, [chromaCliPath(), 'run', configPath], { stdio: ['ignore', out, out] });
    if (typeof out === 'number') closeSync(out);
    this.child = child;
    this.exited = new Promise((r) =>
      child.once('exit', () => {
        if (this.child === child) this.child = null;
        r();
      }),
    );
    await this.waitReady(this.options.startTimeoutMs ?? 20_000);
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.child) throw new Error(`Chroma on port ${this.port} exited during start-up`);
      try {
        const r = await fetch(`${this.url}/api/v2/heartbeat`, { signal: AbortSignal.timeout(1_000) });
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`Chroma on port ${this.port} did not answer its heartbeat within ${timeoutMs} ms`);
  }

  /** Sends a signal (SIGKILL, SIGSTOP, SIGCONT, ...) to the server process. */
  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  /** kill -9, and wait until the process is gone. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Graceful stop (SIGTERM, then SIGKILL after a grace period). Also resumes a stopped process first. */
  async stop(graceMs = 3_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
