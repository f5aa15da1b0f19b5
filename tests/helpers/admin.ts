// Calling a gateway's admin API and the compiled `chroma-ha` CLI from tests, as an operator would.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, cliEnv, http } from './cluster.js';

const run = promisify(execFile);

export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789';

/** The admin API with the test token (or none, with `token: null`). */
export function admin(base: string, method: string, path: string, body?: unknown, token: string | null = ADMIN_TOKEN) {
  return http(base, method, path, body, token === null ? {} : { authorization: `Bearer ${token}` });
}

/** Runs `chroma-ha ...args` and returns its exit code and output (a non-zero exit is not an exception here). */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args], { env: cliEnv(env) }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}
