// Issue 12, hostile clients, over real sockets: a client that sends its headers and then stalls (its body
// or the rest of its headers) is cut off with 408 within BODY_TIMEOUT while other clients are served; an
// over-long URL or header gets 431 with a JSON body in Chroma's error shape. Nothing reaches the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, PATIENT_PROBES } from '../helpers/cluster.js';
import { rawExchange } from '../helpers/raw-http.js';
import { scrape } from '../helpers/prometheus.js';
import type { Gateway } from '../../src/gateway/gateway.js';

const BODY_TIMEOUT_S = 0.6;

describe('hostile clients', () => {
  let h: Harness;
  let gw: Gateway;
  let base: string;
  const logHead = async () => (await http(base, 'GET', '/status')).json.log.head as number;

  beforeAll(async () => {
    h = new Harness();
    gw = await h.gateway(await h.chromaCluster(1), { ...PATIENT_PROBES, BODY_TIMEOUT: String(BODY_TIMEOUT_S) });
    base = gatewayUrl(gw);
  });
  afterAll(async () => h.cleanup());

  it('cuts off a stalled body (and stalled headers) with 408 within BODY_TIMEOUT, serving other clients meanwhile', async () => {
    const head = await logHead();
    const before = await scrape(`${base}/metrics`);
    const stalledBody = rawExchange(
      gw.port,
      `POST ${COLLECTIONS} HTTP/1.1\r\nhost: gateway\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"name": "sta`,
    );
    const stalledHeaders = rawExchange(gw.port, `GET /api/v2/heartbeat HTTP/1.1\r\nhost: gateway\r\nx-slow: `);
    // While both hold their connections, other clients get answers, including a write.
    const served: number[] = [];
    for (let i = 0; i < 5; i++) served.push((await http(base, 'GET', '/api/v2/heartbeat')).status);
    served.push((await http(base, 'POST', COLLECTIONS, { name: 'served-meanwhile' })).status);
    expect(served).toEqual([200, 200, 200, 200, 200, 200]);

    for (const answer of [await stalledBody, await stalledHeaders]) {
      expect(answer.status).toBe(408);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(JSON.parse(answer.body)).toEqual({ error: 'RequestTimeoutError', message: expect.stringContaining('BODY_TIMEOUT') });
      // Within the bound (node checks its deadlines every BODY_TIMEOUT/10), with slack for a busy machine.
      expect(answer.closedAfterMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_S * 1000 * 0.9);
      expect(answer.closedAfterMs).toBeLessThan(BODY_TIMEOUT_S * 1000 + 1_500);
    }
    // Each cut-off request is counted once, as a 408 (not as the 200 its handler never sent).
    const after = await scrape(`${base}/metrics`);
    const count = (m: typeof after, route: string, status: string) => m.value('chroma_ha_requests_total', { route_class: route, status }) ?? 0;
    expect(count(after, 'gateway', '408') + count(after, 'write', '408') - count(before, 'gateway', '408') - count(before, 'write', '408')).toBe(2);
    expect(count(after, 'write', '200') - count(before, 'write', '200')).toBe(1);
    // Only the write that completed was logged; the stalled one never reached the log or a node.
    expect(await logHead()).toBe(head + 1);
    expect((await http(base, 'GET', `${COLLECTIONS}/stalled`)).status).toBe(404);
  });

  it('answers an over-long URL and an over-long header with 431 and a JSON body in Chroma\'s shape', async () => {
    const longUrl = await rawExchange(gw.port, `GET /api/v2/heartbeat?pad=${'a'.repeat(60_000)} HTTP/1.1\r\nhost: gateway\r\n\r\n`);
    const longHeader = await rawExchange(gw.port, `GET /api/v2/heartbeat HTTP/1.1\r\nhost: gateway\r\nx-pad: ${'b'.repeat(20_000)}\r\n\r\n`);
    for (const answer of [longUrl, longHeader]) {
      expect(answer.status).toBe(431);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
      expect(JSON.parse(answer.body)).toEqual({ error: 'RequestHeaderFieldsTooLargeError', message: expect.stringContaining('bytes') });
    }
    // Garbage that is not HTTP at all gets a 400 in the same shape.
    const garbage = await rawExchange(gw.port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body)).toEqual({ error: 'InvalidArgumentError', message: expect.any(String) });
    // The gateway still serves.
    expect((await http(base, 'GET', '/api/v2/heartbeat')).status).toBe(200);
  });
});
