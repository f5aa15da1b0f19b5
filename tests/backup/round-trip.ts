// The backup round trip shared by the SQLite and PostgreSQL tests: a source cluster (primary + replica) with a
// large 384-d collection and a second database whose collection carries metadata and uris; a backup taken
// while a client reads and writes through the gateway; a restore into a fresh cluster whose every node must
// then hold exactly the source's content at the backup's log position (verify's digests).
import { join } from 'node:path';
import { expect } from 'vitest';
import { Harness, PATIENT_PROBES, gatewayUrl, waitFor, type ChromaProcess } from '../helpers/cluster.js';
import type { Env } from '../../src/config/load.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { clientLoad } from '../helpers/lifecycle.js';
import { fillThroughGateway, nodeDigests, runCli, type CollectionDigests } from '../helpers/backup.js';

export const TOKEN = 'admin-token-for-backup-tests-0123';
export const DATABASES = ['default_database', 'second'];
const NOTES = 600;

/** Where a gateway keeps its log: its own SQLite directory or PostgreSQL schema per cluster. */
export type StoreEnv = (cluster: string) => Promise<Env>;

export interface Source {
  gw: Gateway;
  base: string;
  primary: ChromaProcess;
  env: Env;
  big: number;
}

export async function sourceCluster(h: Harness, big: number, store: StoreEnv): Promise<Source> {
  const env = { ...PATIENT_PROBES, ADMIN_TOKEN: TOKEN, WRITE_TIMEOUT: '30', REQUEST_TIMEOUT: '30' };
  const [primary, replica] = await h.chromaCluster(2);
  const gw = await h.gateway([primary!, replica!], { ...env, ...(await store('source')) });
  const base = gatewayUrl(gw);
  await fillThroughGateway(base, 'default_database', 'big', big, 384);
  await fillThroughGateway(base, 'second', 'notes', NOTES, 8, { metadata: { topic: 'notes', version: 3, reviewed: true }, uris: true });
  await waitStatusInSync(base, 120_000);
  return { gw, base, primary: primary!, env, big };
}

/** `chroma-ha backup` while a client reads and writes; the file, and how many writes were acknowledged before it. */
export async function backupUnderLoad(h: Harness, src: Source): Promise<{ file: string; ackedBefore: number }> {
  const ids = Object.fromEntries(src.gw.catalog.live().map((c) => [c.name, c.stableId]));
  const load = clientLoad(src.base, [{ database: 'default_database', name: 'big', records: src.big, dimensions: 384 }, { database: 'second', name: 'notes', records: NOTES, dimensions: 8 }], ids);
  await waitFor('the client to have written', () => load.writesSoFar() >= 4, 30_000);
  const ackedBefore = load.writesSoFar();
  const file = join(h.dir, 'cluster.backup.gz');
  const backup = await runCli(['backup', '--url', src.base, '--out', file], { ADMIN_TOKEN: TOKEN });
  const ackedAfterBackup = load.writesSoFar();
  await waitFor('the client to write after the backup', () => load.writesSoFar() >= ackedAfterBackup + 4, 30_000);
  const seen = await load.stop();
  expect(backup.code, backup.stderr).toBe(0);
  expect(backup.stderr).toMatch(/backup: replica-1 pinned at log position \d+/);
  expect(backup.stderr).toMatch(/backup: \d+\/\d+ records \(100%\)/);
  expect(backup.stdout).toMatch(/backup written to .*: 2 collection\(s\), \d+ record\(s\), position \d+ .*sha256 [0-9a-f]{64}/);
  expect(seen.failures).toEqual([]);
  await waitStatusInSync(src.base, 120_000);
  return { file, ackedBefore };
}

/**
 * Restores into a fresh two-node cluster and checks every node against the source at the backup's position.
 * The client's n-th write added `<collection>-live-<n>`, one at a time, so a snapshot of one log position holds
 * exactly the first k of them (k at least the writes acknowledged before the backup); the source holds later
 * ones too. Returns the expected content (per collection: metadata and record digests).
 */
export async function restoreAndCompare(h: Harness, src: Source, file: string, ackedBefore: number, store: StoreEnv): Promise<Map<string, CollectionDigests>> {
  const source = await nodeDigests(src.primary.url, DATABASES);
  const [p2, r2] = await h.chromaCluster(2);
  const gw2 = await h.gateway([p2!, r2!], { ...src.env, ...(await store('restored')) });
  const base2 = gatewayUrl(gw2);
  const restored = await runCli(['restore', file, '--url', base2, '--token', TOKEN]);
  expect(restored.code, restored.stderr).toBe(0);
  expect(restored.stdout).toMatch(/restore complete in .*: 2 collection\(s\), \d+ record\(s\) from the backup of replica-1 at log position \d+/);
  await waitStatusInSync(base2, 120_000);

  const liveIds = (m: Map<string, CollectionDigests>) =>
    [...m.values()].flatMap((c) => [...c.records.keys()]).map((id) => /-live-(\d+)$/.exec(id)).filter((x) => x !== null).map((x) => Number(x![1]));
  const onRestoredPrimary = await nodeDigests(p2!.url, DATABASES);
  const inBackup = liveIds(onRestoredPrimary).sort((a, b) => a - b);
  const k = inBackup.length;
  expect(inBackup).toEqual(Array.from({ length: k }, (_, n) => n));
  expect(k).toBeGreaterThanOrEqual(ackedBefore);
  expect(Math.max(...liveIds(source))).toBeGreaterThanOrEqual(k); // later writes exist on the source, not in the backup
  const expected = new Map(
    [...source].map(([name, c]) => [name, { metadata: c.metadata, records: new Map([...c.records].filter(([id]) => !(Number(/-live-(\d+)$/.exec(id)?.[1] ?? -1) >= k))) }]),
  );
  expect(expected.get('default_database/big')!.records.size).toBeGreaterThanOrEqual(src.big);
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
  // Not empty any more: a second restore is refused before writing anything.
  const again = await runCli(['restore', file, '--url', base2]);
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/the target cluster is not empty \(.*default_tenant\/default_database holds 1 collection\(s\)/);
  expect(again.stderr).toMatch(/default_tenant\/second holds 1 collection\(s\).*restore loads only into an empty cluster, nothing was written/);
  expect(again.stderr).toMatch(/restored before it stopped: 0 collection\(s\), 0 record\(s\)/);
  return expected;
}
