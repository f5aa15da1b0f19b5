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
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    clearTimeout(timer);
    return { code, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const PRIMARY = 'http://127.0.0.1:9';

describe('chroma-ha gateway with a bad configuration', () => {
  it.each<[string, Record<string, string>, string[], RegExp, string | null]>([
    ['a bad PRIMARY_URL', { PRIMARY_URL: 'ftp://admin:hunter2@127.0.0.1:8001' }, [], /PRIMARY_URL=.*is invalid/, 'hunter2'],
    ['a missing PRIMARY_URL', {}, [], /PRIMARY_URL is required/, null],
    ['a non-numeric CHECK_INTERVAL', { PRIMARY_URL: PRIMARY, CHECK_INTERVAL: 'often' }, [], /CHECK_INTERVAL="often" is invalid/, null],
    ['FAILURE_THRESHOLD=0', { PRIMARY_URL: PRIMARY, FAILURE_THRESHOLD: '0' }, [], /FAILURE_THRESHOLD="0" is invalid/, null],
    ['mismatched NODE_PRIORITIES', { PRIMARY_URL: PRIMARY, REPLICA_URLS: 'http://127.0.0.1:10', NODE_PRIORITIES: '1,2,3' }, [], /NODE_PRIORITIES has 3 values but there are 2 nodes/, null],
    ['a bad DATABASE_URL', { PRIMARY_URL: PRIMARY, DATABASE_URL: 'mysql://admin:hunter2@127.0.0.1/log' }, [], /DATABASE_URL=\(hidden\) is invalid/, 'hunter2'],
    ['a bad flag', { PRIMARY_URL: PRIMARY }, ['--check-interval', 'soon'], /CHECK_INTERVAL="soon" is invalid/, null],
    ['a bad flag over a good variable', { PRIMARY_URL: PRIMARY, FAILURE_THRESHOLD: '3' }, ['--failure-threshold', '-2'], /FAILURE_THRESHOLD="-2" is invalid/, null],
  ])('exits non-zero for %s, naming the variable', async (_what, env, flags, message, secret) => {
    const r = await runGateway(env, flags);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`^chroma-ha: configuration error: ${message.source}`));
    expectOneCleanLine(r, secret);
  });

  it('exits non-zero naming DATABASE_URL when the store cannot be reached, without its password', async () => {
    const r = await runGateway({ PRIMARY_URL: PRIMARY, DATABASE_URL: `postgres://admin:hunter2@127.0.0.1:${await freePort()}/log` });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^chroma-ha: cannot open the replication log store given by DATABASE_URL: .*ECONNREFUSED/);
    expectOneCleanLine(r, 'hunter2');
  });

  it('exits non-zero naming DATA_DIR when the store cannot be created there', async () => {
    const r = await runGateway({ PRIMARY_URL: PRIMARY, DATA_DIR: '/dev/null/store' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^chroma-ha: cannot open the replication log store given by DATA_DIR \(\/dev\/null\/store\)/);
    expectOneCleanLine(r, null);
  });
});

/** One line on stderr, no stack trace, nothing on stdout, and not the given secret. */
function expectOneCleanLine(r: { code: number | null; stdout: string; stderr: string }, secret: string | null): void {
  expect(r.code).not.toBeNull();
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).toBe('');
  if (secret) expect(r.stderr).not.toContain(secret);
}
