// The backup round trip of backup-restore.test.ts with the replication log in PostgreSQL (source and target
// clusters each with their own schema), at a smaller size: a backup taken while a client writes restores, on
// every node of a fresh cluster, exactly the source's content at the backup's log position.
import { afterEach, describe, it } from 'vitest';
import { Harness } from '../helpers/cluster.js';
import { backupUnderLoad, restoreAndCompare, sourceCluster, type StoreEnv } from './round-trip.js';

describe('backup and restore with a PostgreSQL log', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('restores the snapshot position identically into a fresh cluster', async () => {
    h = new Harness();
    const postgres: StoreEnv = async () => ({ DATABASE_URL: await h.pgDatabaseUrl() });
    const src = await sourceCluster(h, 3_000, postgres);
    const { file, ackedBefore } = await backupUnderLoad(h, src);
    await restoreAndCompare(h, src, file, ackedBefore, postgres);
  }, 300_000);
});
