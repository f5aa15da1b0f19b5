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
import { Harness, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { nodeDigests, runCli } from '../helpers/backup.js';
import { DATABASES, TOKEN, backupUnderLoad, restoreAndCompare, sourceCluster, type StoreEnv } from './round-trip.js';

const BIG = 20_000;
const auth = { authorization: `Bearer ${TOKEN}` };

/** Restored report lines `  tenant/db/name: N of M record(s) ...` as name -> N. */
function reported(stderr: string): Map<string, number> {
  return new Map([...stderr.matchAll(/^ {2}default_tenant\/(\S+): (\d+) of \d+ record/gm)].map((m) => [m[1]!, Number(m[2])]));
}

describe('backup and restore', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('backs up a consistent snapshot under writes and restores it identically into a fresh cluster (SQLite)', async () => {
    h = new Harness();
    const sqlite: StoreEnv = async (cluster) => ({ DATA_DIR: join(h.dir, `store-${cluster}`) });
    const src = await sourceCluster(h, BIG, sqlite);
    const { gw, base, env } = src;

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

    const { file, ackedBefore } = await backupUnderLoad(h, src);
    const expected = await restoreAndCompare(h, src, file, ackedBefore, sqlite);

    // Broken files, each into an empty single-node cluster: refused where they break, report exact.
    const whole = readFileSync(file);
    const truncated = join(h.dir, 'truncated.gz');
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.15)));
    const flipped = join(h.dir, 'flipped.gz');
    const bad = Buffer.from(whole);
    const at = Math.floor(bad.length * 0.08);
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
