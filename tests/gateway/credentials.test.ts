// Acceptance 5, secrets: client credentials (Authorization, X-Chroma-Token) reach the nodes untouched,
// credentials in node URLs are used for the gateway's own requests, and none of them shows in /status or
// in the gateway's logs. Each "node" is a real Chroma behind a small recording proxy: a fake only for
// recording what arrives at the node.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { ChromaClient } from 'chromadb';
import { COLLECTIONS, Harness, http, waitFor, PATIENT_PROBES, type ChromaProcess } from '../helpers/cluster.js';

interface Seen {
  method: string;
  path: string;
  authorization?: string;
  token?: string;
}

/** An HTTP proxy in front of a Chroma node that records the method, path and credentials of every request. */
async function recordingProxy(target: ChromaProcess): Promise<{ url: string; port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const headers: IncomingHttpHeaders = { ...req.headers, host: `${target.host}:${target.port}` };
    seen.push({ method: req.method!, path: req.url!, authorization: headers.authorization, token: headers['x-chroma-token'] as string | undefined });
    const upstream = request({ host: target.host, port: target.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
const CLIENT_AUTH = 'Bearer tok-123';
const CLIENT_TOKEN = 'xct-token-456';

describe('credentials', () => {
  let h: Harness;
  const proxies: Array<Awaited<ReturnType<typeof recordingProxy>>> = [];
  afterEach(async () => {
    await h.cleanup();
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });

  it('passes client credentials through, uses URL credentials for the node, and never shows either', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    proxies.push(...(await Promise.all(nodes.map(recordingProxy))));
    const [primary, replica] = proxies as [(typeof proxies)[0], (typeof proxies)[0]];
    const gw = await h.gatewayProcess(
      h.gatewayEnv(proxies, {
        ...PATIENT_PROBES,
        PRIMARY_URL: `http://node-user:url-pass-primary@127.0.0.1:${primary.port}`,
        REPLICA_URLS: `http://node-user:url-pass-replica@127.0.0.1:${replica.port}`,
        LOG_LEVEL: 'debug',
      }),
    );
    await waitFor('both nodes to be up', async () => (await http(gw.url, 'GET', '/health')).json.status === 'healthy', 30_000);

    // A client with its own credentials.
    const client = new ChromaClient({ path: gw.url, headers: { Authorization: CLIENT_AUTH, 'X-Chroma-Token': CLIENT_TOKEN } });
    const collection = await client.createCollection({ name: 'secrets', embeddingFunction: null });
    await collection.add({ ids: ['a', 'b'], embeddings: [[1, 2, 3], [3, 2, 1]], documents: ['x', 'y'] });
    expect(await collection.count()).toBe(2);
    expect((await collection.get({ ids: ['a'] })).ids).toEqual(['a']);
    expect((await collection.query({ queryEmbeddings: [[1, 2, 3]], nResults: 1 })).ids).toEqual([['a']]);
    expect((await client.listCollections()).map((c) => c.name)).toEqual(['secrets']);
    // A client without credentials: the node still gets the credentials from its URL.
    expect((await http(gw.url, 'GET', `${COLLECTIONS}/${collection.id}/count`, undefined, { 'x-client': 'anonymous' })).status).toBe(200);

    const all = [...primary.seen, ...replica.seen];
    const fromClient = all.filter((s) => s.authorization === CLIENT_AUTH);
    // Every request the client sent arrived with both of its credentials, unchanged.
    expect(fromClient.length).toBeGreaterThanOrEqual(6);
    expect(fromClient.every((s) => s.token === CLIENT_TOKEN)).toBe(true);
    expect(primary.seen.some((s) => s.method === 'POST' && s.path === COLLECTIONS && s.authorization === CLIENT_AUTH)).toBe(true);
    expect(primary.seen.some((s) => s.method === 'POST' && s.path.endsWith('/add') && s.authorization === CLIENT_AUTH)).toBe(true);
    expect(all.some((s) => s.path.endsWith('/query') && s.authorization === CLIENT_AUTH)).toBe(true);
    // The gateway's own requests (health probes, replication) use each node's URL credentials.
    const own = (p: typeof primary) => p.seen.filter((s) => s.authorization !== CLIENT_AUTH);
    expect(own(primary).length).toBeGreaterThan(0);
    expect(own(primary).every((s) => s.authorization === basic('node-user', 'url-pass-primary') && s.token === undefined)).toBe(true);
    expect(own(replica).every((s) => s.authorization === basic('node-user', 'url-pass-replica') && s.token === undefined)).toBe(true);
    expect(replica.seen.some((s) => s.method === 'POST' && s.path.endsWith('/add') && s.authorization === basic('node-user', 'url-pass-replica'))).toBe(true);
    expect(all.some((s) => s.path.endsWith('/count') && s.authorization?.startsWith('Basic '))).toBe(true);

    // A failure makes the gateway log and show errors about the primary: still no secret.
    await primary.close();
    await waitFor('the replica to take over', async () => (await http(gw.url, 'GET', '/status')).json.primary === 'replica-1', 20_000);
    expect((await collection.count())).toBe(2);

    const status = await http(gw.url, 'GET', '/status');
    expect(status.json.nodes.map((n: { url: string }) => n.url)).toEqual([primary.url, replica.url]);
    await waitFor('the gateway to log the failover', () => gw.output().includes('is now primary'));
    const logs = gw.output();
    expect(logs).toContain('"msg":"request"');
    const secrets = ['url-pass-primary', 'url-pass-replica', 'node-user', 'tok-123', CLIENT_TOKEN];
    secrets.push(...secrets.map((s) => Buffer.from(s).toString('base64')), basic('node-user', 'url-pass-primary').slice(6), basic('node-user', 'url-pass-replica').slice(6));
    for (const secret of secrets) {
      expect(status.text, `/status shows ${secret}`).not.toContain(secret);
      expect(logs, `the log shows ${secret}`).not.toContain(secret);
    }
  });
});
