// A refill by copy interrupted by kill -9 of the node being filled, then of the gateway itself: each
// time the refill starts again (the node's stored incarnation stays cleared until the copy is complete),
// the node serves no read before it holds everything, and it ends identical to the primary.
import { afterEach, describe, expect, it } from 'vitest';
import { Harness, PATIENT_PROBES, http, waitFor } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { clientLoad, contentOf, seedNode, type SeedCollection } from '../helpers/lifecycle.js';

const SEED: SeedCollection[] = [
  { database: 'default_database', name: 'big', records: 6_000, dimensions: 64 },
  { database: 'default_database', name: 'small', records: 300, dimensions: 64 },
];

interface NodeStatus {
  name: string;
  syncState: string;
  copy: { recordsCopied: number; recordsTotal: number; recordsPerSecond: number; etaSeconds: number | null } | null;
}

describe('refill by copy under crashes', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('starts again after kill -9 of the target and of the gateway, and ends identical', async () => {
    h = new Harness();
    const [primary, r1] = await Promise.all([h.chroma({ name: 'primary' }), h.chroma({ name: 'r1' })]);
    const ids = await seedNode(primary.url, SEED);
    const env = h.gatewayEnv([primary, r1], PATIENT_PROBES);
    let gw = await h.gatewayProcess(env);
    const replicaStatus = async (url: string) => ((await http(url, 'GET', '/status')).json.nodes as NodeStatus[])[1]!;
    const copying = (url: string) => async () => {
      const s = await replicaStatus(url);
      return s.syncState === 'resync' && s.copy !== null && s.copy.recordsCopied > 0 ? s : null;
    };

    // The copy is under way, with its progress in /status and /metrics.
    const first = await waitFor('the copy to be under way', copying(gw.url), 30_000, 20);
    expect(first.copy!.recordsTotal).toBe(6_300);
    expect((await http(gw.url, 'GET', '/metrics')).text).toMatch(/chroma_ha_node_copy_records_total\{node="replica-1"\} 6300/);
    await r1.kill();
    await r1.spawn();
    await waitFor('the copy to start again on the restarted node', copying(gw.url), 30_000, 20);

    await gw.kill();
    gw = await h.gatewayProcess(env, gw.port);
    // Restarted mid-copy: the node is refilled again, and a client working meanwhile sees only complete reads.
    const load = clientLoad(gw.url, SEED, ids);
    expect((await replicaStatus(gw.url)).syncState).not.toBe('in-sync');
    // The refill is done once the node follows the log again; a client writing back to back leaves no moment
    // with nothing pending, so the load stops before waiting for every node to hold every write.
    await waitFor('the replica refilled and following the log', async () => ['syncing', 'in-sync'].includes((await replicaStatus(gw.url)).syncState), 90_000, 50);
    const seen = await load.stop();
    await waitStatusInSync(gw.url, 60_000);
    expect(seen.failures).toEqual([]);
    const [onPrimary, onReplica] = await Promise.all([contentOf(primary.url, ['default_database']), contentOf(r1.url, ['default_database'])]);
    expect(onReplica).toEqual(onPrimary);
    expect(onPrimary.default_database!.find((c) => c.name === 'big')!.records.length).toBeGreaterThanOrEqual(6_000);
  }, 180_000);
});
