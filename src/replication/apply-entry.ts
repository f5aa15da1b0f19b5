// Applies one log entry to one node: sends the request its operation makes for that node
// (operation-request.ts), and works out what the answer changes in the catalog. In replay mode (a replica
// catching up, or a primary re-applying an entry whose first attempt may have landed) answers that only
// mean "already done" (409 on create, 404 on delete) are accepted as success, so replays are idempotent.
import type { ClusterNode } from '../cluster/node.js';
import type { CatalogChanges, CollectionRecord, LogEntry } from '../store/types.js';
import type { Catalog } from './catalog.js';
import { idsToLookUp, planUpdate } from './update-guard.js';
import { collectionPath, localCollectionPath, requestFor, tenantPath, type NodeRequest } from './operation-request.js';

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
  let sentBody: Buffer | undefined;

  // A get_or_create the primary answered with an adopted collection: a replica that does not hold it must
  // not create an empty namesake, which would then pass for a copy and serve its reads.
  const created = entry.op === 'create_collection' && entry.collectionId ? catalog.get(entry.collectionId) : undefined;
  if (!deciding && created?.origin === 'adopted' && !catalog.localId(node.id, created.stableId)) return { kind: 'not-held' };

  let request = requestFor(entry, node.id, catalog);
  if (!request) {
    const record = entry.collectionId ? catalog.get(entry.collectionId) : undefined;
    if (record?.origin === 'adopted' && !deciding) return { kind: 'not-held' };
    // Deleted later in the log and never copied to this node (a refill ran after the delete): nothing to hold.
    if (record?.deleted && !deciding) return { kind: 'not-held' };
    return { kind: 'missing', message: `collection ${entry.collectionId ?? '?'} is not present on ${node.name}` };
  }
  if (deciding && entry.op === 'update') {
    sentBody = await guardedUpdate(ctx, entry);
    if (sentBody) request = { ...request, body: sentBody };
  }

  // Resolve by-name targets before sending: afterwards the name no longer points at the collection.
  const deletedCollection =
    entry.op === 'delete_collection' && entry.tenant && entry.database
      ? deciding
        ? catalog.byName(entry.tenant, entry.database, entry.collectionName ?? '')
        : entry.collectionId
          ? catalog.get(entry.collectionId)
          : undefined
      : undefined;

  // A replayed create whose collection the node still holds (found under its current name, which a later
  // rename may have changed) is done: sending it again would make a second collection under the old name.
  if (replay && entry.op === 'create_collection') {
    const held = await stillHeld(entry, ctx);
    if (held) return { kind: 'answered', ...held, changes: {}, collectionId: entry.collectionId };
  }

  let res = await send(ctx, request);

  if (replay && !ok(res.status)) res = await toleratedReplay(entry, request, res, ctx, deciding);

  if (!ok(res.status)) return { kind: 'answered', ...res, changes: {}, collectionId: entry.collectionId };
  return { kind: 'answered', ...res, ...catalogChanges(entry, res.body, ctx, deciding, deletedCollection), sentBody };
}

/** The body to send for an update on the primary (see update-guard.ts), or undefined to send it as logged. */
async function guardedUpdate(ctx: ApplyContext, entry: LogEntry): Promise<Buffer | undefined> {
  const ids = idsToLookUp(entry.body);
  const collection = localCollectionPath(entry, ctx.node.id, ctx.catalog);
  if (!ids || !collection) return undefined;
  const found = await send(ctx, { method: 'POST', path: `${collection}/get`, body: Buffer.from(JSON.stringify({ ids, include: [] })) });
  // The collection is gone or the lookup failed: Chroma answers the update itself, as it would anyway.
  const existingIds = ok(found.status) ? parseBody(found.body)?.ids : undefined;
  if (!Array.isArray(existingIds)) return undefined;
  const existing = new Set(existingIds as string[]);
  if (planUpdate(entry.body, existing, null).kind === 'unchanged') return undefined;
  const plan = planUpdate(entry.body, existing, await collectionDimension(ctx, entry));
  return plan.kind === 'rewrite' ? plan.body : undefined;
}

/** The collection's embedding dimension on the node (null: not set yet, or unknown). */
async function collectionDimension(ctx: ApplyContext, entry: LogEntry): Promise<number | null> {
  const name = entry.collectionId ? ctx.catalog.get(entry.collectionId)?.name : undefined;
  if (!name || !entry.tenant || !entry.database) return null;
  const r = await send(ctx, { method: 'GET', path: collectionPath(entry.tenant, entry.database, name), body: null });
  const dimension = ok(r.status) ? parseBody(r.body)?.dimension : null;
  return typeof dimension === 'number' ? dimension : null;
}

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string;
}

/** A request to the node: an operation's, or a lookup (GET) around it. */
type Request = NodeRequest | { method: 'GET'; path: string; body: null };

async function send(ctx: ApplyContext, { method, path, body }: Request): Promise<Answer> {
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

/** The node's answer for the collection a create made, when the node still holds it under the local id the catalog maps. */
async function stillHeld(entry: LogEntry, ctx: ApplyContext): Promise<Answer | null> {
  const localId = entry.collectionId ? ctx.catalog.localId(ctx.node.id, entry.collectionId) : undefined;
  const record = entry.collectionId ? ctx.catalog.get(entry.collectionId) : undefined;
  if (!localId || !record || record.deleted) return null;
  const existing = await send(ctx, { method: 'GET', path: collectionPath(record.tenant, record.database, record.name), body: null });
  return ok(existing.status) && parseBody(existing.body)?.id === localId ? existing : null;
}

/** Turns "already applied" answers of a replayed entry into success; anything else stands. */
async function toleratedReplay(entry: LogEntry, request: NodeRequest, res: Answer, ctx: ApplyContext, deciding: boolean): Promise<Answer> {
  const { catalog, node } = ctx;
  const done: Answer = { status: 200, contentType: 'application/json', body: '{}' };
  const byName = (name: string) => send(ctx, { method: 'GET', path: collectionPath(entry.tenant!, entry.database!, name), body: null });
  const scoped = entry.tenant !== null && entry.database !== null;
  switch (entry.op) {
    case 'create_collection': {
      const name = parseBody(entry.body)?.name;
      if (res.status === 404 && !deciding && scoped) {
        // A database adopted from the primary may not exist on a replica yet: create it, then retry.
        await send(ctx, { method: 'POST', path: '/api/v2/tenants', body: Buffer.from(JSON.stringify({ name: entry.tenant })) });
        await send(ctx, { method: 'POST', path: `${tenantPath(entry.tenant!)}/databases`, body: Buffer.from(JSON.stringify({ name: entry.database })) });
        return send(ctx, request);
      }
      if (res.status === 409 && typeof name === 'string' && scoped) {
        const existing = await byName(name);
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
      if (typeof newName !== 'string' || !scoped) return res;
      const existing = await byName(newName);
      const localId = entry.collectionId ? catalog.localId(node.id, entry.collectionId) : undefined;
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
      const stableId = entry.collectionId;
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

function parseBody(body: Buffer | string | null): Record<string, unknown> | null {
  if (!body || body.length === 0) return null;
  try {
    const v = JSON.parse(body.toString());
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
