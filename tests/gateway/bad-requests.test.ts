// Acceptance 5, requests: malformed or oversized requests get a clear 4xx in Chroma's error shape and
// change nothing (the replication log head and the data stay as they were); unknown routes and
// collections get 404 JSON. The tests share one cluster: none of them may change anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor, PATIENT_PROBES, type ChromaProcess } from '../helpers/cluster.js';

const MAX_BODY_BYTES = 4096;

describe('bad requests', () => {
  let h: Harness;
  let nodes: ChromaProcess[];
  let base: string;
  let id: string;

  const logHead = async () => (await http(base, 'GET', '/status')).json.log.head as number;
  const count = async () => (await http(base, 'GET', `${COLLECTIONS}/${id}/count`)).json as number;
  const chromaShape = { error: expect.any(String), message: expect.any(String) };

  beforeAll(async () => {
    h = new Harness();
    nodes = await h.chromaCluster(2);
    base = gatewayUrl(await h.gateway(nodes, { ...PATIENT_PROBES, MAX_BODY_BYTES: String(MAX_BODY_BYTES) }));
    const created = await http(base, 'POST', COLLECTIONS, { name: 'target' });
    expect(created.status, created.text).toBe(200);
    id = created.json.id;
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['kept'], embeddings: [[1, 2, 3]] })).status).toBe(201);
  });
  afterAll(async () => h.cleanup());

  it('answers a write body that is not JSON with 400 as Chroma does, and logs nothing', async () => {
    const [head, records] = [await logHead(), await count()];
    // Chroma 1.0.0 answers 400 InvalidArgumentError "Failed to parse the request body as JSON: ..."; so does the gateway.
    const direct = await http(nodes[0]!.url, 'POST', COLLECTIONS, '{"name": "broken",');
    expect(direct.status).toBe(400);
    expect(direct.json).toEqual({ error: 'InvalidArgumentError', message: expect.stringMatching(/^Failed to parse the request body as JSON: /) });

    const create = await http(base, 'POST', COLLECTIONS, '{"name": "broken",');
    expect(create.status).toBe(direct.status);
    expect(create.json).toEqual({ error: direct.json.error, message: expect.stringMatching(/^Failed to parse the request body as JSON: /) });
    const add = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, '{"ids": ["x"], "embeddings": [[1,2,3]]');
    expect(add.status).toBe(400);
    expect(add.json).toEqual(chromaShape);
    const modify = await http(base, 'PUT', `${COLLECTIONS}/${id}`, 'new_name=x');
    expect(modify.status).toBe(400);

    expect(await logHead()).toBe(head);
    expect((await http(base, 'GET', `${COLLECTIONS}/broken`)).status).toBe(404);
    expect(await count()).toBe(records);
  });

  it('passes a well-formed but invalid write to Chroma and applies nothing anywhere', async () => {
    const records = await count();
    const direct = await http(nodes[0]!.url, 'POST', `${COLLECTIONS}/${(await http(nodes[0]!.url, 'GET', `${COLLECTIONS}/target`)).json.id}/add`, {
      ids: 'not-a-list',
    });
    const viaGateway = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: 'not-a-list' });
    expect(direct.status).toBeGreaterThanOrEqual(400);
    expect(viaGateway.status).toBe(direct.status);
    expect(viaGateway.json).toEqual(direct.json);
    // The replica skips the rejected entry and stays in sync; the data is unchanged on both nodes.
    await waitFor('the replica to pass the rejected entry', async () => {
      const s = (await http(base, 'GET', '/status')).json;
      return s.nodes.every((n: { syncState: string; appliedPosition: number }) => n.syncState === 'in-sync' && n.appliedPosition === s.log.head);
    });
    for (const node of nodes) {
      const localId = (await http(node.url, 'GET', `${COLLECTIONS}/target`)).json.id;
      expect((await http(node.url, 'GET', `${COLLECTIONS}/${localId}/count`)).json).toBe(records);
    }
  });

  it('answers an unknown collection id with 404 NotFoundError, for reads and writes', async () => {
    const [head, records] = [await logHead(), await count()];
    const unknown = randomUUID();
    for (const [method, path, body] of [
      ['GET', `${COLLECTIONS}/${unknown}/count`, undefined],
      ['POST', `${COLLECTIONS}/${unknown}/get`, {}],
      ['POST', `${COLLECTIONS}/${unknown}/query`, { query_embeddings: [[1, 2, 3]], n_results: 1 }],
      ['POST', `${COLLECTIONS}/${unknown}/add`, { ids: ['x'], embeddings: [[1, 2, 3]] }],
      ['POST', `${COLLECTIONS}/${unknown}/delete`, { ids: ['kept'] }],
      ['PUT', `${COLLECTIONS}/${unknown}`, { new_name: 'renamed' }],
    ] as const) {
      const r = await http(base, method, path, body);
      expect({ method, path, status: r.status, error: r.json?.error }).toEqual({ method, path, status: 404, error: 'NotFoundError' });
      expect(r.json).toEqual(chromaShape);
    }
    expect(await logHead()).toBe(head);
    expect(await count()).toBe(records);
  });

  it('refuses a body over MAX_BODY_BYTES with 413, declared or streamed', async () => {
    const [head, records] = [await logHead(), await count()];
    const ids = Array.from({ length: 400 }, (_, i) => `too-many-${i}`);
    const big = JSON.stringify({ ids, embeddings: ids.map(() => [1, 2, 3]) });
    expect(big.length).toBeGreaterThan(MAX_BODY_BYTES);

    const declared = await http(base, 'POST', `${COLLECTIONS}/${id}/add`, big);
    expect(declared.status).toBe(413);
    expect(declared.json).toEqual({ error: 'PayloadTooLargeError', message: expect.stringContaining('MAX_BODY_BYTES') });

    // Chunked, without a content-length: the limit is enforced while reading.
    const bytes = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1024) controller.enqueue(bytes.slice(i, i + 1024));
        controller.close();
      },
    });
    const streamed = await fetch(`${base}${COLLECTIONS}/${id}/add`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await streamed.json()).error).toBe('PayloadTooLargeError');

    const read = await http(base, 'POST', `${COLLECTIONS}/${id}/get`, JSON.stringify({ ids }));
    expect(read.status).toBe(413);

    expect(await logHead()).toBe(head);
    expect(await count()).toBe(records);
    // A body just under the limit is fine.
    expect((await http(base, 'POST', `${COLLECTIONS}/${id}/add`, { ids: ['small'], embeddings: [[3, 2, 1]] })).status).toBe(201);
  });

  it('answers unknown routes outside the API with 404 JSON', async () => {
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/nope'],
      ['POST', '/health'],
      ['GET', '/apiv2/heartbeat'],
    ] as const) {
      const r = await http(base, method, path);
      expect({ path, status: r.status, type: r.headers.get('content-type') }).toEqual({ path, status: 404, type: 'application/json' });
      expect(r.json).toEqual({ error: 'NotFoundError', message: expect.any(String) });
    }
  });
});
