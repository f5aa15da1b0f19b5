// The request a logged operation makes for one node, for every kind of write: method, path (with the
// node's own collection id, names encoded) and body; null when the node holds no copy of the collection.
import { describe, expect, it } from 'vitest';
import { requestFor, sameTarget } from '../../src/replication/operation-request.js';
import type { Operation, WriteOp } from '../../src/store/types.js';

const BODY = Buffer.from('{"x":1}');
/** Node n1 holds stable collection s1 as local id l1; n2 holds no copy. */
const catalog = { localId: (nodeId: string, stableId: string) => (nodeId === 'n1' && stableId === 's1' ? 'l1' : undefined) };

function op(kind: WriteOp, over: Partial<Operation> = {}): Operation {
  return { op: kind, tenant: 't', database: 'd', collectionId: null, collectionName: null, body: BODY, ...over };
}

const DB = '/api/v2/tenants/t/databases/d';

describe('requestFor', () => {
  const cases: Array<[WriteOp, Partial<Operation>, string, string]> = [
    ['reset', { tenant: null, database: null, body: null }, 'POST', '/api/v2/reset'],
    ['create_tenant', { tenant: null, database: null }, 'POST', '/api/v2/tenants'],
    ['update_tenant', { database: null }, 'PATCH', '/api/v2/tenants/t'],
    ['create_database', { database: null }, 'POST', '/api/v2/tenants/t/databases'],
    ['delete_database', { body: null }, 'DELETE', DB],
    ['create_collection', { collectionId: 'new-stable-id' }, 'POST', `${DB}/collections`],
    ['delete_collection', { collectionName: 'docs', body: null }, 'DELETE', `${DB}/collections/docs`],
    ['modify_collection', { collectionId: 's1' }, 'PUT', `${DB}/collections/l1`],
    ['add', { collectionId: 's1' }, 'POST', `${DB}/collections/l1/add`],
    ['upsert', { collectionId: 's1' }, 'POST', `${DB}/collections/l1/upsert`],
    ['update', { collectionId: 's1' }, 'POST', `${DB}/collections/l1/update`],
    ['delete', { collectionId: 's1' }, 'POST', `${DB}/collections/l1/delete`],
  ];

  it('covers every kind of write', () => {
    const kinds: Record<WriteOp, true> = {
      reset: true,
      create_tenant: true,
      update_tenant: true,
      create_database: true,
      delete_database: true,
      create_collection: true,
      delete_collection: true,
      modify_collection: true,
      add: true,
      upsert: true,
      update: true,
      delete: true,
    };
    expect(cases.map((c) => c[0]).sort()).toEqual(Object.keys(kinds).sort());
  });

  it.each(cases)('%s', (kind, over, method, path) => {
    const operation = op(kind, over);
    expect(requestFor(operation, 'n1', catalog)).toEqual({ method, path, body: operation.body });
  });

  it.each(['modify_collection', 'add', 'upsert', 'update', 'delete'] as const)('%s on a node without a copy of the collection is null', (kind) => {
    expect(requestFor(op(kind, { collectionId: 's1' }), 'n2', catalog)).toBeNull();
    expect(requestFor(op(kind, { collectionId: 'unknown' }), 'n1', catalog)).toBeNull();
    expect(requestFor(op(kind), 'n1', catalog)).toBeNull();
  });

  it('encodes tenant, database and collection names as path segments', () => {
    const r = requestFor(op('delete_collection', { tenant: 'a b', database: 'x/y', collectionName: 'c?d' }), 'n1', catalog);
    expect(r?.path).toBe('/api/v2/tenants/a%20b/databases/x%2Fy/collections/c%3Fd');
  });

  it('refuses an operation that lacks what its kind needs, naming it', () => {
    expect(() => requestFor(op('delete_collection'), 'n1', catalog)).toThrow('a logged delete_collection has no collectionName');
    expect(() => requestFor(op('create_database', { tenant: null }), 'n1', catalog)).toThrow('has no tenant');
  });
});

describe('sameTarget', () => {
  it('is the same kind on the same collection, whatever the bodies', () => {
    const a = op('add', { collectionId: 's1' });
    expect(sameTarget(a, { ...a, body: null })).toBe(true);
    expect(sameTarget(a, op('upsert', { collectionId: 's1' }))).toBe(false);
    expect(sameTarget(a, op('add', { collectionId: 's2' }))).toBe(false);
    expect(sameTarget(a, op('add', { collectionId: 's1', database: 'other' }))).toBe(false);
  });
});
