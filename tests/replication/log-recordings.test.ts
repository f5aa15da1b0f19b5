// Read-your-writes through the leaseholder (src/replication/log.ts): once its applier has stored an outcome,
// another gateway may answer that write's client, whose next read may reach the leaseholder before the
// outcome is resolved in its memory. A fresh read waits for outcomes being recorded at its start, and only
// for those.
import { describe, expect, it } from 'vitest';
import { ReplicationLog } from '../../src/replication/log.js';
import type { ReplicationStore } from '../../src/store/types.js';

const settledNow = async (p: Promise<void>) => Promise.race([p.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);

describe('outcomes being recorded', () => {
  const log = () => new ReplicationLog({} as ReplicationStore, 'gw-a');

  it('settles at once when nothing is being recorded', async () => {
    expect(await settledNow(log().outcomesSettled())).toBe(true);
  });

  it('waits for an outcome being recorded until it is resolved here, and the committed position moves with it', async () => {
    const l = log();
    const end = l.beginRecording();
    const fresh = l.outcomesSettled();
    expect(await settledNow(fresh)).toBe(false);
    l.resolve({ seq: 7, op: 'upsert', collectionId: 'c1' }, 'committed', { status: 200, contentType: undefined, body: '{}', nodeId: 'n1' });
    end();
    expect(await settledNow(fresh)).toBe(true);
    expect(l.requiredFor('c1')).toBe(7);
  });

  it('does not wait for recordings that start after the read', async () => {
    const l = log();
    const first = l.beginRecording();
    const fresh = l.outcomesSettled();
    const later = l.beginRecording();
    first();
    expect(await settledNow(fresh)).toBe(true);
    expect(await settledNow(l.outcomesSettled())).toBe(false);
    later();
    later(); // ending twice is harmless
    expect(await settledNow(l.outcomesSettled())).toBe(true);
  });
});
