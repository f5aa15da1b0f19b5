// `chroma-ha failover-test` run as the operator runs it (the compiled CLI in its own process) against a
// local primary + replica + gateway: with real hooks (kill -9 of the primary's pid, and a shell command
// that starts Chroma again on the same port and data directory), and with --wait-for-manual where the
// test plays the operator. Against a plain Chroma server or nothing at all it refuses with exit code 2.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chromaCliPath } from '../../src/dev/chroma-process.js';
import { COLLECTIONS, Harness, freePort, gatewayUrl, http, waitFor, type ChromaProcess } from '../helpers/cluster.js';
import type { FailoverReport } from '../../src/failover-test/report.js';

const ROOT = join(import.meta.dirname, '../..');
const FAST = ['--failover-timeout', '20', '--rejoin-timeout', '30', '--writes-per-phase', '5', '--write-interval', '20', '--read-interval', '20'];

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the compiled CLI (dist/ is built once per test run); `onStderr` sees the timeline as it is written. */
function failoverTest(args: string[], onStderr?: (all: string) => void): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'failover-test', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr);
    });
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The probe collections left on a node (there must be none after a run). */
async function probeCollections(url: string): Promise<string[]> {
  const r = await http(url, 'GET', COLLECTIONS);
  return (r.json as Array<{ name: string }>).map((c) => c.name).filter((n) => n.startsWith('chroma-ha-failover-probe'));
}

function expectPassingReport(report: FailoverReport, nodes: { oldPrimary: string; newPrimary: string }) {
  expect(report.passed, JSON.stringify(report.checks)).toBe(true);
  expect(report.oldPrimary).toBe(nodes.oldPrimary);
  expect(report.newPrimary).toBe(nodes.newPrimary);
  expect(report.failoverMs).toBeGreaterThan(0);
  expect(report.writePauseMs).toBeGreaterThan(0);
  expect(report.writePauseMs).toBeLessThan(20_000);
  expect(report.rejoinMs).toBeGreaterThan(0);
  expect(report.writes.acked).toBeGreaterThanOrEqual(15);
  expect(report.writes.unknown + report.writes.rejected).toBe(0);
  expect(report.reads.ok).toBeGreaterThan(0);
  expect(report.reads.errors).toBe(0);
  expect(report.lostWrites).toEqual([]);
  expect(report.cleanedUp).toBe(true);
}

describe('chroma-ha failover-test', () => {
  let h: Harness;
  let restartedPid: number | null = null;
  afterEach(async () => {
    if (restartedPid) {
      try {
        process.kill(restartedPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    restartedPid = null;
    await h.cleanup();
  });

  async function cluster(): Promise<{ primary: ChromaProcess; replica: ChromaProcess; url: string }> {
    h = new Harness();
    const [primary, replica] = await Promise.all([h.chroma({ name: 'primary' }), h.chroma({ name: 'replica' })]);
    const gw = await h.gateway([primary, replica]);
    return { primary, replica, url: gatewayUrl(gw) };
  }

  it('passes with kill -9 and restart hooks, and reports the write pause and read errors', async () => {
    const { primary, replica, url } = await cluster();
    const pidFile = join(h.dir, 'restarted.pid');
    // The restart hook starts Chroma again in the background on the primary's port and data directory.
    const config = `${join(h.dir, 'primary')}.chroma.yaml`;
    const restart = `"${process.execPath}" "${chromaCliPath()}" run "${config}" >> "${join(h.dir, 'restarted.log')}" 2>&1 & echo $! > "${pidFile}"`;
    const run = await failoverTest(['--url', url, '--kill-cmd', `kill -9 ${primary.pid}`, '--restart-cmd', restart, '--json', ...FAST]);
    if (existsSync(pidFile)) restartedPid = Number(readFileSync(pidFile, 'utf8'));

    expect(run.code, run.stderr + run.stdout).toBe(0);
    const report = JSON.parse(run.stdout) as FailoverReport;
    expectPassingReport(report, { oldPrimary: 'primary', newPrimary: 'replica-1' });
    expect(run.stderr).toMatch(/stopping the primary: kill -9 \d+/);
    expect(run.stderr).toMatch(/failover: replica-1 is primary/);
    expect(run.stderr).toMatch(/primary rejoined: up and in sync/);
    // The hooks really acted: the primary now runs as the process the restart hook started.
    expect(primary.running).toBe(false);
    expect(restartedPid).toBeGreaterThan(0);
    expect((await http(primary.url, 'GET', '/api/v2/heartbeat')).status).toBe(200);
    // Cleaned up everywhere, not only as the gateway sees it.
    expect(await probeCollections(url)).toEqual([]);
    for (const node of [primary, replica]) await waitFor(`no probe collection on ${node.url}`, async () => (await probeCollections(node.url)).length === 0);
  });

  it('prompts the operator with --wait-for-manual and passes when they stop and restart the primary', async () => {
    const { primary, url } = await cluster();
    let stopped = false;
    let restarting: Promise<void> | null = null;
    const run = await failoverTest(['--url', url, '--wait-for-manual', ...FAST], (stderr) => {
      // The test is the operator: it acts on the prompts, as someone at the Render dashboard would.
      if (!stopped && stderr.includes('ACTION: stop the primary primary')) {
        stopped = true;
        primary.signal('SIGKILL');
      }
      if (!restarting && stderr.includes('ACTION: bring primary back')) restarting = primary.spawn();
    });
    await restarting;
    expect(run.code, run.stderr).toBe(0);
    expect(stopped).toBe(true);
    expect(run.stdout).toMatch(/^chroma-ha failover test: PASSED/);
    expect(run.stdout).toMatch(/write pause\s+\d+\.\d\d s/);
    expect(run.stdout).toMatch(/reads\s+\d+ ok, 0 errors/);
    expect(run.stdout).toMatch(/lost writes\s+0 of \d+/);
  });

  it('refuses a plain Chroma server and an address where nothing listens, with exit code 2', async () => {
    h = new Harness();
    const chroma = await h.chroma();
    const nothing = `http://127.0.0.1:${await freePort()}`;
    const [plain, none, usage] = await Promise.all([
      failoverTest(['--url', chroma.url, '--kill-cmd', 'true']),
      failoverTest(['--url', nothing, '--kill-cmd', 'true']),
      failoverTest(['--url', chroma.url]),
    ]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain(`${chroma.url} is a Chroma server, not a chroma-ha gateway: GET /status answered 404`);
    expect(plain.stderr).toContain('Point --url at the chroma-ha gateway');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`cannot reach ${nothing}: ECONNREFUSED`);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--kill-cmd');
    // Nothing was written to the Chroma server.
    expect(await probeCollections(chroma.url)).toEqual([]);
  });
});
