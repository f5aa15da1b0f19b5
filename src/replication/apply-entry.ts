// Applies one log entry to one node: translates stable collection ids to the node's own, sends the
// request, and works out what the answer changes in the catalog. In replay mode (a replica catching up,
// or a primary re-applying an entry whose first attempt may have landed) answers that only mean
// "already done" (409 on create, 404 on delete) are accepted as success, so replays are idempotent.
import type { ClusterNode } from '../cluster/node.js';
import type { CatalogChanges, CollectionRecord, LogEntry } from '../store/types.js';
import type { Catalog } from './catalog.js';
import { matchRoute, withCollectionId } from '../routing/routes.js';
import { idsToLookUp, planUpdate } from './update-guard.js';

export type ApplyMode =
  /** The primary applies an entry for the first time and its answer decides the outcome. */
  | 'decide'
  /** The primary re-applies an entry that may already have reached it; its answer decides the outcome. */
  | 'decide-replay'
  /** A replica applies an entry the primary committed. */
  | 'replicate';

export type ApplyResult =
  | {
      kind: 'answered';
      status: number;
      contentType: string | undefined;
      body: string;
      changes: CatalogChanges;
      collectionId: string | null;
      /** Set when the primary was sent a body other than the logged one: the log must keep this one. */
      sentBody?: Buffer;
    }
  /** The entry concerns a collection this node does not hold (adopted from the primary, not copied yet). */
  | { kind: 'not-held' }
  /** The node lacks a collection it should hold. */
  | { kind: 'missing'; message: string };

export interface ApplyContext {
  node: ClusterNode;
  catalog: Catalog;
  timeoutMs: number;
  signal?: AbortSignal;
  clientHeaders?: Record<string, string>;
}

const ok = (status: number) => status >= 200 && status < 300;

export async function applyEntry(entry: LogEntry, mode: ApplyMode, ctx: ApplyContext): Promise<ApplyResult> {
  const { node, catalog } = ctx;
  const deciding = mode !== 'replicate';
  const replay = mode !== 'decide';
  const [pathname, query] = splitQuery(entry.path);
  let path = entry.path;
  let body = entry.body;
  let sentBody: Buffer | undefined;

  // A get_or_create the primary answered with an adopted collection: a replica that does not hold it must
  // not create an empty namesake, which would then pass for a copy and serve its reads.
  const created = entry.op === 'create_collection' && entry.collectionId ? catalog.get(entry.collectionId) : undefined;
  if (!deciding && created?.origin === 'adopted' && !catalog.localId(node.id, created.stableId)) return { kind: 'not-held' };

  if (entry.op === 'modify_collection' || ['add', 'upsert', 'update', 'delete'].includes(entry.op)) {
    const route = matchRoute(entry.method, pathname);
    const stableId = route && 'collectionId' in route ? route.collectionId : undefined;
    const localId = stableId ? catalog.localId(node.id, stableId) : undefined;
    if (!stableId || !localId) {
      const record = stableId ? catalog.get(stableId) : undefined;
      if (record?.origin === 'adopted' && !deciding) return { kind: 'not-held' };
      // Deleted later in the log and never copied to this node (a refill ran after the delete): nothing to hold.
      if (record?.deleted && !deciding) return { kind: 'not-held' };
      return { kind: 'missing', message: `collection ${stableId ?? '?'} is not present on ${node.name}` };
    }
    path = withCollectionId(pathname, localId) + (query ? `?${query}` : '');
    if (deciding && entry.op === 'update') {
      sentBody = await guardedUpdate(ctx, entry, withCollectionId(pathname, localId), stableId);
      if (sentBody) body = sentBody;
    }
  }

  // Resolve by-name targets before sending: afterwards the name no longer points at the collection.
  const deletedCollection =
    entry.op === 'delete_collection' && entry.tenant && entry.database
      ? deciding
        ? catalog.byName(entry.tenant, entry.database, decodeURIComponent(pathname.split('/').pop() ?? ''))
        : entry.collectionId
          ? catalog.get(entry.collectionId)
          : undefined
      : undefined;

  let res = await send(ctx, entry.method, path, body);

  if (replay && !ok(res.status)) res = await toleratedReplay(entry, res, ctx, pathname, deciding);

  if (!ok(res.status)) return { kind: 'answered', ...res, changes: {}, collectionId: entry.collectionId };
  return { kind: 'answered', ...res, ...catalogChanges(entry, res.body, ctx, deciding, deletedCollection), sentBody };
}

/**
 * The body to send for an update on the primary (see update-guard.ts), or undefined to send it as logged.
 * `updatePath` is the node-local .../collections/{id}/update path.
 */
async function guardedUpdate(ctx: ApplyContext, entry: LogEntry, updatePath: string, stableId: string): Promise<Buffer | undefined> {
  const ids = idsToLookUp(entry.body);
  if (!ids) return undefined;
  const found = await send(ctx, 'POST', updatePath.replace(/\/update$/, '/get'), Buffer.from(JSON.stringify({ ids, include: [] })));
  // The collection is gone or the lookup failed: Chroma answers the update itself, as it would anyway.
  const existingIds = ok(found.status) ? parseBody(found.body)?.ids : undefined;
  if (!Array.isArray(existingIds)) return undefined;
  const existing = new Set(existingIds as string[]);
  if (planUpdate(entry.body, existing, null).kind === 'unchanged') return undefined;
  const plan = planUpdate(entry.body, existing, await collectionDimension(ctx, entry, stableId));
  return plan.kind === 'rewrite' ? plan.body : undefined;
}

/** The collection's embedding dimension on the node (null: not set yet, or unknown). */
async function collectionDimension(ctx: ApplyContext, entry: LogEntry, stableId: string): Promise<number | null> {
  const name = ctx.catalog.get(stableId)?.name;
  if (!name || !entry.tenant || !entry.database) return null;
  const r = await send(ctx, 'GET', `/api/v2/tenants/${enc(entry.tenant)}/databases/${enc(entry.database)}/collections/${enc(name)}`, null);
  const dimension = ok(r.status) ? parseBody(r.body)?.dimension : null;
  return typeof dimension === 'number' ? dimension : null;
}

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

async function send(ctx: ApplyContext, method: string, path: string, body: Buffer | null): Promise<Answer> {
  const r = await ctx.node.client.requestJson({
    method,
    path,
    body,
    headers: { ...(ctx.clientHeaders ?? {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
  });
  const ct = r.headers['content-type'];
  return { status: r.status, contentType: Array.isArray(ct) ? ct[0] : ct, body: r.text };
}

/** Turns "already applied" answers of a replayed entry into success; anything else stands. */
async function toleratedReplay(entry: LogEntry, res: Answer, ctx: ApplyContext, pathname: string, deciding: boolean): Promise<Answer> {
  const { catalog, node } = ctx;
  const done: Answer = { status: 200, contentType: 'application/json', body: '{}' };
  const collectionsPath = entry.tenant && entry.database ? `/api/v2/tenants/${enc(entry.tenant)}/databases/${enc(entry.database)}/collections` : null;
  switch (entry.op) {
    case 'create_collection': {
      const name = parseBody(entry.body)?.name;
      if (res.status === 404 && !deciding && collectionsPath) {
        // A database adopted from the primary may not exist on a replica yet: create it, then retry.
        await send(ctx, 'POST', '/api/v2/tenants', Buffer.from(JSON.stringify({ name: entry.tenant })));
        await send(ctx, 'POST', `/api/v2/tenants/${enc(entry.tenant!)}/databases`, Buffer.from(JSON.stringify({ name: entry.database })));
        return send(ctx, entry.method, entry.path, entry.body);
      }
      if (res.status === 409 && typeof name === 'string' && collectionsPath) {
        const existing = await send(ctx, 'GET', `${collectionsPath}/${enc(name)}`, null);
        const localId = parseBody(existing.body)?.id;
        // A collection the catalog already knows under this name is a real conflict, not our earlier attempt.
        // One the catalog maps to this very entry's collection was made by a refill by copy that ran after it.
        const known = typeof localId === 'string' ? catalog.stableId(node.id, localId) : undefined;
        if (ok(existing.status) && typeof localId === 'string' && (!known || known === entry.collectionId)) return existing;
      }
      return res;
    }
    case 'delete_collection':
    case 'delete_database':
      return res.status === 404 ? done : res;
    case 'create_tenant':
    case 'create_database':
      return res.status === 409 ? done : res;
    case 'modify_collection': {
      const newName = parseBody(entry.body)?.new_name;
      if (typeof newName !== 'string' || !collectionsPath) return res;
      const existing = await send(ctx, 'GET', `${collectionsPath}/${enc(newName)}`, null);
      const route = matchRoute('PUT', pathname);
      const stableId = route && 'collectionId' in route ? route.collectionId : undefined;
      const localId = stableId ? catalog.localId(node.id, stableId) : undefined;
      return ok(existing.status) && parseBody(existing.body)?.id === localId ? done : res;
    }
    default:
      return res;
  }
}

function catalogChanges(
  entry: LogEntry,
  body: string,
  ctx: ApplyContext,
  deciding: boolean,
  deletedCollection: CollectionRecord | undefined,
): { changes: CatalogChanges; collectionId: string | null } {
  const { catalog, node } = ctx;
  const scope = { tenant: entry.tenant ?? undefined, database: entry.database ?? undefined };
  switch (entry.op) {
    case 'create_collection': {
      const created = parseBody(body);
      const localId = typeof created?.id === 'string' ? created.id : null;
      if (!localId) return { changes: {}, collectionId: entry.collectionId };
      const stableId = (deciding ? catalog.stableId(node.id, localId) : undefined) ?? entry.collectionId!;
      const collections: CollectionRecord[] =
        deciding && !catalog.isLive(stableId)
          ? [{ stableId, tenant: entry.tenant!, database: entry.database!, name: String(created?.name), origin: 'log', deleted: false }]
          : [];
      return { changes: { collections, mappings: [{ stableId, nodeId: node.id, localId }] }, collectionId: stableId };
    }
    case 'delete_collection': {
      if (!deletedCollection) return { changes: {}, collectionId: entry.collectionId };
      return {
        changes: {
          collections: deciding ? [{ ...deletedCollection, deleted: true }] : [],
          mappings: [{ stableId: deletedCollection.stableId, nodeId: node.id, localId: null }],
        },
        collectionId: deletedCollection.stableId,
      };
    }
    case 'modify_collection': {
      const newName = parseBody(entry.body)?.new_name;
      const route = matchRoute('PUT', splitQuery(entry.path)[0]);
      const stableId = (route && 'collectionId' in route ? route.collectionId : undefined) ?? null;
      const record = stableId ? catalog.get(stableId) : undefined;
      const collections = deciding && record && typeof newName === 'string' ? [{ ...record, name: newName }] : [];
      return { changes: { collections }, collectionId: stableId };
    }
    case 'delete_database':
    case 'reset': {
      const filter = entry.op === 'reset' ? undefined : scope;
      return {
        changes: {
          collections: deciding ? catalog.live(filter).map((c) => ({ ...c, deleted: true })) : [],
          mappings: catalog.unmapAll(node.id, filter),
        },
        collectionId: null,
      };
    }
    default:
      return { changes: {}, collectionId: entry.collectionId };
  }
}

function splitQuery(path: string): [string, string] {
  const i = path.indexOf('?');
  return i < 0 ? [path, ''] : [path.slice(0, i), path.slice(i + 1)];
}

function parseBody(body: Buffer | string | null): Record<string, unknown> | null {
  if (!body || body.length === 0) return null;
  try {
    const v = JSON.parse(body.toString());
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const enc = encodeURIComponent;
