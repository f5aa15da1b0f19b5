// The one route table: every request path of Chroma's v2 API is classified here as meta, a catalog
// read, a record read, or a write (which goes through the replication log). What a route is decides
// where it may be served; nothing else in the gateway parses Chroma paths.
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
  /** Anything else under /api: forwarded unchanged to the primary. */
  | { kind: 'passthrough' };

const SEG = '([^/]+)';
const DB = `/api/v2/tenants/${SEG}/databases/${SEG}`;

interface RouteRule {
  method: string;
  pattern: RegExp;
  build: (m: string[]) => Route;
}

const rule = (method: string, path: string, build: (m: string[]) => Route): RouteRule => ({
  method,
  pattern: new RegExp(`^${path}/?$`),
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
  rule('GET', `/api/v2/tenants/${SEG}`, (m) => ({ kind: 'catalog-read', op: 'get_tenant', tenant: d(m[1]) })),
  rule('PATCH', `/api/v2/tenants/${SEG}`, (m) => ({ kind: 'write', op: 'update_tenant', tenant: d(m[1]) })),
  rule('GET', `/api/v2/tenants/${SEG}/databases`, (m) => ({ kind: 'catalog-read', op: 'list_databases', tenant: d(m[1]) })),
  rule('POST', `/api/v2/tenants/${SEG}/databases`, (m) => ({ kind: 'write', op: 'create_database', tenant: d(m[1]) })),
  rule('GET', DB, (m) => ({ kind: 'catalog-read', op: 'get_database', tenant: d(m[1]), database: d(m[2]) })),
  rule('DELETE', DB, (m) => ({ kind: 'write', op: 'delete_database', tenant: d(m[1]), database: d(m[2]) })),
  rule('GET', `${DB}/collections`, (m) => ({ kind: 'catalog-read', op: 'list_collections', tenant: d(m[1]), database: d(m[2]) })),
  rule('POST', `${DB}/collections`, (m) => ({ kind: 'write', op: 'create_collection', tenant: d(m[1]), database: d(m[2]) })),
  rule('GET', `${DB}/collections_count`, (m) => ({ kind: 'catalog-read', op: 'count_collections', tenant: d(m[1]), database: d(m[2]) })),
  rule('GET', `${DB}/collections/${SEG}`, (m) => ({
    kind: 'catalog-read',
    op: 'get_collection',
    tenant: d(m[1]),
    database: d(m[2]),
    collectionName: d(m[3]),
  })),
  rule('DELETE', `${DB}/collections/${SEG}`, (m) => ({
    kind: 'write',
    op: 'delete_collection',
    tenant: d(m[1]),
    database: d(m[2]),
    collectionName: d(m[3]),
  })),
  rule('PUT', `${DB}/collections/${SEG}`, (m) => ({
    kind: 'write',
    op: 'modify_collection',
    tenant: d(m[1]),
    database: d(m[2]),
    collectionId: d(m[3]),
  })),
  ...(['add', 'upsert', 'update', 'delete'] as const).map((op) =>
    rule('POST', `${DB}/collections/${SEG}/${op}`, (m) => ({
      kind: 'write',
      op,
      tenant: d(m[1]),
      database: d(m[2]),
      collectionId: d(m[3]),
    })),
  ),
  rule('GET', `${DB}/collections/${SEG}/count`, (m) => recordRead('count', m)),
  rule('POST', `${DB}/collections/${SEG}/get`, (m) => recordRead('get', m)),
  rule('POST', `${DB}/collections/${SEG}/query`, (m) => recordRead('query', m)),
];

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

export const isWriteRoute = (r: Route): r is Extract<Route, { kind: 'write' }> => r.kind === 'write';
