// Issue 12, unknown routes fail closed: a write to a route the table does not know gets 501 in Chroma's
// error shape and changes no node, unless ALLOW_UNKNOWN_WRITES lets it through; unknown GETs still reach the
// primary. The route table is held against the OpenAPI document the pinned Chroma server itself serves.
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTIONS, Harness, gatewayUrl, http, waitFor, PATIENT_PROBES } from '../helpers/cluster.js';
import { knownRoutes, matchRoute } from '../../src/routing/routes.js';

/** Routes the table knows that the server's spec does not list, and why. */
const NOT_IN_SPEC: Record<string, string> = {
  'GET /api/v1/heartbeat': 'the 0.x guide\'s health check path; the gateway answers it from the v2 heartbeat',
};

describe('unknown routes', () => {
  let h: Harness;
  afterEach(async () => h.cleanup());

  it('knows every route of the pinned Chroma server\'s OpenAPI document, and no route it lacks', async () => {
    h = new Harness();
    const [node] = await h.chromaCluster(1);
    const spec = (await http(node!.url, 'GET', '/openapi.json')).json as { info: { version: string }; paths: Record<string, Record<string, unknown>> };
    expect(spec.info.version).toBe('1.0.0');
    const specRoutes = Object.entries(spec.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path })));
    expect(specRoutes.length).toBeGreaterThan(20);

    // Every route of the spec is classified; every route that is not a GET is a logged write or refused
    // outright, except the two reads Chroma sends as POST (get and query, which carry a filter body).
    const concrete = (template: string) => template.replace(/\{([^}]+)\}/g, 'sample-$1');
    const unclassified = specRoutes.filter(({ method, path }) => matchRoute(method, concrete(path))?.kind === 'passthrough');
    expect(unclassified).toEqual([]);
    const nonGet = specRoutes.filter(({ method }) => method !== 'GET').map(({ method, path }) => `${method} ${path} ${matchRoute(method, concrete(path))!.kind}`);
    for (const r of nonGet) expect(r).toMatch(/ (write|refused)$|\/(get|query) record-read$/);
    expect(nonGet.filter((r) => / (write|refused)$/.test(r)).length).toBeGreaterThanOrEqual(12);

    // Every route of the table exists in the spec, with the same method and path.
    const inSpec = new Set(specRoutes.map(({ method, path }) => `${method} ${path}`));
    const extra = knownRoutes()
      .map(({ method, template }) => `${method} ${template}`)
      .filter((r) => !inSpec.has(r) && !(r in NOT_IN_SPEC));
    expect(extra).toEqual([]);
  });

  it('refuses writes to unknown routes with 501 and changes no node; unknown GETs still reach the primary', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const base = gatewayUrl(await h.gateway(nodes, PATIENT_PROBES));
    const created = await http(base, 'POST', COLLECTIONS, { name: 'source' });
    expect(created.status).toBe(200);
    const status = async () => (await http(base, 'GET', '/status')).json;
    const head = (await status()).log.head as number;
    const collectionsOn = async () => Promise.all(nodes.map(async (n) => (await http(n.url, 'GET', COLLECTIONS)).json.map((c: { name: string }) => c.name).sort()));
    const before = await waitFor('the replica to hold the collection', async () => {
      const names = await collectionsOn();
      return names.every((n) => n.length === 1) ? names : null;
    });
    expect(before).toEqual([['source'], ['source']]);

    for (const [method, path, body] of [
      // A route of Chroma 1.0.0 the log cannot replicate: explicitly refused.
      ['POST', `${COLLECTIONS}/${created.json.id}/fork`, { new_name: 'forked' }],
      // Routes of later Chroma releases and of nothing at all.
      ['POST', `${COLLECTIONS}/${created.json.id}/search`, { searches: [] }],
      ['POST', '/api/v2/tenants/default_tenant/databases/default_database/collections/by-id/x/rename', { name: 'x' }],
      ['DELETE', '/api/v2/tenants/default_tenant', undefined],
      ['PUT', '/api/v2/something/new', { name: 'made-by-unknown-route' }],
    ] as const) {
      const r = await http(base, method, path, body);
      expect({ method, path, status: r.status }).toEqual({ method, path, status: 501 });
      expect(r.json).toEqual({ error: 'NotImplementedError', message: expect.stringContaining(`${method} ${path}`) });
    }
    expect((await status()).log.head).toBe(head);
    expect(await collectionsOn()).toEqual(before);

    // An unknown GET passes to the primary unchanged (here Chroma's own 404 for a path it lacks).
    const unknownGet = await http(base, 'GET', '/api/v2/a/route/of/a/later/release');
    expect(unknownGet.status).toBe(404);
    expect(unknownGet.headers.get('x-chroma-ha-node')).toBe('primary');
  });

  it('sends an unknown write to the primary alone when ALLOW_UNKNOWN_WRITES=true', async () => {
    h = new Harness();
    const nodes = await h.chromaCluster(2);
    const gw = await h.gateway(nodes, { ...PATIENT_PROBES, ALLOW_UNKNOWN_WRITES: 'true' });
    const r = await http(gatewayUrl(gw), 'POST', '/api/v2/a/write/of/a/later/release', {});
    // The primary answered (Chroma 1.0.0 has no such route), and nothing was logged.
    expect(r.status).toBe(404);
    expect(r.headers.get('x-chroma-ha-node')).toBe('primary');
    expect((await http(gatewayUrl(gw), 'GET', '/status')).json.log.head).toBe(0);
  });
});
