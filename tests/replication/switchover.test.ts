// Issue 9, acceptance 5 (second half): a planned switchover to a named replica under open-loop read and
// write load. Writes are held while the target applies the last committed entries, then it is promoted with
// the failover's epoch transaction: no client request fails, no acknowledged write is lost, the write pause
// is reported (answer, /status), and automatic failback to the configured primary does not undo the
// operator's choice. Refusals: unknown node (404), the primary itself, a node that is down, removing the
// primary (409 with the reason), no token (401); the CLI exits 1 with the reason. Both stores.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { OpenLoopStream } from '../helpers/open-loop.js';
import { ADMIN_TOKEN, admin, runCli } from '../helpers/admin.js';

describe.each(['sqlite', 'postgres'] as const)('planned switchover (%s store)', (store) => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('hands the primary role over under load with no failed request and no lost write, and refuses what it cannot do', async () => {
    h = new Harness();
    const [primary, r1, r2] = await h.chromaCluster(3);
    // Spot checks as often as they go: one of the target, due while the switchover holds the write lane, must not stall it.
    const env = { ...PATIENT_PROBES, ADMIN_TOKEN, SPOT_CHECK_INTERVAL: '0.01', ...(store === 'postgres' ? { DATABASE_URL: await h.pgDatabaseUrl() } : {}) };
    const gw = await h.gateway([primary!, r1!, r2!], env);
    const base = gatewayUrl(gw);
    const created = await http(base, 'POST', COLLECTIONS, { name: 'stream' });
    expect(created.status).toBe(200);
    const other = await http(base, 'POST', COLLECTIONS, { name: 'other' });
    expect(other.status).toBe(200);
    await waitStatusInSync(base);

    expect((await admin(base, 'POST', '/admin/switchover', { to: 'replica-1' }, null)).status).toBe(401);
    expect(await admin(base, 'POST', '/admin/switchover', { to: 'replica-9' })).toMatchObject({ status: 404, json: { error: 'NotFoundError', message: expect.stringMatching(/no node named replica-9/) } });
    expect(await admin(base, 'POST', '/admin/switchover', { to: 'primary' })).toMatchObject({ status: 409, json: { message: 'primary is already the primary' } });
    expect((await admin(base, 'POST', '/admin/switchover', {})).status).toBe(400);

    // ~45 writes/s in all, which a primary deciding interleaved single writes sustains on a loaded 2-core
    // machine: at 90/s and load 12 the new primary decided ~20-30 such writes/s (group commit merges only
    // consecutive writes to one collection, and these alternate), a backlog grew and writes hit WRITE_TIMEOUT.
    const stream = new OpenLoopStream(base, created.json.id, { readEveryMs: 20, writeEveryMs: 40 });
    const otherStream = new OpenLoopStream(base, other.json.id, { readEveryMs: 50, writeEveryMs: 50 });
    stream.start();
    otherStream.start();
    await waitFor('writes acknowledged before the switchover', () => stream.ackedIds().length >= 30, 30_000);
    const startedAt = performance.now();
    const res = await admin(base, 'POST', '/admin/switchover', { to: 'replica-1' });
    const endedAt = performance.now();
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ from: 'primary', to: 'replica-1', epoch: expect.any(Number), reason: expect.stringMatching(/planned switchover from primary to replica-1/) });
    expect(res.json.writePauseMs).toBeGreaterThanOrEqual(0);
    expect(res.json.writePauseMs).toBeLessThanOrEqual(2_000);
    expect(gw.cluster.primary.name).toBe('replica-1');
    // The operator's choice holds while load goes on: failback to the higher-priority configured primary
    // (healthy and in sync) would show up here within a few of the coordinator's 100 ms ticks.
    const primaries = new Set<string>();
    const sample = setInterval(() => primaries.add(gw.cluster.primary.name), 5);
    const acked = stream.ackedIds().length;
    await waitFor('writes acknowledged after the switchover', () => stream.ackedIds().length >= acked + 50, 30_000);
    clearInterval(sample);
    await stream.stop();
    await otherStream.stop();
    expect([...primaries]).toEqual(['replica-1']);
    expect(stream.failures).toEqual([]);
    expect(otherStream.failures).toEqual([]);
    const during = stream.writeSamples.filter((s) => s.startedAt >= startedAt && s.startedAt < endedAt);
    expect(during.length).toBeGreaterThan(0); // writes really were sent while it happened
    // No acknowledged write lost: every node, the new primary first, holds every acknowledged id exactly once.
    const status = await waitStatusInSync(base);
    expect(status.primary).toBe('replica-1');
    expect(status.failovers.last).toMatchObject({ kind: 'switchover', from: 'primary', to: 'replica-1', writePauseMs: res.json.writePauseMs, preferredPrimary: r1!.url });
    for (const [name, s] of [['stream', stream], ['other', otherStream]] as const) {
      const ackedIds = s.ackedIds();
      for (const node of [r1!, primary!, r2!]) {
        const col = await http(node.url, 'GET', `${COLLECTIONS}/${name}`);
        const got = await http(node.url, 'POST', `${COLLECTIONS}/${col.json.id}/get`, { include: [], limit: 100_000 });
        expect(got.json.ids.length).toBe(ackedIds.length);
        expect(new Set(got.json.ids)).toEqual(new Set(ackedIds));
      }
    }

    // Refusals after the switchover: the new primary cannot be removed; a node that is down cannot take over.
    const removal = await admin(base, 'DELETE', '/admin/nodes/replica-1');
    expect(removal).toMatchObject({ status: 409, json: { error: 'ConflictError', message: expect.stringMatching(/replica-1 is the primary/) } });
    await r2!.kill();
    await waitFor('replica-2 marked down', () => gw.cluster.nodes.find((n) => n.name === 'replica-2')?.health === 'down', 15_000);
    const down = await admin(base, 'POST', '/admin/switchover', { to: 'replica-2' });
    expect(down).toMatchObject({ status: 409, json: { error: 'ConflictError', message: expect.stringMatching(/^replica-2 is down/) } });
    const cli = await runCli(['switchover', '--to', 'replica-2', '--url', base], { ADMIN_TOKEN });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/refused \(409\): replica-2 is down/);
    // Back to the configured primary through the CLI: the write pause is printed.
    const back = await runCli(['switchover', '--to', 'primary', '--url', base, '--token', ADMIN_TOKEN]);
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(/switchover done: primary is primary \(was replica-1, epoch \d+\); writes paused \d+ ms/);
    expect(gw.cluster.primary.name).toBe('primary');
  });
});
