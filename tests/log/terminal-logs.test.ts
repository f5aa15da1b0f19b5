// Issue 12: the gateway prints readable log lines on a terminal (as under `npm start`) and one JSON object
// per line otherwise (a platform's log collector). The terminal is a real pseudo-terminal (util-linux
// `script`), the other case a pipe.
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { CLI, Harness, cliEnv, freePort, waitFor } from '../helpers/cluster.js';

/** Runs the gateway until it logs that it listens; returns everything it printed. */
async function gatewayOutput(h: Harness, onTerminal: boolean): Promise<string> {
  const port = await freePort();
  const env = cliEnv({ PRIMARY_URL: `http://127.0.0.1:${await freePort()}`, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: `${h.dir}/store-${port}`, LOG_LEVEL: 'info' });
  const command = `${process.execPath} ${CLI} gateway`;
  const child = onTerminal
    ? spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [CLI, 'gateway'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    await waitFor('the gateway to log that it listens', () => out.includes(`listening on 127.0.0.1:${port}`));
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  return out;
}

describe('log format', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('is human-readable on a terminal and JSON lines otherwise', async () => {
    h = new Harness();
    const terminal = await gatewayOutput(h, true);
    const line = terminal.split(/\r?\n/).find((l) => l.includes('listening on'))!;
    expect(line).toMatch(/^\d\d:\d\d:\d\d (\x1b\[\d+m)?INFO/);
    expect(line).toMatch(/chroma-ha gateway listening on 127\.0\.0\.1:\d+ .*port=\d+/);
    expect(() => JSON.parse(line)).toThrow();

    const piped = await gatewayOutput(h, false);
    const json = JSON.parse(piped.split('\n').find((l) => l.includes('listening on'))!);
    expect(json).toMatchObject({ level: 30, msg: expect.stringContaining('listening on'), port: expect.any(Number) });
  });
});
