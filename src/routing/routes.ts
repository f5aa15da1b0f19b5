// The one route table: every request path of Chroma's v2 API is classified here as meta, a catalog
// read, a record read, a write (which goes through the replication log), or refused (a write the log
// cannot replicate). What a route is decides where it may be served; nothing else in the gateway parses
// Chroma paths. Paths are written as Chroma's OpenAPI document writes them, so a test can hold the table
// against the pinned server's /openapi.json.
import type { WriteOp } from '../store/types.js';

export type ReadOp =
  | 'heartbeat'
  | 'node-info'
  | 'get_tenant'
  | 'list_databases'
  | 'get_database'
  | 'list_collections'
  | 'count_collections'
  | 'get_collection'
  | 'count'
  | 'get'
  | 'query';

export type Route =
  /** Served by any healthy node: heartbeat, version, identity, pre-flight checks. */
  | { kind: 'meta'; op: ReadOp }
  /** Reads of tenants, databases and the collection list: need a node that has every catalog change. */
  | { kind: 'catalog-read'; op: ReadOp; tenant: string; database?: string; collectionName?: string }
  /** Reads of one collection's records, by its (stable) id. */
  | { kind: 'record-read'; op: ReadOp; tenant: string; database: string; collectionId: string }
  /** Writes: logged, applied to the primary, then replicated. */
  | { kind: 'write'; op: WriteOp; tenant?: string; database?: string; collectionId?: string; collectionName?: string }
  /** Chroma writes the log cannot replicate (yet): answered 501, never sent to a node alone. */
  | { kind: 'refused'; reason: string }
  /**
   * Anything else under /api: unknown to this table. The gateway sends a GET to the primary unchanged and
   * refuses any other method (ALLOW_UNKNOWN_WRITES lets it through, unlogged).
   */
  | { kind: 'passthrough' };

const DB = '/api/v2/tenants/{tenant}/databases/{database}';

interface RouteRule {
  method: string;
  /** The path as Chroma's OpenAPI document writes it, `{name}` for a path segment. */
  template: string;
  pattern: RegExp;
  build: (m: string[]) => Route;
}

const rule = (method: string, template: string, build: (m: string[]) => Route): RouteRule => ({
  method,
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '([^/]+)')}/?$`),
  build,
});

const d = (s: string | undefined) => decodeURIComponent(s ?? '');

const RULES: RouteRule[] = [
  rule('GET', '/api/v2/heartbeat', () => ({ kind: 'meta', op: 'heartbeat' })),
  rule('GET', '/api/v1/heartbeat', () => ({ kind: 'meta', op: 'heartbeat' })),
  rule('GET', '/api/v2/healthcheck', () => ({ kind: 'meta', op: 'node-info' })),
  rule('GET', '/api/v2/version', () => ({ kind: 'meta', op: 'node-info' })),
  rule('GET', '/api/v2/pre-flight-checks', () => ({ kind: 'meta', op: 'node-info' })),
  rule('GET', '/api/v2/auth/identity', () => ({ kind: 'meta', op: 'node-info' })),
  rule('POST', '/api/v2/reset', () => ({ kind: 'write', op: 'reset' })),
  rule('POST', '/api/v2/tenants', () => ({ kind: 'write', op: 'create_tenant' })),
  rule('GET', '/api/v2/tenants/{tenant_name}', (m) => ({ kind: 'catalog-read', op: 'get_tenant', tenant: d(m[1]) })),
  rule('PATCH', '/api/v2/tenants/{tenant_name}', (m) => ({ kind: 'write', op: 'update_tenant', tenant: d(m[1]) })),
  rule('GET', '/api/v2/tenants/{tenant}/databases', (m) => ({ kind: 'catalog-read', op: 'list_databases', tenant: d(m[1]) })),
  rule('POST', '/api/v2/tenants/{tenant}/databases', (m) => ({ kind: 'write', op: 'create_database', tenant: d(m[1]) })),
  rule('GET', DB, (m) => ({ kind: 'catalog-read', op: 'get_database', tenant: d(m[1]), database: d(m[2]) })),
  rule('DELETE', DB, (m) => ({ kind: 'write', op: 'delete_database', tenant: d(m[1]), database: d(m[2]) })),
  rule('GET', `${DB}/collections`, (m) => ({ kind: 'catalog-read', op: 'list_collections', tenant: d(m[1]), database: d(m[2]) })),
  rule('POST', `${DB}/collections`, (m) => ({ kind: 'write', op: 'create_collection', tenant: d(m[1]), database: d(m[2]) })),
  rule('GET', `${DB}/collections_count`, (m) => ({ kind: 'catalog-read', op: 'count_collections', tenant: d(m[1]), database: d(m[2]) })),
  rule('GET', `${DB}/collections/{collection_id}`, (m) => ({
    kind: 'catalog-read',
    op: 'get_collection',
    tenant: d(m[1]),
    database: d(m[2]),
    collectionName: d(m[3]),
  })),
  rule('DELETE', `${DB}/collections/{collection_id}`, (m) => ({
    kind: 'write',
    op: 'delete_collection',
    tenant: d(m[1]),
    database: d(m[2]),
    collectionName: d(m[3]),
  })),
  rule('PUT', `${DB}/collections/{collection_id}`, (m) => ({
    kind: 'write',
    op: 'modify_collection',
    tenant: d(m[1]),
    database: d(m[2]),
    collectionId: d(m[3]),
  })),
  ...(['add', 'upsert', 'update', 'delete'] as const).map((op) =>
    rule('POST', `${DB}/collections/{collection_id}/${op}`, (m) => ({
      kind: 'write',
      op,
      tenant: d(m[1]),
      database: d(m[2]),
      collectionId: d(m[3]),
    })),
  ),
  rule('GET', `${DB}/collections/{collection_id}/count`, (m) => recordRead('count', m)),
  rule('POST', `${DB}/collections/{collection_id}/get`, (m) => recordRead('get', m)),
  rule('POST', `${DB}/collections/{collection_id}/query`, (m) => recordRead('query', m)),
  // A fork creates a collection from another's history on one node; nothing here can replay it on the
  // others, so it is refused rather than let the nodes differ.
  rule('POST', `${DB}/collections/{collection_id}/fork`, () => ({
    kind: 'refused',
    reason: 'forking a collection is not supported through chroma-ha: the fork could not be replicated to every node',
  })),
];

/** Every route the table knows, as method and OpenAPI path template (for the test against Chroma's spec). */
export const knownRoutes = (): Array<{ method: string; template: string; kind: Route['kind'] }> =>
  RULES.map((r) => {
    const sample = r.template.replace(/\{[^}]+\}/g, 'sample');
    return { method: r.method, template: r.template, kind: r.build(r.pattern.exec(sample) as unknown as string[]).kind };
  });

/** Methods that cannot change a node, so an unknown route with one of them may pass to the primary. */
export const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function recordRead(op: ReadOp, m: string[]): Route {
  return { kind: 'record-read', op, tenant: d(m[1]), database: d(m[2]), collectionId: d(m[3]) };
}

/** Classifies a request; returns null for paths outside the API (the gateway answers those itself). */
export function matchRoute(method: string, pathname: string): Route | null {
  if (!pathname.startsWith('/api/')) return null;
  for (const r of RULES) {
    if (r.method !== method) continue;
    const m = r.pattern.exec(pathname);
    if (m) return r.build(m as unknown as string[]);
  }
  return { kind: 'passthrough' };
}

/** The same path with the collection id segment (the one after /collections/) replaced. */
export function withCollectionId(pathname: string, collectionId: string): string {
  return pathname.replace(/^(\/api\/v2\/tenants\/[^/]+\/databases\/[^/]+\/collections\/)[^/]+/, `$1${encodeURIComponent(collectionId)}`);
}
