// Acceptance 4 of issue #11: a rolling deploy, repeated. Gateways as separate processes on one PostgreSQL log in
// front of three real Chroma nodes; three times over, a new gateway starts on the same log and the old one gets
// SIGTERM, while clients keep writing through a load balancer that sends each request to whichever gateway is
// up (a refused connection is retried on the other; any answer other than 2xx is a client error). After each
// cycle, with the writers paused: every node holds exactly what each client's acknowledged writes imply and
// what the log replays to, and every acknowledged write is a committed entry of the log.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, PATIENT_PROBES, http, waitFor, type GatewayChild } from '../helpers/cluster.js';
import { waitStatusInSync } from '../helpers/convergence.js';
import { recordsOnNode } from '../helpers/replication.js';
import { LoadBalancer, committedBodies, replayLog } from '../helpers/gateways.js';
import { rng } from '../../bench/lib/workload.js';

const CYCLES = 3;
const WRITERS = 3;
const KEYS_PER_WRITER = 5;

type Row = { id: string; embedding: number[] | null; document: string | null };

describe('repeated rolling deploy of gateways on one PostgreSQL log', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('loses nothing, answers every write and keeps every node identical over three deploys', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(3);
    const databaseUrl = await h.pgDatabaseUrl();
    const env = h.gatewayEnv(nodes, { ...PATIENT_PROBES, DATABASE_URL: databaseUrl });
    const status = async (g: GatewayChild) => (await http(g.url, 'GET', '/status')).json;
    let current = await h.gatewayProcess(env);
    await waitFor('the first gateway to take the lease', async () => (await status(current)).lease.held);
    const lb = new LoadBalancer();
    lb.add(current.url);
    const created = await lb.send('POST', COLLECTIONS, { name: 'deploys' });
    expect(created.status, created.text).toBe(200);
    const id = created.json.id as string;

    // Each writer owns its keys and waits for each answer, so what it was told implies each key's value exactly.
    const model = new Map<string, Row>();
    const acknowledged: string[] = [];
    const clientErrors: string[] = [];
    let writes = 0;
    /** Closed while the nodes are compared: writers wait at it before their next write. */
    const gate: { closed: Promise<void> | null; open: () => void } = { closed: null, open: () => undefined };
    let stop = false;
    const writer = async (w: number) => {
      const random = rng(100 + w);
      for (let i = 0; !stop; i++) {
        await gate.closed;
        const key = `w${w}-k${Math.floor(random() * KEYS_PER_WRITER)}`;
        const pick = random();
        const op = pick < 0.5 ? 'upsert' : pick < 0.8 ? 'add' : 'delete';
        const row: Row = { id: key, embedding: [w, i, Math.round(pick * 100)], document: `w${w}-${i}` };
        const body = op === 'delete' ? { ids: [key] } : { ids: [key], embeddings: [row.embedding], documents: [row.document] };
        let r;
        try {
          r = await lb.send('POST', `${COLLECTIONS}/${id}/${op}`, body);
        } catch (err) {
          clientErrors.push(`${op} ${key}: ${(err as Error).message}`);
          continue;
        }
        if (r.status >= 300) {
          clientErrors.push(`${op} ${key}: ${r.status} ${r.text.slice(0, 200)}`);
          continue;
        }
        writes++;
        if (op === 'delete') model.delete(key);
        else {
          if (op === 'upsert' || !model.has(key)) model.set(key, row);
          acknowledged.push(row.document!);
        }
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    const progress = (n: number) => {
      const target = writes + n;
      return waitFor(`${n} more acknowledged writes`, () => writes >= target || clientErrors.length > 0, 30_000);
    };

    try {
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        await progress(15);
        const next = await h.gatewayProcess(env);
        expect((await status(next)).lease.held, `cycle ${cycle}: the new gateway starts without the lease`).toBe(false);
        lb.add(next.url);
        await progress(15);
        const stoppedAt = Date.now();
        expect(await current.terminate(), `cycle ${cycle}: the old gateway exits 0 on SIGTERM`).toBe(0);
        lb.remove(current.url);
        // The old gateway released the lease: the new one takes it at its next renewal, no grace to wait out.
        await waitFor(`cycle ${cycle}: the new gateway to take the lease`, async () => (await status(next)).lease.held, 10_000, 20);
        const handoverMs = Date.now() - stoppedAt;
        current = next;
        await progress(15);

        // Writers paused, compare the nodes with each other, with the model, and with the log.
        gate.closed = new Promise((r) => (gate.open = r));
        await waitFor('the writers to pause', async () => {
          const before = writes;
          await new Promise((r) => setTimeout(r, 300));
          return writes === before;
        });
        expect(clientErrors, `cycle ${cycle}`).toEqual([]);
        await waitStatusInSync(current.url);
        const expected = [...model.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
        const contents = await Promise.all(nodes.map(async (n) => (await recordsOnNode(n.url, 'deploys'))!.map(({ metadata: _, ...r }) => r)));
        for (const [k, c] of contents.entries()) expect(c, `cycle ${cycle}: node ${k} against the acknowledged writes`).toEqual(expected);
        expect((await replayLog(databaseUrl, id)).map(({ metadata: _, ...r }) => r), `cycle ${cycle}: the log`).toEqual(expected);
        const bodies = await committedBodies(databaseUrl, id);
        const missing = acknowledged.filter((doc) => !bodies.some((b) => b.includes(`"${doc}"`)));
        expect(missing, `cycle ${cycle}: acknowledged writes missing from the log`).toEqual([]);
        console.log(`rolling deploy cycle ${cycle}: ${writes} writes acknowledged so far, lease handed over ${handoverMs} ms after SIGTERM, ${lb.refused} refused connection(s) retried`);
        gate.closed = null;
        gate.open();
      }
    } finally {
      stop = true;
      gate.closed = null;
      gate.open();
      await Promise.allSettled(writers);
    }
    expect(clientErrors).toEqual([]);
  });
});
