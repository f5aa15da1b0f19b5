// Issue 9, acceptance 6: `chroma-ha backup` of a cluster (20,000 × 384-d records in one collection, a second
// database with a collection carrying metadata and uris) taken while a client reads and writes through the
// gateway, restored with `chroma-ha restore` into a fresh cluster: every node of the new cluster holds exactly
// the source's content at the backup's log position (verify's digests), the writes that came later are
// absent, and none of the client's requests failed. A client that goes away releases the pinned replica.
// A truncated file and a flipped byte are refused naming the chunk, and the report of what was restored
// before is exact; a non-empty target is refused; a wrong token is 401 (exit 2); no replica: refused (exit 1).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { clientLoad } from '../helpers/lifecycle.js';
import { fillThroughGateway, nodeDigests, runCli, type CollectionDigests } from '../helpers/backup.js';

const TOKEN = 'admin-token-for-backup-tests-0123';
const BIG = 20_000;
const NOTES = 600;
const DATABASES = ['default_database', 'second'];
const auth = { authorization: `Bearer ${TOKEN}` };

/** Restored report lines `  tenant/db/name: N of M record(s) ...` as name -> N. */
function reported(stderr: string): Map<string, number> {
  return new Map([...stderr.matchAll(/^ {2}default_tenant\/(\S+): (\d+) of \d+ record/gm)].map((m) => [m[1]!, Number(m[2])]));
}

describe('backup and restore', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('backs up a consistent snapshot under writes and restores it identically into a fresh cluster', async () => {
    h = new Harness();
    const env = { ...PATIENT_PROBES, ADMIN_TOKEN: TOKEN, WRITE_TIMEOUT: '30', REQUEST_TIMEOUT: '30' };
    const [primary, replica] = await h.chromaCluster(2);
    const gw = await h.gateway([primary!, replica!], env);
    const base = gatewayUrl(gw);
    const ids = {
      big: await fillThroughGateway(base, 'default_database', 'big', BIG, 384),
      notes: await fillThroughGateway(base, 'second', 'notes', NOTES, 8, { metadata: { topic: 'notes', version: 3, reviewed: true }, uris: true }),
    };
    await waitStatusInSync(base, 120_000);

    // A wrong token is refused before anything is pinned.
    expect((await http(base, 'POST', '/admin/backup', undefined, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    const wrong = await runCli(['backup', '--url', base, '--out', join(h.dir, 'never.gz'), '--token', 'wrong-token-wrong-token']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/refused the admin token \(401\)/);

    // A client that reads a little and goes away: the replica is pinned, then released.
    const abandoned = new AbortController();
    const partial = await fetch(`${base}/admin/backup`, { method: 'POST', headers: auth, signal: abandoned.signal });
    expect(partial.status).toBe(200);
    await partial.body!.getReader().read();
    expect(gw.cluster.nodes[1]!.lifecycle).toBe('resync');
    abandoned.abort();
    await waitFor('the abandoned backup to release the replica', () => gw.cluster.nodes[1]!.lifecycle === 'member', 30_000);

    const load = clientLoad(base, [{ database: 'default_database', name: 'big', records: BIG, dimensions: 384 }, { database: 'second', name: 'notes', records: NOTES, dimensions: 8 }], ids);
    await waitFor('the client to have written', () => load.writesSoFar() >= 4, 30_000);
    const ackedBefore = load.writesSoFar();
    const file = join(h.dir, 'cluster.backup.gz');
    const backup = await runCli(['backup', '--url', base, '--out', file], { ADMIN_TOKEN: TOKEN });
    const ackedAfterBackup = load.writesSoFar();
    await waitFor('the client to write after the backup', () => load.writesSoFar() >= ackedAfterBackup + 4, 30_000);
    const seen = await load.stop();
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stderr).toMatch(/backup: replica-1 pinned at log position \d+/);
    expect(backup.stderr).toMatch(/backup: \d+\/\d+ records \(100%\)/);
    expect(backup.stdout).toMatch(/backup written to .*: 2 collection\(s\), \d+ record\(s\), position \d+ .*sha256 [0-9a-f]{64}/);
    expect(seen.failures).toEqual([]);
    await waitStatusInSync(base, 120_000);

    // Consistent: the client's writes (n-th write adds `<collection>-live-<n>`, one at a time) in the backup
    // are exactly a prefix of them, including every write acknowledged before the backup was asked for.
    const source = await nodeDigests(primary!.url, DATABASES);
    const live = (m: Map<string, CollectionDigests>) =>
      [...m.values()].flatMap((c) => [...c.records.keys()]).map((id) => /-live-(\d+)$/.exec(id)).filter((x) => x !== null).map((x) => Number(x![1]));

    // Restore into a fresh cluster (its own nodes and log), checked first to be a chroma-ha gateway.
    const [p2, r2] = await h.chromaCluster(2);
    const gw2 = await h.gateway([p2!, r2!], { ...env, DATA_DIR: join(h.dir, 'store-2') });
    const base2 = gatewayUrl(gw2);
    const restored = await runCli(['restore', file, '--url', base2, '--token', TOKEN]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/restore complete in .*: 2 collection\(s\), \d+ record\(s\) from the backup of replica-1 at log position \d+/);
    await waitStatusInSync(base2, 120_000);

    const onRestoredPrimary = await nodeDigests(p2!.url, DATABASES);
    const inBackup = live(onRestoredPrimary).sort((a, b) => a - b);
    const k = inBackup.length;
    expect(inBackup).toEqual(Array.from({ length: k }, (_, n) => n));
    expect(k).toBeGreaterThanOrEqual(ackedBefore);
    expect(Math.max(...live(source))).toBeGreaterThanOrEqual(k); // later writes exist on the source, not in the backup
    // The source's content at the backup's position: everything but the client's writes from the k-th on.
    const expected = new Map(
      [...source].map(([name, c]) => [name, { metadata: c.metadata, records: new Map([...c.records].filter(([id]) => !(Number(/-live-(\d+)$/.exec(id)?.[1] ?? -1) >= k))) }]),
    );
    expect(expected.get('default_database/big')!.records.size).toBeGreaterThanOrEqual(BIG);
    for (const node of [p2!, r2!]) {
      const got = node === p2 ? onRestoredPrimary : await nodeDigests(node.url, DATABASES);
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [name, want] of expected) {
        expect(got.get(name)!.metadata, `${name} metadata on ${node.url}`).toBe(want.metadata);
        const have = got.get(name)!.records;
        expect(have.size, `${name} on ${node.url}`).toBe(want.records.size);
        expect([...want.records].filter(([id, d]) => have.get(id) !== d).length, `records of ${name} differing on ${node.url}`).toBe(0);
      }
    }

    // The target is no longer empty: refused, nothing written.
    const again = await runCli(['restore', file, '--url', base2]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/the target cluster is not empty \(.*default_tenant\/default_database holds 1 collection\(s\)/);
    expect(again.stderr).toMatch(/default_tenant\/second holds 1 collection\(s\).*restore loads only into an empty cluster, nothing was written/);
    expect(again.stderr).toMatch(/restored before it stopped: 0 collection\(s\), 0 record\(s\)/);

    // Broken files, each into an empty single-node cluster: refused where they break, report exact.
    const whole = readFileSync(file);
    const truncated = join(h.dir, 'truncated.gz');
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const flipped = join(h.dir, 'flipped.gz');
    const bad = Buffer.from(whole);
    const at = Math.floor(bad.length * 0.3);
    bad[at] = bad[at]! ^ 0x20;
    writeFileSync(flipped, bad);
    for (const [broken, why] of [
      [truncated, /truncated/],
      [flipped, /checksum does not match|compressed data is corrupt/],
    ] as const) {
      const node = await h.chroma();
      const gw3 = await h.gateway([node], { ...env, DATA_DIR: join(h.dir, `store-${broken.length}-${Date.now()}`) });
      const r = await runCli(['restore', broken, '--url', gatewayUrl(gw3)]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/restore stopped: the backup is broken at chunk \d+ \(byte \d+ of the decompressed data, about byte \d+ of the file\)/);
      expect(r.stderr).toMatch(why);
      expect(r.stderr).toMatch(/last good chunk was chunk \d+, records \d+-\d+ of collection default_tenant\/default_database\/big/);
      const claimed = reported(r.stderr);
      const bigCount = claimed.get('default_database/big')!;
      expect(bigCount).toBeGreaterThan(0);
      expect(bigCount).toBeLessThan(BIG);
      expect(claimed.has('second/notes')).toBe(false); // sorted after big: never reached
      const onNode = await nodeDigests(node.url, DATABASES);
      expect([...onNode.keys()]).toEqual(['default_database/big']);
      expect(onNode.get('default_database/big')!.records.size).toBe(bigCount);
      const wrongRecords = [...onNode.get('default_database/big')!.records].filter(([id, d]) => expected.get('default_database/big')!.records.get(id) !== d);
      expect(wrongRecords.length).toBe(0);
      await h.stopGateway(gw3);
    }

    // No replica to pin: refused with the reason (exit 1), not a backup from the primary under writes.
    const alone = await h.chroma();
    const gw4 = await h.gateway([alone], { ...env, DATA_DIR: join(h.dir, 'store-alone') });
    const refused = await runCli(['backup', '--url', gatewayUrl(gw4), '--out', join(h.dir, 'alone.gz'), '--token', TOKEN]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the backup \(409\): cannot take a consistent backup: the cluster has no replica/);
  }, 600_000);
});
