// Group commit: writes queued on the primary (here: 40 adds sent at once to a primary 20 ms away) are
// decided with a few merged requests instead of one each, every client still gets its own write's answer
// (a bad vector among them gets Chroma's own 400, and only that write is rejected), and every node ends
// identical to the log.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, gatewayUrl, http } from '../helpers/cluster.js';
import { nodeContent, waitStatusInSync } from '../helpers/convergence.js';

const WRITES = 40;
const BAD = 20;

describe('group commit on the primary', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('decides queued writes with merged requests, each with its own outcome', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const proxy = await h.tcpProxy('127.0.0.1', nodes[0]!.port);
    proxy.setDelay(20);
    const gw = await h.gateway([{ url: `http://127.0.0.1:${proxy.port}` }, nodes[1]!], PATIENT_PROBES);
    const base = gatewayUrl(gw);
    const created = await http(base, 'POST', COLLECTIONS, { name: 'grouped' });
    expect(created.status, created.text).toBe(200);
    const id = created.json.id as string;
    const head = (await http(base, 'GET', '/status')).json.log.head as number;
    const addsBefore = proxy.requestLines.filter((l) => l.includes('/add ')).length;

    const bodies = Array.from({ length: WRITES }, (_, i) => ({ ids: [`g${i}`], embeddings: [i === BAD ? [i, i] : [i, i + 1, i + 2]] }));
    const answers = await Promise.all(bodies.map((b) => http(base, 'POST', `${COLLECTIONS}/${id}/add`, b)));
    const addRequests = proxy.requestLines.filter((l) => l.includes('/add ')).length - addsBefore;
    console.log(`group commit: ${WRITES} concurrent adds reached the primary as ${addRequests} requests`);

    expect(answers.map((a, i) => (i === BAD ? a.status : a.status === 201))).toEqual(answers.map((_, i) => (i === BAD ? 400 : true)));
    const primaryId = (await http(nodes[0]!.url, 'GET', `${COLLECTIONS}/grouped`)).json.id as string;
    const direct = await http(nodes[0]!.url, 'POST', `${COLLECTIONS}/${primaryId}/add`, bodies[BAD]);
    expect(answers[BAD]!.text).toBe(direct.text);
    expect(addRequests).toBeLessThan(WRITES / 2);

    const entries = await gw.store.readAfter(head, 100);
    expect(entries.filter((e) => e.state === 'rejected').map((e) => JSON.parse(e.body!.toString()).ids)).toEqual([[`g${BAD}`]]);
    expect(entries.filter((e) => e.state === 'committed')).toHaveLength(WRITES - 1);
    await waitStatusInSync(base);
    const [onPrimary, onReplica] = await Promise.all(nodes.map((n) => nodeContent(n.url)));
    expect(onReplica).toEqual(onPrimary);
    expect(onPrimary![0]!.records.map((r) => r.id).sort()).toEqual(bodies.map((b) => b.ids[0]).filter((x) => x !== `g${BAD}`).sort());
  });
});
