// Issue 9, acceptance 3: records written straight to a replica (added, changed, deleted) and a collection
// created behind the gateway's back are found by `chroma-ha verify` (exit 1, naming node, collection and
// differences), fixed by `chroma-ha repair` (exit 0), after which verify exits 0. Verify run while clients
// write through the gateway reports no difference. The admin API refuses missing or wrong tokens (401) and
// does not exist without ADMIN_TOKEN (404). Draining a replica takes it out of reads until undrained.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, COLLECTIONS, Harness, PATIENT_PROBES, cliEnv, gatewayUrl, http } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { fillThroughGateway } from '../helpers/backup.js';
import { clientLoad, seedRecord } from '../helpers/lifecycle.js';

const run = promisify(execFile);
const TOKEN = 'admin-token-for-tests-0123456789';

async function cli(args: string[], env: Record<string, string> = {}) {
  const r = await run(process.execPath, [CLI, ...args], { env: cliEnv(env) }).then(
    (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
  return r;
}

/** A collection of `records` 16-d seed records, created and filled through the gateway. */
const fill = (base: string, name: string, records: number, metadata?: Record<string, unknown>) =>
  fillThroughGateway(base, 'default_database', name, records, 16, { metadata });

describe('verify and repair', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('finds direct writes to a replica, repairs them, and ignores concurrent writes', async () => {
    h = new Harness();
    const [primary, r1, r2] = await h.chromaCluster(3);
    const gw = await h.gateway([primary!, r1!, r2!], { ...PATIENT_PROBES, ADMIN_TOKEN: TOKEN });
    const base = gatewayUrl(gw);
    const ids = { alpha: await fill(base, 'alpha', 400), beta: await fill(base, 'beta', 200) };
    await waitStatusInSync(base);

    // The admin API wants the token.
    expect((await http(base, 'GET', '/admin/nodes')).status).toBe(401);
    expect((await http(base, 'POST', '/admin/verify', undefined, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    const nodes = await http(base, 'GET', '/admin/nodes', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(nodes.status).toBe(200);
    expect(nodes.json.nodes.map((n: { name: string; lifecycle: string }) => [n.name, n.lifecycle])).toEqual([
      ['primary', 'member'],
      ['replica-1', 'member'],
      ['replica-2', 'member'],
    ]);
    expect((await cli(['verify', '--url', base, '--token', 'wrong-token-wrong-token'])).code).toBe(2);

    // Drain: a drained replica gets no reads until undrained; unknown nodes 404, the primary is never refilled.
    const auth = { authorization: `Bearer ${TOKEN}` };
    const servers = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 24; i++) seen.add((await http(base, 'GET', `${COLLECTIONS}/${ids.alpha}/count`)).headers.get('x-chroma-ha-node')!);
      return seen;
    };
    expect((await http(base, 'POST', '/admin/nodes/replica-1/drain', undefined, auth)).json).toEqual({ node: 'replica-1', drained: true });
    expect([...(await servers())].sort()).toEqual(['primary', 'replica-2']);
    expect((await http(base, 'GET', '/status')).json.nodes[1].drained).toBe(true);
    expect((await http(base, 'POST', '/admin/nodes/replica-1/undrain', undefined, auth)).json).toEqual({ node: 'replica-1', drained: false });
    expect([...(await servers())].sort()).toEqual(['primary', 'replica-1', 'replica-2']);
    expect((await http(base, 'POST', '/admin/nodes/nope/drain', undefined, auth)).status).toBe(404);
    expect((await http(base, 'POST', '/admin/nodes/primary/resync', undefined, auth)).status).toBe(409);
    expect((await http(base, 'POST', '/admin/nodes/replica-1/drain')).status).toBe(401);

    // Identical, even while a client writes through the gateway during the comparison.
    const load = clientLoad(base, [{ database: 'default_database', name: 'alpha', records: 400, dimensions: 16 }], { alpha: ids.alpha });
    const clean = await cli(['verify', '--url', base], { ADMIN_TOKEN: TOKEN });
    const seen = await load.stop();
    expect(seen.failures).toEqual([]);
    expect(seen.writes).toBeGreaterThan(0);
    expect(clean.stdout).toContain('All nodes are identical.');
    expect(clean.code).toBe(0);

    // Behind the gateway's back: on replica-2, one record added, one changed, one deleted; on replica-1 a new collection.
    await waitStatusInSync(base);
    const onR2 = (await http(r2!.url, 'GET', `${COLLECTIONS}/alpha`)).json.id;
    const rogue = seedRecord('rogue', 1, 16);
    expect((await http(r2!.url, 'POST', `${COLLECTIONS}/${onR2}/add`, { ids: ['rogue-1'], embeddings: [rogue.embedding] })).status).toBe(201);
    expect((await http(r2!.url, 'POST', `${COLLECTIONS}/${onR2}/update`, { ids: ['alpha-5'], metadatas: [{ tampered: true }] })).status).toBe(200);
    expect((await http(r2!.url, 'POST', `${COLLECTIONS}/${onR2}/delete`, { ids: ['alpha-7'] })).status).toBe(200);
    expect((await http(r1!.url, 'POST', COLLECTIONS, { name: 'behind-the-back' })).status).toBe(200);

    const dirty = await cli(['verify', '--url', base, '--token', TOKEN]);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain('replica-1: DIFFERENT');
    expect(dirty.stdout).toContain('extra collection default_tenant/default_database/behind-the-back');
    expect(dirty.stdout).toContain('replica-2: DIFFERENT');
    expect(dirty.stdout).toMatch(/default_tenant\/default_database\/alpha: \d+ record\(s\) on replica-2, \d+ on the primary: 1 missing, 1 extra, 1 different/);
    expect(dirty.stdout).toContain('The nodes are NOT identical.');

    const repaired = await cli(['repair', '--url', base], { ADMIN_TOKEN: TOKEN });
    expect(repaired.stdout).toContain('Repair done.');
    expect(repaired.code).toBe(0);
    const after = await cli(['verify', '--url', base], { ADMIN_TOKEN: TOKEN });
    expect(after.stdout).toContain('All nodes are identical.');
    expect(after.code).toBe(0);
    // The repaired replicas serve reads again, with the primary's content.
    await waitStatusInSync(base);
    const got = await http(r2!.url, 'POST', `${COLLECTIONS}/${onR2}/get`, { ids: ['alpha-5', 'alpha-7', 'rogue-1'], include: ['metadatas'] });
    expect(got.json.ids.sort()).toEqual(['alpha-5', 'alpha-7']);
    expect(got.json.metadatas.some((m: Record<string, unknown>) => 'tampered' in m)).toBe(false);
  }, 120_000);

  it('has no admin API without ADMIN_TOKEN', async () => {
    h = new Harness();
    const gw = await h.gateway([await h.chroma()]);
    const r = await http(gatewayUrl(gw), 'POST', '/admin/verify', undefined, { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(404);
    expect(r.json.message).toContain('ADMIN_TOKEN');
    const viaCli = await cli(['verify', '--url', gatewayUrl(gw), '--token', TOKEN]);
    expect(viaCli.code).toBe(2);
    expect(viaCli.stderr).toContain('without ADMIN_TOKEN');
  });
});
