// Issue 9, acceptance 4: with a small retention the log is truncated while a replica is down; on its return
// the replica, now behind the truncation point, is refilled by copy and ends identical; /status shows far
// fewer entries than were written. Both stores. Plus the truncation rule itself.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { contentOf, seedRecord } from '../helpers/lifecycle.js';
import { truncationPoint } from '../../src/replication/compaction.js';

describe('truncationPoint', () => {
  it('keeps the newest entries, the young ones, and what any up member has not vouched for', () => {
    expect(truncationPoint({ head: 100, retentionEntries: 10, oldEnough: 95, members: [97, 99] })).toBe(90);
    expect(truncationPoint({ head: 100, retentionEntries: 10, oldEnough: 40, members: [97, 99] })).toBe(40);
    expect(truncationPoint({ head: 100, retentionEntries: 10, oldEnough: 95, members: [50, 99] })).toBe(50);
    expect(truncationPoint({ head: 100, retentionEntries: 10, oldEnough: null, members: [99] })).toBe(0);
    expect(truncationPoint({ head: 100, retentionEntries: 10, oldEnough: 95, members: [99, null] })).toBe(0);
    expect(truncationPoint({ head: 100, retentionEntries: 10, oldEnough: 95, members: [] })).toBe(0);
    expect(truncationPoint({ head: 5, retentionEntries: 10, oldEnough: 5, members: [5] })).toBe(0);
  });
});

describe.each(['sqlite', 'postgres'] as const)('log compaction (%s store)', (store) => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('truncates while a replica is down, then refills it by copy', async () => {
    h = new Harness();
    const [primary, r1] = await Promise.all([h.chroma({ name: 'primary' }), h.chroma({ name: 'r1' })]);
    const extra = store === 'postgres' ? { DATABASE_URL: await h.pgDatabaseUrl() } : {};
    const gw = await h.gateway([primary, r1], { ...PATIENT_PROBES, ...extra, LOG_RETENTION_ENTRIES: '10', LOG_RETENTION_SECONDS: '0.001' });
    const base = gatewayUrl(gw);
    const col = await http(base, 'POST', COLLECTIONS, { name: 'compacted' });
    const add = async (i: number) => {
      const r = seedRecord('compacted', i, 8);
      expect((await http(base, 'POST', `${COLLECTIONS}/${col.json.id}/add`, { ids: [r.id], embeddings: [r.embedding], documents: [r.document] })).status).toBe(201);
    };
    for (let i = 0; i < 5; i++) await add(i);
    await waitStatusInSync(base);

    await r1.kill();
    const replica = gw.cluster.nodes[1]!;
    await waitFor('the replica marked down', () => replica.health === 'down');
    const behind = replica.appliedSeq;
    for (let i = 5; i < 65; i++) await add(i);
    // The primary's marker vouches for its position every few seconds; compaction follows.
    const status = await waitFor(
      'the log truncated past the stopped replica',
      async () => {
        const s = (await http(base, 'GET', '/status')).json;
        return s.log.truncatedThrough > behind && s.log.entries <= 20 ? s : null;
      },
      30_000,
      200,
    );
    expect(status.log.oldestRetained).toBeGreaterThan(behind);
    expect(status.log.head).toBeGreaterThanOrEqual(66);

    await r1.spawn();
    await waitFor('the returning replica sent to a refill', () => replica.lifecycleReason?.includes('behind the retained log') || replica.lifecycle === 'resync', 30_000, 5);
    await waitStatusInSync(base);
    const [onPrimary, onReplica] = await Promise.all([contentOf(primary.url, ['default_database']), contentOf(r1.url, ['default_database'])]);
    expect(onReplica).toEqual(onPrimary);
    expect(onPrimary.default_database![0]!.records).toHaveLength(65);
    expect((await http(base, 'GET', '/metrics')).text).toMatch(/chroma_ha_log_truncated_position \d+/);
  }, 120_000);
});
