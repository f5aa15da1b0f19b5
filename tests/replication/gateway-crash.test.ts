// kill -9 of the gateway itself in the middle of a stream of writes, restarted on the same store:
// nothing acknowledged is lost, entries whose outcome was unknown are resolved, and nodes converge.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, http, waitFor } from '../helpers/cluster.js';
import { idsOnNode } from '../helpers/replication.js';

const CRASHES = 3;

describe.each(['sqlite', 'postgres'] as const)('gateway crash with the %s store', (store) => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it(`keeps every acknowledged write across ${CRASHES} kill -9 of the gateway`, async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const env = h.gatewayEnv(nodes, store === 'postgres' ? { DATABASE_URL: await h.pgDatabaseUrl() } : {});
    let gw = await h.gatewayProcess(env);
    const created = await http(gw.url, 'POST', COLLECTIONS, { name: 'crash' });
    expect(created.status).toBe(200);
    const cid = created.json.id as string;

    const acked = new Set<string>();
    let attempted = 0;
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        attempted++;
        const r = await http(gw.url, 'POST', `${COLLECTIONS}/${cid}/upsert`, {
          ids: [id],
          embeddings: [[w, i, 2]],
          metadatas: [{ w, i }],
        }).catch(() => null);
        if (r?.status === 200) acked.add(id);
        else await new Promise((res) => setTimeout(res, 20)); // the gateway is restarting
      }
    };
    const writers = Array.from({ length: 4 }, (_, w) => writer(w));
    try {
      for (let crash = 0; crash < CRASHES; crash++) {
        const before = acked.size;
        await waitFor('writes to flow', () => acked.size >= before + 15, 30_000);
        await gw.kill();
        gw = await h.gatewayProcess(env, gw.port);
      }
      const before = acked.size;
      await waitFor('writes to flow after the last restart', () => acked.size >= before + 15, 30_000);
    } finally {
      stop = true;
      await Promise.all(writers);
    }

    const status = await waitFor('every entry resolved and every node in sync', async () => {
      const s = (await http(gw.url, 'GET', '/status')).json;
      const synced = s.log.pendingWrites === 0 && s.nodes.every((n: any) => n.syncState === 'in-sync' && n.appliedPosition >= s.log.head);
      return synced ? s : null;
    }, 60_000);
    console.log(`${store}: ${CRASHES} gateway crashes, ${attempted} writes attempted, ${acked.size} acknowledged, log head ${status.log.head}`);
    const [onPrimary, onReplica] = await Promise.all(nodes.map((n) => idsOnNode(n.url, 'crash')));
    expect([...acked].filter((id) => !onPrimary!.has(id))).toEqual([]);
    expect([...onReplica!].sort()).toEqual([...onPrimary!].sort());
  }, 180_000);
});
