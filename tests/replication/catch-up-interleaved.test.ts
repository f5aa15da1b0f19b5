// A replica that was down while writers interleaved adds, upserts and deletes across several collections
// (with an update and a delete by filter among them) catches up with far fewer requests than entries
// (catch-up windows merge each collection's writes: replication/catch-up-plan.ts) and ends identical to the
// primary, record for record.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http, waitFor } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';

const COLLECTION_COUNT = 4;
const WRITES_PER_COLLECTION = 60;
const RECORD_WRITE = /\/(add|upsert|update|delete) /;

describe('replica catch-up over interleaved collections', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('merges each collection across the log, keeps its order, and ends identical', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const lagging = nodes[2]!;
    const proxy = await h.tcpProxy('127.0.0.1', lagging.port);
    const gw = await h.gateway([nodes[0]!, nodes[1]!, { url: `http://127.0.0.1:${proxy.port}` }], PATIENT_PROBES);
    const base = gatewayUrl(gw);
    const laggingNode = gw.cluster.nodes[2]!;
    const ids: string[] = [];
    for (let c = 0; c < COLLECTION_COUNT; c++) {
      const created = await http(base, 'POST', COLLECTIONS, { name: `interleaved-${c}` });
      expect(created.status).toBe(200);
      ids.push(created.json.id);
    }
    await waitStatusInSync(base);
    await lagging.stop();
    await waitFor('replica-2 to be marked down', () => laggingNode.health === 'down');
    const head = (await http(base, 'GET', '/status')).json.log.head as number;

    // One writer per collection, all at once: the log interleaves them. Each writer adds two records per
    // step, upserts an earlier one, deletes another by id, re-adds a deleted id, and twice an
    // update or a delete by filter stands between windows (applied on their own).
    const failures: string[] = [];
    await Promise.all(
      ids.map(async (id, c) => {
        const write = async (op: string, body: unknown, expected: number) => {
          const r = await http(base, 'POST', `${COLLECTIONS}/${id}/${op}`, body);
          if (r.status !== expected) failures.push(`${op} on ${c}: ${r.status} ${r.text}`);
        };
        const rec = (k: number, v: number) => ({ embedding: [c, k, v], metadata: { k, c, v, even: k % 2 === 0 } });
        for (let step = 0; step < WRITES_PER_COLLECTION; step++) {
          const k = step * 2;
          const kind = step % 6;
          if (kind === 0 || kind === 1 || kind === 3) {
            const a = rec(k, step);
            const b = rec(k + 1, step);
            await write('add', { ids: [`r${k}`, `r${k + 1}`], embeddings: [a.embedding, b.embedding], metadatas: [a.metadata, b.metadata] }, 201);
          } else if (kind === 2) {
            const r = rec(k - 30, step + 0.5);
            await write('upsert', { ids: [`r${k - 30}`], embeddings: [r.embedding], metadatas: [r.metadata] }, 200);
          } else if (kind === 4) {
            await write('delete', { ids: [`r${k - 33}`] }, 200);
          } else if (step === 29) {
            await write('update', { ids: [`r${k - 10}`, 'never-added'], metadatas: [{ updated: step }, { updated: step }] }, 200);
          } else if (step === 47) {
            await write('delete', { where: { v: step - 10 } }, 200);
          } else {
            // The id deleted at the previous step comes back with new values.
            const r = rec(k - 35, step + 0.25);
            await write('add', { ids: [`r${k - 35}`], embeddings: [r.embedding], metadatas: [r.metadata] }, 201);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
    const entries = (await http(base, 'GET', '/status')).json.log.head - head;
    expect(entries).toBe(COLLECTION_COUNT * WRITES_PER_COLLECTION);
    const primaryContent = await nodeContent(nodes[0]!.url);

    const linesBefore = proxy.requestLines.length;
    const restarted = performance.now();
    await lagging.spawn();
    await waitFor('replica-2 to be marked up', () => laggingNode.isUp, 20_000, 5);
    await waitStatusInSync(base, 60_000);
    const seconds = (performance.now() - restarted) / 1000;
    const writeRequests = proxy.requestLines.slice(linesBefore).filter((l) => RECORD_WRITE.test(l)).length;
    console.log(`[interleaved catch-up] ${entries} entries over ${COLLECTION_COUNT} collections applied with ${writeRequests} requests in ${seconds.toFixed(2)} s`);

    expect(await nodeContent(lagging.url)).toEqual(primaryContent);
    expect(await nodeContent(nodes[1]!.url)).toEqual(primaryContent);
    expect(primaryContent.every((c) => c.records.length > WRITES_PER_COLLECTION / 2)).toBe(true);
    // Two barriers per collection cut the windows; each collection still needs only a few requests per window.
    expect(writeRequests).toBeLessThan(entries / 3);
  }, 120_000);
});
