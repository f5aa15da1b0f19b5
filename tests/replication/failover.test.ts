// kill -9 of the primary in the middle of concurrent writes, 20 times: no acknowledged write is lost,
// no client is told a write failed that was then applied, and every node ends identical.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor, type ChromaProcess } from '../helpers/cluster.js';
import type { Gateway } from '../../src/gateway/gateway.js';
import { idsOnNode, waitAllInSync } from '../helpers/replication.js';

const ROUNDS = 20;
const WRITERS = 4;

describe('failover under concurrent writes', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it(`loses no acknowledged write across ${ROUNDS} kill -9 of the primary`, async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const gw = await h.gateway(nodes);
    const base = gatewayUrl(gw);
    const created = await http(base, 'POST', COLLECTIONS, { name: 'failover' });
    expect(created.status).toBe(200);
    const cid = created.json.id as string;

    const acked = new Set<string>();
    const failed = new Map<string, string>();
    let lastAckAt = 0;
    let stop = false;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const id = `w${w}-${i}`;
        const r = await http(base, 'POST', `${COLLECTIONS}/${cid}/add`, {
          ids: [id],
          embeddings: [[w, i, 1]],
          documents: [`doc ${id}`],
        }).catch((err: Error) => ({ status: 0, text: err.message }));
        if (r.status === 201) {
          acked.add(id);
          lastAckAt = performance.now();
        } else failed.set(id, `${r.status} ${r.text}`);
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

    const pauses: number[] = [];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const before = acked.size;
        await waitFor('writes to flow', () => acked.size >= before + 10, 20_000);
        const victim = processOf(gw, nodes);
        const killedAt = performance.now();
        await victim.kill();
        await waitFor('a write acknowledged after the kill', () => lastAckAt > killedAt, 20_000, 5);
        pauses.push(lastAckAt - killedAt);
        await waitFor('a new primary', () => gw.cluster.primary.config.url !== victim.url, 20_000);
        await victim.spawn();
        await waitFor('the old primary to rejoin in sync', () => {
          const n = gw.cluster.nodes.find((x) => x.config.url === victim.url)!;
          return n.isUp && n.appliedSeq >= gw.log.committedHead - 5;
        }, 30_000);
      }
    } finally {
      stop = true;
      await Promise.all(writers);
    }

    pauses.sort((a, b) => a - b);
    console.log(
      `failover write pause over ${ROUNDS} kills (ms): median ${pauses[ROUNDS >> 1]!.toFixed(0)}, max ${pauses[ROUNDS - 1]!.toFixed(0)}; ` +
        `acknowledged ${acked.size}, errors ${failed.size}, failovers ${gw.cluster.failoverCount}`,
    );
    await waitAllInSync(gw);
    for (const node of nodes) {
      const ids = await idsOnNode(node.url, 'failover');
      const missing = [...acked].filter((id) => !ids.has(id));
      expect(missing, `acknowledged writes missing on ${node.url}`).toEqual([]);
      const appliedButFailed = [...failed.keys()].filter((id) => ids.has(id));
      expect(appliedButFailed, `writes reported as failed but applied on ${node.url}`).toEqual([]);
      expect(ids.size).toBe(acked.size);
    }
    expect(gw.cluster.failoverCount).toBeGreaterThanOrEqual(ROUNDS);
  }, 300_000);
});

function processOf(gw: Gateway, nodes: ChromaProcess[]): ChromaProcess {
  return nodes.find((n) => n.url === gw.cluster.primary.config.url)!;
}
