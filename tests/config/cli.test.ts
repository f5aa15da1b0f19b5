// Acceptance 5, start-up: `chroma-ha gateway` with a bad setting exits non-zero with one readable line
// naming the variable (env var or flag), no stack trace, and no secret from the bad value. The same for a
// replication log store that cannot be opened.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, cliEnv, freePort } from '../helpers/cluster.js';

async function runGateway(env: Record<string, string>, flags: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'chroma-ha-cli-'));
  try {
    const child = spawn(process.execPath, [CLI, 'gateway', ...flags], {
      cwd: dir,
      env: cliEnv({ DATA_DIR: join(dir, 'store'), PORT: String(await freePort()), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    clearTimeout(timer);
    return { code, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PRIMARY = 'http://127.0.0.1:9';
const CONFIG_ERROR = '^chroma-ha: configuration error: ';
const STORE_ERROR = '^chroma-ha: cannot open the replication log store given by ';
/** A port nothing listens on, for a store that refuses connections. */
const refusingPort = await freePort();

type Case = [what: string, env: Record<string, string>, flags: string[], stderr: string, secret: string | null];

describe.concurrent('chroma-ha gateway with a bad configuration', () => {
  it.for<Case>([
    ['a bad PRIMARY_URL', { PRIMARY_URL: 'ftp://admin:hunter2@127.0.0.1:8001' }, [], `${CONFIG_ERROR}PRIMARY_URL=.*is invalid`, 'hunter2'],
    ['a missing PRIMARY_URL', {}, [], `${CONFIG_ERROR}PRIMARY_URL is required`, null],
    ['a non-numeric CHECK_INTERVAL', { PRIMARY_URL: PRIMARY, CHECK_INTERVAL: 'often' }, [], `${CONFIG_ERROR}CHECK_INTERVAL="often" is invalid`, null],
    ['FAILURE_THRESHOLD=0', { PRIMARY_URL: PRIMARY, FAILURE_THRESHOLD: '0' }, [], `${CONFIG_ERROR}FAILURE_THRESHOLD="0" is invalid`, null],
    [
      'mismatched NODE_PRIORITIES',
      { PRIMARY_URL: PRIMARY, REPLICA_URLS: 'http://127.0.0.1:10', NODE_PRIORITIES: '1,2,3' },
      [],
      `${CONFIG_ERROR}NODE_PRIORITIES has 3 values but there are 2 distinct nodes`,
      null,
    ],
    ['a bad DATABASE_URL', { PRIMARY_URL: PRIMARY, DATABASE_URL: 'mysql://admin:hunter2@127.0.0.1/log' }, [], `${CONFIG_ERROR}DATABASE_URL=\\(hidden\\) is invalid`, 'hunter2'],
    ['a bad flag', { PRIMARY_URL: PRIMARY }, ['--check-interval', 'soon'], `${CONFIG_ERROR}CHECK_INTERVAL="soon" is invalid`, null],
    [
      'a bad flag over a good variable',
      { PRIMARY_URL: PRIMARY, FAILURE_THRESHOLD: '3' },
      ['--failure-threshold', '-2'],
      `${CONFIG_ERROR}FAILURE_THRESHOLD="-2" is invalid`,
      null,
    ],
    [
      'an unreachable DATABASE_URL',
      { PRIMARY_URL: PRIMARY, DATABASE_URL: `postgres://admin:hunter2@127.0.0.1:${refusingPort}/log` },
      [],
      `${STORE_ERROR}DATABASE_URL: .*ECONNREFUSED`,
      'hunter2',
    ],
    ['a DATA_DIR where no store can be created', { PRIMARY_URL: PRIMARY, DATA_DIR: '/dev/null/store' }, [], `${STORE_ERROR}DATA_DIR \\(/dev/null/store\\)`, null],
  ])('exits non-zero for %s, naming the variable', async ([, env, flags, stderr, secret], { expect }) => {
    const r = await runGateway(env, flags);
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(new RegExp(stderr));
    // One line, no stack trace, nothing on stdout, no secret.
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
    if (secret) expect(r.stderr).not.toContain(secret);
  });
});
