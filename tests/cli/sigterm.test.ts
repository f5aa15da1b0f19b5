// SIGTERM to a gateway process under load (what a rolling deploy on Render or `docker stop` does): every
// request in flight completes, no client sees a connection reset, the process exits 0, and a gateway
// restarted on the same store resumes where the old one stopped.
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, fetch } from 'undici';
import { COLLECTIONS, Harness, http, waitFor } from '../helpers/cluster.js';

interface Outcome {
  startedAt: number;
  endedAt: number;
  status?: number;
  error?: string;
  ids: string[];
}

const DIM = 32;
const BATCH = 150;

function batch(client: number, n: number): { ids: string[]; embeddings: number[][] } {
  const ids = Array.from({ length: BATCH }, (_, i) => `c${client}-b${n}-r${i}`);
  const embeddings = ids.map((_, i) => Array.from({ length: DIM }, (_, d) => ((i + d + n) % 17) / 17));
  return { ids, embeddings };
}

/** The error code behind a failed fetch (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, ...). */
function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message;
}

describe('gateway SIGTERM under load', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('finishes every in-flight request, resets no connection, exits 0, and a restart resumes from the store', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const env = h.gatewayEnv(nodes, { SHUTDOWN_TIMEOUT: '30', REQUEST_TIMEOUT: '30', WRITE_TIMEOUT: '30' });
    const gw = await h.gatewayProcess(env);
    const created = await http(gw.url, 'POST', COLLECTIONS, { name: 'sigterm-load' });
    expect(created.status).toBe(200);
    const id: string = created.json.id;

    // Keep-alive clients, each sending large adds back to back: Chroma applies writes one at a time, so
    // each add spends a while in the gateway and a SIGTERM always finds several in flight.
    const agent = new Agent({ keepAliveTimeout: 60_000, connections: 8 });
    const clients = 3;
    const outcomes: Outcome[] = [];
    /** Client -> when its current request started. */
    const inFlight = new Map<number, number>();
    let stop = false;
    const loops = Array.from({ length: clients }, async (_, c) => {
      for (let n = 0; !stop; n++) {
        const body = batch(c, n);
        const o: Outcome = { startedAt: performance.now(), endedAt: 0, ids: body.ids };
        inFlight.set(c, o.startedAt);
        try {
          const r = await fetch(`${gw.url}${COLLECTIONS}/${id}/add`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
            dispatcher: agent,
          });
          o.status = r.status;
          await r.arrayBuffer();
        } catch (err) {
          o.error = errorCode(err);
        }
        inFlight.delete(c);
        o.endedAt = performance.now();
        outcomes.push(o);
        // Once the gateway has gone, connection refused is the only acceptable answer: stop this client.
        if (o.error) break;
      }
    });

    await waitFor('a few adds to complete', () => outcomes.filter((o) => o.status === 201).length >= clients, 30_000);
    // In flight for a moment already, so the gateway has surely received each request when SIGTERM comes.
    const settled = () => [...inFlight.values()].every((started) => performance.now() - started > 50);
    await waitFor('every client to have an add in flight', () => inFlight.size === clients && settled(), 10_000, 1);
    const sigtermAt = performance.now();
    const exitCode = await gw.terminate();
    stop = true;
    await Promise.all(loops);
    await agent.close();

    expect(exitCode).toBe(0);
    const inFlightAtSigterm = outcomes.filter((o) => o.startedAt < sigtermAt && o.endedAt > sigtermAt);
    expect(inFlightAtSigterm.length).toBe(clients);
    for (const o of inFlightAtSigterm) expect(o.status, `in-flight add failed: ${o.error}`).toBe(201);
    // The answers to those told their clients to close the connection, so each client's next request
    // found the listener closed: refused, never accepted and then reset. A client whose answer came just
    // before the signal may have sent one more request on its open connection: it is served, not reset.
    const startedAfter = outcomes.filter((o) => o.startedAt > sigtermAt);
    expect(startedAfter.length).toBeGreaterThanOrEqual(clients);
    for (const o of startedAfter) expect([201, 'ECONNREFUSED']).toContain(o.error ?? o.status);
    expect(outcomes.filter((o) => o.error).map((o) => o.error)).toEqual(Array(clients).fill('ECONNREFUSED'));
    expect(gw.output()).not.toMatch(/shutdown failed/);

    // A gateway restarted on the same store resumes: same stable id, every acknowledged record present.
    const acknowledged = outcomes.filter((o) => o.status === 201).flatMap((o) => o.ids);
    const again = await h.gatewayProcess(env);
    const byName = await http(again.url, 'GET', `${COLLECTIONS}/sigterm-load`);
    expect(byName.json.id).toBe(id);
    const count = await http(again.url, 'GET', `${COLLECTIONS}/${id}/count`);
    expect(count.json).toBe(acknowledged.length);
    await waitFor('the replica to hold every acknowledged record', async () => {
      const replicaCollection = await http(nodes[1]!.url, 'GET', `${COLLECTIONS}/sigterm-load`);
      const c = await http(nodes[1]!.url, 'GET', `${COLLECTIONS}/${replicaCollection.json.id}/count`);
      return c.json === acknowledged.length;
    });
    expect(await again.terminate()).toBe(0);
  });
});
