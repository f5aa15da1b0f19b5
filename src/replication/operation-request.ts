// Turns a logged operation into the HTTP request that performs it on one node: the one place where the
// replication layer spells Chroma's write paths. The log keeps stable collection ids; a node's request
// carries that node's own id for the collection, taken from the catalog.
import type { Operation } from '../store/types.js';

export interface NodeRequest {
  method: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body: Buffer | null;
}

/** Where a node's own collection ids are found (the catalog). */
export interface LocalIds {
  localId(nodeId: string, stableId: string): string | undefined;
}

const enc = encodeURIComponent;

export const tenantPath = (tenant: string) => `/api/v2/tenants/${enc(tenant)}`;
export const databasePath = (tenant: string, database: string) => `${tenantPath(tenant)}/databases/${enc(database)}`;
export const collectionsPath = (tenant: string, database: string) => `${databasePath(tenant, database)}/collections`;
/** A collection by name or, for the record routes, by the node's own id. */
export const collectionPath = (tenant: string, database: string, nameOrLocalId: string) => `${collectionsPath(tenant, database)}/${enc(nameOrLocalId)}`;

/**
 * The request performing `op` on the node `nodeId`, or null when the operation acts on a collection the
 * node holds no copy of (the catalog has no local id for it).
 */
export function requestFor(op: Operation, nodeId: string, ids: LocalIds): NodeRequest | null {
  const body = op.body;
  switch (op.op) {
    case 'reset':
      return { method: 'POST', path: '/api/v2/reset', body };
    case 'create_tenant':
      return { method: 'POST', path: '/api/v2/tenants', body };
    case 'update_tenant':
      return { method: 'PATCH', path: tenantPath(required(op, 'tenant')), body };
    case 'create_database':
      return { method: 'POST', path: `${tenantPath(required(op, 'tenant'))}/databases`, body };
    case 'delete_database':
      return { method: 'DELETE', path: databasePath(required(op, 'tenant'), required(op, 'database')), body };
    case 'create_collection':
      return { method: 'POST', path: collectionsPath(required(op, 'tenant'), required(op, 'database')), body };
    case 'delete_collection':
      return { method: 'DELETE', path: collectionPath(required(op, 'tenant'), required(op, 'database'), required(op, 'collectionName')), body };
    case 'modify_collection':
    case 'add':
    case 'upsert':
    case 'update':
    case 'delete': {
      const path = localCollectionPath(op, nodeId, ids);
      if (path === null) return null;
      return op.op === 'modify_collection' ? { method: 'PUT', path, body } : { method: 'POST', path: `${path}/${op.op}`, body };
    }
  }
}

/** The node's own path of the collection an operation acts on by stable id; null when it holds no copy. */
export function localCollectionPath(op: Operation, nodeId: string, ids: LocalIds): string | null {
  const localId = op.collectionId ? ids.localId(nodeId, op.collectionId) : undefined;
  return localId ? collectionPath(required(op, 'tenant'), required(op, 'database'), localId) : null;
}

/** Whether two operations are sent to the same place (one request could carry both: batch.ts). */
export function sameTarget(a: Operation, b: Operation): boolean {
  return a.op === b.op && a.collectionId === b.collectionId && a.tenant === b.tenant && a.database === b.database && a.collectionName === b.collectionName;
}

/** A field the operation's kind cannot do without; its absence means the entry was written wrongly. */
function required(op: Operation, field: 'tenant' | 'database' | 'collectionName'): string {
  const value = op[field];
  if (value === null) throw new Error(`a logged ${op.op} has no ${field}`);
  return value;
}
