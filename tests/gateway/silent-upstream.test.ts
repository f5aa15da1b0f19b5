// Acceptance 5, faults: an upstream that accepts connections and never answers must cost a client one
// REQUEST_TIMEOUT and a 504 in Chroma's shape, never a hang. The "node" is a raw TCP server that answers
// the heartbeat probe (so the gateway believes it is up, as with a node stuck on real work) and reads
// every other request without ever answering it. Its identity marker can never be read, so it never serves
// a collection read (replication/lifecycle.ts): those are refused with 503 instead.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor } from '../helpers/cluster.js';

const REQUEST_TIMEOUT_MS = 1_000;
const HEARTBEAT = '{"nanosecond heartbeat":1}';

/** A TCP server that answers GET /api/v2/heartbeat and swallows anything else. */
async function silentNode(): Promise<{ url: string; swallowed: string[]; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const swallowed: string[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    let hung = false;
    socket.on('data', (chunk) => {
      if (hung) return;
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0 && !hung; end = buffered.indexOf('\r\n\r\n')) {
        const requestLine = buffered.slice(0, buffered.indexOf('\r\n'));
        buffered = buffered.slice(end + 4);
        if (requestLine.startsWith('GET /api/v2/heartbeat ')) {
          socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${HEARTBEAT.length}\r\n\r\n${HEARTBEAT}`);
        } else {
          swallowed.push(requestLine);
          hung = true;
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    swallowed,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('an upstream that never answers', () => {
  let h: Harness;
  let node: Awaited<ReturnType<typeof silentNode>> | undefined;
  afterEach(async () => {
    await h.cleanup();
    await node?.close();
  });

  it('gets 504 at REQUEST_TIMEOUT for every kind of forwarded request, concurrently', async () => {
    h = new Harness();
    node = await silentNode();
    const gw = await h.gateway([node], { REQUEST_TIMEOUT: String(REQUEST_TIMEOUT_MS / 1000), WRITE_TIMEOUT: '2' });
    await waitFor('the silent node to pass its health checks', () => gw.cluster.primary.isUp);
    const base = gatewayUrl(gw);

    const requests = [
      ['meta', '/api/v2/version'],
      ['passthrough', '/api/v2/some/route/the/gateway/does/not/know'],
    ] as const;
    const started = performance.now();
    const answers = await Promise.all(
      requests.map(async ([kind, path]) => {
        const r = await http(base, 'GET', path);
        return { kind, status: r.status, json: r.json, ms: performance.now() - started };
      }),
    );
    console.log(`silent upstream: 504 after ${answers.map((a) => `${a.kind} ${Math.round(a.ms)} ms`).join(', ')}`);
    for (const a of answers) {
      expect({ kind: a.kind, status: a.status, json: a.json }).toEqual({
        kind: a.kind,
        status: 504,
        json: { error: 'GatewayTimeoutError', message: expect.stringContaining(`${REQUEST_TIMEOUT_MS} ms`) },
      });
      expect(a.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      // Bounded by the timeout, not a hang; the slack is for a busy 2-core machine running other tests.
      expect(a.ms).toBeLessThan(REQUEST_TIMEOUT_MS + 3_000);
    }
    // The requests really reached the silent node (the 504s are not the gateway refusing them). The gateway's
    // own identity check and adoption scan of a new primary may be swallowed too.
    expect(node.swallowed).toEqual(expect.arrayContaining(['GET /api/v2/version HTTP/1.1', 'GET /api/v2/some/route/the/gateway/does/not/know HTTP/1.1']));
    // Its identity marker never answered, so it serves no collection read: refused once WRITE_TIMEOUT has passed.
    const catalogRead = await http(base, 'GET', COLLECTIONS);
    expect({ status: catalogRead.status, error: catalogRead.json.error }).toEqual({ status: 503, error: 'ServiceUnavailableError' });
    expect(gw.cluster.primary.lifecycle).toBe('unverified');
    expect(node.swallowed).not.toContain(`GET ${COLLECTIONS} HTTP/1.1`);
  });
});
