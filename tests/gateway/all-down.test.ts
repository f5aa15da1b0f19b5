// Acceptance 4: every node down. The gateway says so (/health 503) and answers API calls with 503 in
// Chroma's shape at once instead of hanging; a write refused this way is not logged. When a node comes
// back, service resumes without restarting the gateway.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, FAST_HEALTH, Harness, gatewayUrl, http, waitFor, PATIENT_PROBES } from '../helpers/cluster.js';

const REQUEST_TIMEOUT_MS = Number(FAST_HEALTH.REQUEST_TIMEOUT) * 1000;

async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - started };
}

describe('all nodes down', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('answers 503 quickly while nothing is up and serves again when a node returns', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes, PATIENT_PROBES);
    const base = gatewayUrl(gw);
    const created = await http(base, 'POST', COLLECTIONS, { name: 'outage' });
    expect(created.status, created.text).toBe(200);
    const id = created.json.id as string;
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['a', 'b', 'c'], embeddings: [[1, 0, 0], [0, 1, 0], [0, 0, 1]] })).status).toBe(201);
    await waitFor('the replica to be in sync', async () => (await http(base, 'GET', '/status')).json.nodes[1].syncState === 'in-sync');

    await Promise.all(nodes.map((n) => n.kill()));
    await waitFor('/health to report unhealthy', async () => (await http(base, 'GET', '/health')).status === 503, 20_000);
    expect((await http(base, 'GET', '/health')).json.status).toBe('unhealthy');
    const headBefore = (await http(base, 'GET', '/status')).json.log.head;

    const read = await timed(() => http(base, 'GET', `${COLLECTIONS}/${id}/count`));
    const write = await timed(() => http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['d'], embeddings: [[1, 1, 1]] }));
    const create = await timed(() => http(base, 'POST', COLLECTIONS, { name: 'during-outage' }));
    const heartbeat = await timed(() => http(base, 'GET', '/api/v1/heartbeat'));
    console.log(
      `all nodes down: 503 after ${[read, write, create, heartbeat].map((r) => Math.round(r.ms)).join(' / ')} ms (read / add / create / heartbeat)`,
    );
    for (const { result, ms } of [read, write, create, heartbeat]) {
      expect(result.status).toBe(503);
      expect(result.json).toEqual({ error: 'ServiceUnavailableError', message: expect.any(String) });
      expect(ms).toBeLessThan(REQUEST_TIMEOUT_MS);
    }
    // Refused writes never entered the log, so they cannot be applied later.
    expect((await http(base, 'GET', '/status')).json.log.head).toBe(headBefore);

    // Only the replica comes back; the gateway keeps running throughout.
    await nodes[1]!.spawn();
    await waitFor('/health to report the gateway can serve', async () => (await http(base, 'GET', '/health')).status === 200, 20_000);
    const status = (await http(base, 'GET', '/status')).json;
    expect(status).toMatchObject({ status: 'degraded', primary: 'replica-1' });
    expect(status.nodes.map((n: { health: string }) => n.health)).toEqual(['down', 'up']);

    const count = await http(base, 'GET', `${COLLECTIONS}/${id}/count`);
    expect(count.status).toBe(200);
    expect(count.json).toBe(3);
    const add = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['d'], embeddings: [[1, 1, 1]] });
    expect(add.status).toBe(201);
    expect((await http(base, 'GET', `${COLLECTIONS}/${id}/count`)).json).toBe(4);
    expect((await http(base, 'GET', `${COLLECTIONS}/during-outage`)).status).toBe(404);
  });
});
