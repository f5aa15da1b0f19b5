// Issue 3, acceptance 4: a replica stopped while thousands of writes go through the gateway catches up
// when it returns and ends identical to the primary; while it is behind it serves no default
// (read-your-writes) read, although it may serve reads that asked for `eventual` consistency.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';

const WRITES = 2_000;
const WRITERS = 12;
const COLLECTION_COUNT = 3;
/** Writes go to one collection at a time in bursts of this many (an ingestion pattern), bursts rotating. */
const BURST = 100;
const READERS = 4;
/** The primary applies writes one at a time (~20-50/s on a busy 2-core machine). */
const LONG_TEST_MS = 600_000;

interface ReadSample {
  consistency: 'strong' | 'eventual';
  node: string;
  collection: number;
  status: number;
  count: number;
  /** Whether the lagging node was up when the read was issued. */
  laggingUp: boolean;
  /** The lagging node's applied position once the answer arrived (positions only grow). */
  positionAfter: number;
}

describe('a replica that was down for thousands of writes', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('catches up, ends identical, and serves no default read while behind', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const gw = await h.gateway(nodes, PATIENT_PROBES);
    const base = gatewayUrl(gw);
    const lagging = nodes[2]!;
    const laggingNode = gw.cluster.nodes[2]!;
    expect(laggingNode.name).toBe('replica-2');

    const ids: string[] = [];
    for (let c = 0; c < COLLECTION_COUNT; c++) {
      const created = await http(base, 'POST', COLLECTIONS, { name: `catch-up-${c}` });
      expect(created.status).toBe(200);
      ids.push(created.json.id);
      expect((await http(base, 'POST', `${COLLECTIONS}/${created.json.id}/add`, { ids: ['seed'], embeddings: [[0, 0, 0, 0]] })).status).toBe(201);
    }
    await waitStatusInSync(base);

    await lagging.stop();
    await waitFor('replica-2 to be marked down', () => laggingNode.health === 'down');

    const collectionOf = (i: number) => Math.floor(i / BURST) % COLLECTION_COUNT;
    let next = 0;
    const failures: string[] = [];
    const writesStarted = performance.now();
    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let i = next++; i < WRITES; i = next++) {
          const c = collectionOf(i);
          const r = await http(base, 'POST', `${COLLECTIONS}/${ids[c]}/upsert`, {
            ids: [`r-${i}`],
            embeddings: [[i / WRITES, c, 1, 0.5]],
            documents: [`record ${i}`],
            metadatas: [{ i, burst: Math.floor(i / BURST) }],
          });
          if (r.status !== 200) failures.push(`write ${i}: ${r.status} ${r.text}`);
        }
      }),
    );
    const writeSeconds = (performance.now() - writesStarted) / 1000;
    expect(failures).toEqual([]);
    const expectedCounts = ids.map((_, c) => 1 + Array.from({ length: WRITES }, (_, i) => i).filter((i) => collectionOf(i) === c).length);
    const behind = (await http(base, 'GET', '/status')).json.nodes[2];
    expect(behind.health).toBe('down');
    expect(behind.lagEntries).toBeGreaterThanOrEqual(WRITES);
    // What a default read of each collection requires: nothing is written from here on.
    const required = ids.map((id) => gw.log.requiredFor(id));
    const positionBefore = laggingNode.appliedSeq;
    expect(Math.min(...required)).toBeGreaterThan(positionBefore);

    // Bring it back and read continuously, default and eventual, until it reports in sync.
    const samples: ReadSample[] = [];
    let reading = true;
    const readers = Array.from({ length: READERS }, async (_, reader) => {
      for (let n = 0; reading; n++) {
        const collection = (n + reader) % COLLECTION_COUNT;
        const consistency = n % 3 === 2 ? 'eventual' : 'strong';
        const laggingUp = laggingNode.isUp;
        const r = await http(base, 'GET', `${COLLECTIONS}/${ids[collection]}/count`, undefined, consistency === 'eventual' ? { 'x-chroma-ha-consistency': 'eventual' } : {});
        samples.push({ consistency, node: r.headers.get('x-chroma-ha-node')!, collection, status: r.status, count: r.json, laggingUp, positionAfter: laggingNode.appliedSeq });
      }
    });
    await lagging.spawn();
    await waitFor('replica-2 to be marked up', () => laggingNode.isUp, 20_000, 5);
    const upAt = performance.now();
    const status = await waitStatusInSync(base, 90_000);
    const catchUpSeconds = (performance.now() - upAt) / 1000;
    reading = false;
    await Promise.all(readers);

    // It holds exactly what the primary holds.
    expect(status.nodes[2]!.lagEntries).toBe(0);
    const primaryContent = await nodeContent(nodes[0]!.url);
    expect(primaryContent.map((c) => c.records.length)).toEqual(expectedCounts);
    expect(await nodeContent(lagging.url)).toEqual(primaryContent);
    expect(await nodeContent(nodes[1]!.url)).toEqual(primaryContent);

    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    // No default read went back in time, and none was served by the replica while it was behind.
    const strong = samples.filter((s) => s.consistency === 'strong');
    for (const s of strong) expect(s.count, `default read of collection ${s.collection} served by ${s.node}`).toBe(expectedCounts[s.collection]);
    const whileBehind = strong.filter((s) => s.laggingUp && s.positionAfter < required[s.collection]!);
    expect(whileBehind.length).toBeGreaterThanOrEqual(10);
    expect(whileBehind.filter((s) => s.node === 'replica-2')).toEqual([]);
    // Once caught up it does serve default reads: the check above was not vacuous.
    await waitFor('a default read served by replica-2', async () => {
      const r = await http(base, 'GET', `${COLLECTIONS}/${ids[0]}/count`);
      return r.headers.get('x-chroma-ha-node') === 'replica-2' && r.json === expectedCounts[0];
    });
    // Eventual reads may come from the replica while it is behind, and then they are stale.
    const eventual = samples.filter((s) => s.consistency === 'eventual');
    const staleFromReplica = eventual.filter((s) => s.node === 'replica-2' && s.count < expectedCounts[s.collection]!);

    const rate = Math.round(WRITES / catchUpSeconds);
    console.log(
      `[replica catch-up] ${WRITES} writes in ${writeSeconds.toFixed(1)} s (${Math.round(WRITES / writeSeconds)}/s); ` +
        `caught up ${WRITES} records in ${catchUpSeconds.toFixed(2)} s = ${rate} records/s; ` +
        `${strong.length} default reads (${whileBehind.length} while replica-2 was up and behind, 0 served by it), ` +
        `${eventual.length} eventual reads (${staleFromReplica.length} stale answers from replica-2)`,
    );
  }, LONG_TEST_MS);
});
