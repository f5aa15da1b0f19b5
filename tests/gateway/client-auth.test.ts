// Issue 12, nodes authenticated and clients authenticated at the gateway: each real Chroma node sits behind
// the node guard (Chroma 1.x has no server-side auth), which refuses anything without NODE_TOKEN. The
// gateway's health checks, reads and writes carry that token; clients authenticate at the gateway as with
// Chroma's token auth (Bearer or X-Chroma-Token), and their token never reaches a node.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChromaClient } from 'chromadb';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor, PATIENT_PROBES } from '../helpers/cluster.js';

const NODE_TOKEN = 'node-token-0123456789abcdef';
const CLIENT_TOKEN = 'client-token-0123456789abcdef';
const OTHER_CLIENT_TOKEN = 'client-token-two-0123456789';

describe('token-authenticated nodes and client auth at the gateway', () => {
  let h: Harness;
  let base: string;
  let guarded: Array<{ url: string }>;
  const node = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    guarded = await Promise.all(nodes.map((n) => h.guard(n, NODE_TOKEN)));
    const gw = await h.gateway(guarded, {
      ...PATIENT_PROBES,
      NODE_TOKEN,
      CLIENT_AUTH_CREDENTIALS: `${CLIENT_TOKEN},${OTHER_CLIENT_TOKEN}`,
    });
    base = gatewayUrl(gw);
  });
  afterAll(async () => h.cleanup());

  it('a node refuses a request without the node token, and the client\'s token too', async () => {
    for (const g of guarded) {
      const none = await http(g.url, 'GET', COLLECTIONS);
      expect(none.status).toBe(401);
      expect(none.json).toEqual({ error: 'AuthenticationError', message: expect.any(String) });
      const heartbeat = await http(g.url, 'GET', '/api/v2/heartbeat');
      expect(heartbeat.status).toBe(401);
      const write = await http(g.url, 'POST', COLLECTIONS, { name: 'bypassing-the-log' }, { 'x-chroma-token': CLIENT_TOKEN });
      expect(write.status).toBe(403);
      expect(write.json).toEqual({ error: 'AuthorizationError', message: expect.any(String) });
      expect((await http(g.url, 'GET', '/api/v2/heartbeat', undefined, node(NODE_TOKEN))).status).toBe(200);
    }
    expect((await http(guarded[0]!.url, 'GET', `${COLLECTIONS}/bypassing-the-log`, undefined, node(NODE_TOKEN))).status).toBe(404);
  });

  it('health-checks the nodes with the node token: both are up', async () => {
    // Healthy once both nodes answer the token-authenticated probes and their identity markers are read.
    const health = await waitFor('the gateway healthy', async () => {
      const r = await http(base, 'GET', '/health');
      return r.json.status === 'healthy' ? r : null;
    });
    expect(health.json).toEqual({ status: 'healthy', primary: 'primary' });
    const status = await http(base, 'GET', '/status');
    expect(status.json.nodes.map((n: { health: string }) => n.health)).toEqual(['up', 'up']);
  });

  it('answers a client without a token 401 and with a wrong one 403, in Chroma\'s shape; probes stay open', async () => {
    const none = await http(base, 'GET', COLLECTIONS);
    expect(none.status).toBe(401);
    expect(none.json).toEqual({ error: 'AuthenticationError', message: expect.stringContaining('X-Chroma-Token') });
    const wrongWrite = await http(base, 'POST', COLLECTIONS, { name: 'refused' }, { authorization: `Bearer ${NODE_TOKEN}x` });
    expect(wrongWrite.status).toBe(403);
    expect(wrongWrite.json).toEqual({ error: 'AuthorizationError', message: expect.any(String) });
    const basic = await http(base, 'GET', COLLECTIONS, undefined, { authorization: 'Basic dXNlcjpwYXNz' });
    expect(basic.status).toBe(401);
    expect((await http(base, 'GET', '/status')).json.log.head).toBe(0);
    // Liveness and the gateway's own endpoints answer anyone: Render's health check and the monitor use them.
    expect((await http(base, 'GET', '/api/v2/heartbeat')).status).toBe(200);
    expect((await http(base, 'GET', '/health')).status).toBe(200);
    expect((await http(base, 'GET', '/metrics')).status).toBe(200);
  });

  it('serves clients with a valid token (either header) through nodes that only accept the node token', async () => {
    const viaHeader = new ChromaClient({ host: '127.0.0.1', port: Number(new URL(base).port), headers: { 'x-chroma-token': CLIENT_TOKEN } });
    const viaBearer = new ChromaClient({ host: '127.0.0.1', port: Number(new URL(base).port), headers: { authorization: `Bearer ${OTHER_CLIENT_TOKEN}` } });
    const created = await viaHeader.createCollection({ name: 'authenticated', embeddingFunction: null });
    await created.add({ ids: ['a', 'b'], embeddings: [[1, 2, 3], [3, 2, 1]] });
    const read = await viaBearer.getCollection({ name: 'authenticated' });
    expect(await read.count()).toBe(2);
    expect((await read.get({ ids: ['b'], include: ['embeddings'] })).embeddings).toEqual([[3, 2, 1]]);
    // The write reached the replica too, through its guard.
    await waitFor('the replica to apply both writes', async () => {
      const s = (await http(base, 'GET', '/status')).json;
      return s.nodes.every((n: { syncState: string }) => n.syncState === 'in-sync') && s.log.head === 2;
    });
    const local = (await http(guarded[1]!.url, 'GET', `${COLLECTIONS}/authenticated`, undefined, node(NODE_TOKEN))).json.id;
    expect((await http(guarded[1]!.url, 'GET', `${COLLECTIONS}/${local}/count`, undefined, node(NODE_TOKEN))).json).toBe(2);
  });
});
