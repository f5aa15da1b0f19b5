// Acceptance 6: `npm start` runs `chroma-ha dev`: a local primary and replica and the gateway. Run the same
// command (the compiled CLI, PORT set to a free port instead of 8000, data in a temp dir), fetch the
// heartbeat through the gateway, stop it with Ctrl-C (SIGINT to its process group, as a terminal does) and
// check that everything stopped and that a second start serves the data of the first.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, COLLECTIONS, Harness, cliEnv, freePort, http, waitFor } from '../helpers/cluster.js';
import { loadGatewayConfig } from '../../src/config/load.js';

interface DevRun {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** True while any process of the group led by pid is alive. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('chroma-ha dev (npm start)', () => {
  let h: Harness | undefined;
  const runs: DevRun[] = [];
  afterEach(async () => {
    if (!h) return;
    // A failed test may leave a dev cluster running: end its whole process group (gateway and Chroma nodes).
    for (const run of runs.splice(0)) if (run.child.pid && groupAlive(run.child.pid)) process.kill(-run.child.pid, 'SIGKILL');
    await h.cleanup();
    h = undefined;
  });

  async function startDev(dir: string): Promise<DevRun> {
    const port = await freePort();
    // detached: the dev cluster gets its own process group, like a command started from a terminal.
    const child = spawn(process.execPath, [CLI, 'dev', '--dir', dir], {
      env: cliEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const run: DevRun = { child, url: `http://127.0.0.1:${port}`, output: () => out, exited };
    runs.push(run);
    await waitFor(
      'the dev cluster to print its URLs',
      () => {
        if (child.exitCode !== null) throw new Error(`chroma-ha dev exited with ${child.exitCode}: ${out}`);
        return out.includes(`gateway    http://localhost:${port}`);
      },
      60_000,
    );
    await waitFor('the dev gateway to report every node up', async () => (await http(run.url, 'GET', '/health')).json?.status === 'healthy', 30_000);
    return run;
  }

  /** Ctrl-C: SIGINT to the whole process group; the command must stop every child and exit 0. */
  async function ctrlC(run: DevRun): Promise<void> {
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.exited).toBe(0);
    await waitFor('every process of the dev cluster to end', () => !groupAlive(run.child.pid!), 15_000);
  }

  it('is what npm start runs, on the default port 8000', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    expect(pkg.scripts.start).toMatch(/node dist\/cli\/main\.js dev$/);
    expect(loadGatewayConfig({ PRIMARY_URL: 'http://127.0.0.1:1' }).port).toBe(8000);
  });

  it('serves the heartbeat through the gateway, stops on Ctrl-C, and reuses the data on the next start', async () => {
    h = new Harness();
    const dir = join(h.dir, '.chroma-ha');

    const first = await startDev(dir);
    for (const path of ['/api/v1/heartbeat', '/api/v2/heartbeat']) {
      const beat = await http(first.url, 'GET', path);
      expect({ path, status: beat.status }).toEqual({ path, status: 200 });
      expect(beat.json['nanosecond heartbeat']).toEqual(expect.any(Number));
      expect(beat.headers.get('x-chroma-ha-node')).toMatch(/^(primary|replica-1)$/);
    }
    const nodePorts = JSON.parse(readFileSync(join(dir, 'dev.json'), 'utf8')).ports as number[];
    expect(nodePorts).toHaveLength(2);
    expect(first.output()).toContain(`primary    http://127.0.0.1:${nodePorts[0]}`);

    const created = await http(first.url, 'POST', COLLECTIONS, { name: 'kept-between-runs' });
    expect(created.status, created.text).toBe(200);
    const id = created.json.id as string;
    expect((await http(first.url, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['a', 'b'], embeddings: [[1, 2], [3, 4]] })).status).toBe(201);
    await waitFor('the replica to hold the writes', async () => (await http(first.url, 'GET', '/status')).json.nodes[1].syncState === 'in-sync');
    await ctrlC(first);
    for (const port of nodePorts) await expect(fetch(`http://127.0.0.1:${port}/api/v2/heartbeat`)).rejects.toThrow();

    const second = await startDev(dir);
    const again = await http(second.url, 'GET', `${COLLECTIONS}/kept-between-runs`);
    expect(again.status).toBe(200);
    expect(again.json.id).toBe(id);
    expect((await http(second.url, 'GET', `${COLLECTIONS}/${id}/count`)).json).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, 'dev.json'), 'utf8')).ports).toEqual(nodePorts);
    await ctrlC(second);
  });
});
