// The node guard as a container runs it (`node dist/guard/main.js <chroma command>`): it starts the real
// Chroma server behind itself, answers only requests carrying NODE_TOKEN, stops the server on SIGTERM, and
// refuses to start without a token.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { COLLECTIONS, Harness, freePort, http, waitFor } from '../helpers/cluster.js';
import { chromaCliPath } from '../../src/dev/chroma-process.js';

const MAIN = join(import.meta.dirname, '../../dist/guard/main.js');
const TOKEN = 'guard-token-0123456789abcdef';

describe('node guard entry point', () => {
  let h: Harness;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    // The guard and the Chroma server it started form one process group: stop both even on failure.
    if (child?.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    await h.cleanup();
  });

  it('runs Chroma behind the token check on PORT and stops it on SIGTERM', async () => {
    h = new Harness();
    const [port, chromaPort] = [await freePort(), await freePort()];
    child = spawn(
      process.execPath,
      [MAIN, process.execPath, chromaCliPath(), 'run', '--path', join(h.dir, 'node'), '--host', '127.0.0.1', '--port', String(chromaPort)],
      { env: { ...process.env, NODE_TOKEN: TOKEN, PORT: String(port), HOST: '127.0.0.1', NODE_GUARD_UPSTREAM: `http://127.0.0.1:${chromaPort}` }, detached: true, stdio: 'ignore' },
    );
    const url = `http://127.0.0.1:${port}`;
    const auth = { 'x-chroma-token': TOKEN };
    await waitFor('the guarded node to answer', async () => (await http(url, 'GET', '/api/v2/heartbeat', undefined, auth).catch(() => ({ status: 0 }))).status === 200);
    expect((await http(url, 'GET', '/api/v2/heartbeat')).status).toBe(401);
    expect((await http(url, 'POST', COLLECTIONS, { name: 'via-guard' }, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await http(url, 'GET', `${COLLECTIONS}/via-guard`, undefined, auth)).json.name).toBe('via-guard');

    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The Chroma server went with it.
    await waitFor('the Chroma server to stop', async () => (await fetch(`http://127.0.0.1:${chromaPort}/api/v2/heartbeat`).then(() => false, () => true)));
  });

  it('refuses to start without NODE_TOKEN, naming it', () => {
    h = new Harness();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0' };
    delete env.NODE_TOKEN;
    const run = spawnSync(process.execPath, [MAIN], { env, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/NODE_TOKEN is required/);
  });
});
