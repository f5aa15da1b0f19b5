// Operator hooks of the failover test: the shell commands that stop and bring back the primary
// (--kill-cmd, --restart-cmd). They learn which node is meant from the environment, so one command line
// works whichever node is primary. Their output goes to stderr, never into a --json report on stdout.
import { spawn } from 'node:child_process';

export interface HookTarget {
  name: string;
  url: string;
}

export interface HookResult {
  exitCode: number | null;
  durationMs: number;
  timedOut: boolean;
}

/** Runs `command` with /bin/sh; resolves when the shell exits (a server it started in the background may live on). */
export function runHook(command: string, target: HookTarget, timeoutMs: number): Promise<HookResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['ignore', process.stderr, process.stderr],
      env: { ...process.env, FAILOVER_TEST_NODE_NAME: target.name, FAILOVER_TEST_NODE_URL: target.url },
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ exitCode: code, durationMs: performance.now() - started, timedOut });
    });
  });
}
