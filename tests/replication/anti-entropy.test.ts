// Issue 9, anti-entropy and what verify compares beyond records. With ANTI_ENTROPY_INTERVAL set, records
// written straight to a replica (added, changed, deleted) are found and repaired by the gateway on its own,
// /status and /metrics show the pass, and the nodes end identical. Verify reports, and repair fixes, a
// database missing on a replica (in a tenant only the compacted log knew, learnt across a gateway restart),
// a missing tenant, an extra database, a collection deleted on the replica, and a collection whose metadata or configuration differs. The maintenance slot refuses
// a second job with the reason.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, COLLECTIONS, Harness, PATIENT_PROBES, cliEnv, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { clientLoad, contentOf, seedRecord } from '../helpers/lifecycle.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { fillThroughGateway } from '../helpers/backup.js';
import { MaintenanceSlot } from '../../src/replication/maintenance.js';

const TOKEN = 'admin-token-for-tests-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/** A collection of `records` 16-d seed records, created and filled through the gateway. */
const fill = (base: string, name: string, records: number, metadata?: Record<string, unknown>) =>
  fillThroughGateway(base, 'default_database', name, records, 16, { metadata });

/** An admin call that may meet the maintenance slot taken (409) by a running pass: retried until it gets in. */
async function admin(base: string, path: string) {
  return waitFor(`${path} to get the maintenance slot`, async () => {
    const r = await http(base, 'POST', path, undefined, auth);
    if (r.status === 409) return null;
    expect(r.status).toBe(200);
    return r.json;
  }, 60_000, 100);
}

describe('maintenance slot', () => {
  it('runs one job at a time and refuses another with what runs and for how long', async () => {
    let now = 1_000;
    const slot = new MaintenanceSlot(() => now);
    let release!: () => void;
    const first = slot.run('anti-entropy pass', () => new Promise<void>((r) => (release = r)));
    now += 4_000;
    const refused = await slot.run('verify', async () => 'ran').catch((e: { status: number; message: string }) => e);
    expect(refused).toMatchObject({ status: 409 });
    expect((refused as { message: string }).message).toContain('a anti-entropy pass has been running for 4 s');
    release();
    await first;
    expect(slot.running).toBeNull();
    expect(await slot.run('verify', async () => 'ran')).toBe('ran');
  });
});

describe('anti-entropy', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('finds and repairs direct writes to a replica without any admin call', async () => {
    h = new Harness();
    const [primary, replica] = await h.chromaCluster(2);
    const gw = await h.gateway([primary!, replica!], { ...PATIENT_PROBES, ADMIN_TOKEN: TOKEN, ANTI_ENTROPY_INTERVAL: '0.5' });
    const base = gatewayUrl(gw);
    await fill(base, 'alpha', 300);
    await waitStatusInSync(base);
    const clean = await waitFor('a first pass', async () => (await http(base, 'GET', '/status')).json.antiEntropy?.last ?? null, 30_000, 100);
    expect(clean.outcome).toBe('identical');

    const onReplica = (await http(replica!.url, 'GET', `${COLLECTIONS}/alpha`)).json.id;
    const rogue = seedRecord('rogue', 1, 16);
    const tamperedAt = Date.now();
    expect((await http(replica!.url, 'POST', `${COLLECTIONS}/${onReplica}/add`, { ids: ['rogue-1'], embeddings: [rogue.embedding] })).status).toBe(201);
    expect((await http(replica!.url, 'POST', `${COLLECTIONS}/${onReplica}/update`, { ids: ['alpha-5'], metadatas: [{ tampered: true }] })).status).toBe(200);
    expect((await http(replica!.url, 'POST', `${COLLECTIONS}/${onReplica}/delete`, { ids: ['alpha-7'] })).status).toBe(200);

    const repaired = await waitFor(
      'a pass that repairs the replica',
      async () => {
        const last = (await http(base, 'GET', '/status')).json.antiEntropy?.last;
        return last && Date.parse(last.startedAt) >= tamperedAt && last.outcome !== 'skipped' ? last : null;
      },
      30_000,
      100,
    );
    expect(repaired).toMatchObject({ outcome: 'repaired', identical: false, nodesRepaired: 1, recordsDeleted: 1 });
    // The changed record is deleted and re-added, the deleted one added back: two written.
    expect(repaired.recordsWritten).toBe(2);
    const metrics = (await http(base, 'GET', '/metrics')).text;
    expect(metrics).toMatch(/chroma_ha_anti_entropy_last_pass_records\{action="written"\} [1-9]/);
    expect(metrics).toMatch(/chroma_ha_anti_entropy_passes [1-9]/);

    // Identical now: the next pass says so, an admin verify agrees, and the content matches the primary's.
    await waitStatusInSync(base);
    expect((await admin(base, '/admin/verify')).identical).toBe(true);
    expect(await contentOf(replica!.url, ['default_database'])).toEqual(await contentOf(primary!.url, ['default_database']));
    await waitFor('an identical pass after the repair', async () => {
      const last = (await http(base, 'GET', '/status')).json.antiEntropy?.last;
      return last && Date.parse(last.startedAt) > Date.parse(repaired.finishedAt) && last.outcome === 'identical';
    }, 30_000, 100);
  }, 90_000);
});

describe('anti-entropy with two gateways on one PostgreSQL log', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('runs on the leaseholder only, and repairs nothing while clients write through both gateways', async () => {
    h = new Harness();
    const [primary, replica] = await h.chromaCluster(2);
    const env = { ...PATIENT_PROBES, DATABASE_URL: await h.pgDatabaseUrl(), ANTI_ENTROPY_INTERVAL: '0.3' };
    const first = await h.gateway([primary!, replica!], env);
    await waitFor('the first gateway to take the lease', () => first.lease.isHeld());
    const second = await h.gateway([primary!, replica!], env);
    const id = await fill(gatewayUrl(first), 'alpha', 200);
    await waitStatusInSync(gatewayUrl(first));

    const seeded = [{ database: 'default_database', name: 'alpha', records: 200, dimensions: 16 }];
    const loads = [clientLoad(gatewayUrl(first), seeded, { alpha: id }), clientLoad(gatewayUrl(second), seeded, { alpha: id })];
    // Every pass seen while the clients write, by start time.
    const seen = new Map<number, { outcome: string; recordsWritten: number; recordsDeleted: number }>();
    const startPasses = first.antiEntropy.status().passes;
    await waitFor('four passes under write load', () => {
      const last = first.antiEntropy.status().last;
      if (last) seen.set(last.startedAt, last);
      return first.antiEntropy.status().passes >= startPasses + 4;
    }, 60_000, 10);
    const results = await Promise.all(loads.map((l) => l.stop()));
    for (const r of results) {
      expect(r.failures).toEqual([]);
      expect(r.writes).toBeGreaterThan(0);
    }
    expect(seen.size).toBeGreaterThanOrEqual(2);
    expect([...seen.values()].every((p) => p.outcome === 'identical' && p.recordsWritten + p.recordsDeleted === 0)).toBe(true);
    expect(second.antiEntropy.status().passes).toBe(0);
    expect((await http(gatewayUrl(second), 'GET', '/status')).json.antiEntropy).toMatchObject({ intervalSeconds: 0.3, passes: 0, last: null });
    await waitStatusInSync(gatewayUrl(first));
    expect(await contentOf(replica!.url, ['default_database'])).toEqual(await contentOf(primary!.url, ['default_database']));
  }, 90_000);
});

describe('verify and repair beyond records', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('reports and repairs missing tenants, missing and extra databases, a deleted collection, collection metadata and configuration', async () => {
    h = new Harness();
    const [primary, replica] = await h.chromaCluster(2);
    const env = { ...PATIENT_PROBES, ADMIN_TOKEN: TOKEN, LOG_RETENTION_ENTRIES: '1', LOG_RETENTION_SECONDS: '0.001' };
    let gw = await h.gateway([primary!, replica!], env);
    let base = gatewayUrl(gw);
    // A tenant with an empty database: only the log's create_tenant and create_database entries name it.
    expect((await http(base, 'POST', '/api/v2/tenants', { name: 'acme' })).status).toBe(200);
    expect((await http(base, 'POST', '/api/v2/tenants/acme/databases', { name: 'sales' })).status).toBe(200);
    await fill(base, 'alpha', 50);
    await fill(base, 'beta', 20, { owner: 'ops' });
    await fill(base, 'gamma', 10);
    await waitStatusInSync(base);
    // Compaction deletes those entries; then a new gateway (nothing in memory) must still know the tenant.
    await waitFor('the tenant entries compacted away', async () => (await http(base, 'GET', '/status')).json.log.oldestRetained > 3, 30_000, 200);
    await h.stopGateway(gw);
    gw = await h.gateway([primary!, replica!], env);
    base = gatewayUrl(gw);
    await waitStatusInSync(base);
    expect((await admin(base, '/admin/verify')).identical).toBe(true);

    // A tenant only the primary holds, known from a log another gateway compacted (as it would have recorded it).
    expect((await http(primary!.url, 'POST', '/api/v2/tenants', { name: 'ghost' })).status).toBe(200);
    expect((await http(primary!.url, 'POST', '/api/v2/tenants/ghost/databases', { name: 'ghostdb' })).status).toBe(200);
    const known = JSON.parse((await gw.store.readClusterValues()).get('known_tenants')!) as string[];
    await gw.store.setClusterValue('known_tenants', JSON.stringify([...known, 'ghost']));
    // Behind the gateway's back, on the replica.
    expect((await http(replica!.url, 'DELETE', '/api/v2/tenants/acme/databases/sales')).status).toBe(200);
    expect((await http(replica!.url, 'POST', '/api/v2/tenants/default_tenant/databases', { name: 'rogue_db' })).status).toBe(200);
    const beta = (await http(replica!.url, 'GET', `${COLLECTIONS}/beta`)).json.id;
    expect((await http(replica!.url, 'PUT', `${COLLECTIONS}/${beta}`, { new_metadata: { owner: 'intruder' } })).status).toBe(200);
    const alpha = (await http(replica!.url, 'GET', `${COLLECTIONS}/alpha`)).json.id;
    expect((await http(replica!.url, 'PUT', `${COLLECTIONS}/${alpha}`, { new_configuration: { hnsw: { ef_search: 77 } } })).status).toBe(200);
    expect((await http(replica!.url, 'DELETE', `${COLLECTIONS}/gamma`)).status).toBe(200);

    const printed = await promisify(execFile)(process.execPath, [CLI, 'verify', '--url', base, '--token', TOKEN], { env: cliEnv() }).then(
      (ok) => ({ code: 0, stdout: ok.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
    );
    expect(printed.code).toBe(1);
    for (const line of ['missing tenant ghost', 'missing database acme/sales', 'extra database default_tenant/rogue_db', 'missing collection default_tenant/default_database/gamma']) {
      expect(printed.stdout).toContain(line);
    }
    expect(printed.stdout).toMatch(/default_database\/alpha: .*collection configuration differs/);
    expect(printed.stdout).toMatch(/default_database\/beta: .*collection metadata differs/);
    const dirty = await admin(base, '/admin/verify');
    expect(dirty.identical).toBe(false);
    const node = dirty.nodes.find((n: { node: string }) => n.node === 'replica-1');
    expect(node.missingTenants).toEqual(['ghost']);
    expect(node.missingDatabases.sort()).toEqual(['acme/sales', 'ghost/ghostdb']);
    expect(node.extraDatabases).toEqual(['default_tenant/rogue_db']);
    expect(node.missingCollections).toEqual(['default_tenant/default_database/gamma']);
    const byName = Object.fromEntries(node.collections.map((c: { collection: string }) => [c.collection, c]));
    expect(byName['default_tenant/default_database/beta']).toMatchObject({ metadataDiffers: true, configurationDiffers: false, missing: 0, extra: 0, different: 0 });
    expect(byName['default_tenant/default_database/alpha']).toMatchObject({ metadataDiffers: false, configurationDiffers: true, missing: 0, extra: 0, different: 0 });

    const repair = await admin(base, '/admin/repair');
    expect(repair.done).toBe(true);
    expect(repair.repairs[0]).toMatchObject({ node: 'replica-1', action: 'repaired', databasesCreated: 2, databasesDropped: 1 });
    expect(repair.after.identical).toBe(true);
    expect((await http(replica!.url, 'GET', '/api/v2/tenants/acme/databases/sales')).status).toBe(200);
    expect((await http(replica!.url, 'GET', '/api/v2/tenants/ghost/databases/ghostdb')).status).toBe(200);
    expect((await http(replica!.url, 'GET', '/api/v2/tenants/default_tenant/databases/rogue_db')).status).not.toBe(200);
    expect((await http(replica!.url, 'GET', `${COLLECTIONS}/beta`)).json.metadata).toEqual({ owner: 'ops' });
    await waitStatusInSync(base);
    expect(await contentOf(replica!.url, ['default_database'])).toEqual(await contentOf(primary!.url, ['default_database']));
    expect((await admin(base, '/admin/verify')).identical).toBe(true);
  }, 120_000);
});
