// Node identity: a marker chroma-ha keeps on every node (one record in a collection of its own tenant,
// which clients never see), naming the cluster, the node and the node's incarnation (changed at every
// refill), with a position the node is known to hold. Reading it when a node comes up tells a node that is
// the one the gateway remembers from an empty or wiped one, a disk restored from an older copy, or a
// different server at the same URL. judgeIdentity is the pure decision; the rest is the marker's I/O.
import type { ClusterNode } from '../cluster/node.js';

/** Where the marker lives. Clients are refused this tenant at the gateway (gateway/api.ts). */
export const MARKER_TENANT = 'chroma_ha_internal';
const MARKER_DATABASE = 'chroma_ha';
const MARKER_COLLECTION = 'node-identity';
const MARKER_ID = 'identity';
const COLLECTIONS = `/api/v2/tenants/${MARKER_TENANT}/databases/${MARKER_DATABASE}/collections`;

export interface Marker {
  clusterId: string;
  nodeId: string;
  incarnation: string;
  /** Every committed entry up to here was applied to the node before the marker was written. */
  position: number;
}

export interface IdentityInput {
  clusterId: string;
  nodeId: string;
  /** What the store remembers of the node: null never seen, '' a refill was started, else the incarnation. */
  storedIncarnation: string | null;
  marker: Marker | null;
  isPrimary: boolean;
}

export type IdentityVerdict =
  /** The node is the one remembered; it holds at least everything up to `position`. */
  | { kind: 'member'; position: number }
  /** First sight of the primary: its content is the cluster's (it is adopted as is) and it gets a marker. */
  | { kind: 'stamp' }
  | { kind: 'resync'; reason: string }
  /** Another cluster's node: never overwritten without an operator's word. */
  | { kind: 'foreign'; reason: string };

export function judgeIdentity(input: IdentityInput): IdentityVerdict {
  const { marker, storedIncarnation } = input;
  if (marker && marker.clusterId !== input.clusterId) {
    return { kind: 'foreign', reason: `holds data of another chroma-ha cluster (${marker.clusterId})` };
  }
  if (storedIncarnation === null && input.isPrimary) return { kind: 'stamp' };
  if (!marker) {
    return {
      kind: 'resync',
      reason: storedIncarnation === null ? 'new node: no chroma-ha marker' : 'the node has lost its data (no chroma-ha marker): empty or wiped',
    };
  }
  if (marker.nodeId !== input.nodeId) return { kind: 'resync', reason: `holds the data of node ${marker.nodeId}, not its own` };
  if (storedIncarnation === '') return { kind: 'resync', reason: 'a refill of the node was interrupted' };
  if (marker.incarnation !== storedIncarnation) {
    return { kind: 'resync', reason: 'holds an older incarnation of the node (a disk restored from before its last refill)' };
  }
  return { kind: 'member', position: marker.position };
}

/** The node's marker; null when it has none. Throws when the node cannot tell (unreachable, error answer). */
export async function readMarker(node: ClusterNode, timeoutMs: number): Promise<Marker | null> {
  return (await readMarkerAt(node, timeoutMs))?.marker ?? null;
}

/** The marker with the node's id for its collection (for a cheap position update). */
export async function readMarkerAt(node: ClusterNode, timeoutMs: number): Promise<{ marker: Marker; collectionId: string } | null> {
  const col = await node.client.requestJson({ method: 'GET', path: `${COLLECTIONS}/${MARKER_COLLECTION}`, timeoutMs });
  if (col.status === 404) return null;
  if (col.status !== 200) throw new Error(`reading the identity marker of ${node.name}: answered ${col.status}`);
  const id = (JSON.parse(col.text) as { id: string }).id;
  const marker = await markerRecord(node, id, timeoutMs);
  return marker ? { marker, collectionId: id } : null;
}

async function markerRecord(node: ClusterNode, id: string, timeoutMs: number): Promise<Marker | null> {
  const got = await node.client.requestJson({
    method: 'POST',
    path: `${COLLECTIONS}/${id}/get`,
    body: Buffer.from(JSON.stringify({ ids: [MARKER_ID], include: ['documents'] })),
    timeoutMs,
  });
  if (got.status === 404) return null;
  if (got.status !== 200) throw new Error(`reading the identity marker of ${node.name}: answered ${got.status}`);
  const doc = (JSON.parse(got.text) as { documents?: Array<string | null> }).documents?.[0];
  if (!doc) return null;
  try {
    const m = JSON.parse(doc) as Partial<Marker>;
    if (typeof m.clusterId !== 'string' || typeof m.nodeId !== 'string' || typeof m.incarnation !== 'string' || typeof m.position !== 'number') {
      return null;
    }
    return { clusterId: m.clusterId, nodeId: m.nodeId, incarnation: m.incarnation, position: m.position };
  } catch {
    return null;
  }
}

/** Writes (creates or replaces) the node's marker. */
export async function writeMarker(node: ClusterNode, marker: Marker, timeoutMs: number): Promise<void> {
  const send = async (method: string, path: string, body: unknown, okStatuses: number[]) => {
    const r = await node.client.requestJson({ method, path, body: Buffer.from(JSON.stringify(body)), timeoutMs });
    if (!okStatuses.includes(r.status)) throw new Error(`writing the identity marker of ${node.name}: ${method} ${path} answered ${r.status}`);
    return r.text;
  };
  await send('POST', '/api/v2/tenants', { name: MARKER_TENANT }, [200, 409]);
  await send('POST', `/api/v2/tenants/${MARKER_TENANT}/databases`, { name: MARKER_DATABASE }, [200, 409]);
  const col = JSON.parse(await send('POST', COLLECTIONS, { name: MARKER_COLLECTION, get_or_create: true }, [200])) as { id: string };
  await send('POST', `${COLLECTIONS}/${col.id}/upsert`, { ids: [MARKER_ID], embeddings: [[0]], documents: [JSON.stringify(marker)] }, [200]);
}

/** Rewrites the position of an existing marker: one request. */
export async function updateMarker(node: ClusterNode, collectionId: string, marker: Marker, timeoutMs: number): Promise<void> {
  const r = await node.client.requestJson({
    method: 'POST',
    path: `${COLLECTIONS}/${collectionId}/upsert`,
    body: Buffer.from(JSON.stringify({ ids: [MARKER_ID], embeddings: [[0]], documents: [JSON.stringify(marker)] })),
    timeoutMs,
  });
  if (r.status !== 200) throw new Error(`updating the identity marker of ${node.name}: answered ${r.status}`);
}

/** Removes the marker, so a node whose refill is interrupted can never pass for a complete one. */
export async function deleteMarker(node: ClusterNode, timeoutMs: number): Promise<void> {
  const r = await node.client.requestJson({ method: 'DELETE', path: `${COLLECTIONS}/${MARKER_COLLECTION}`, timeoutMs });
  if (r.status !== 200 && r.status !== 404) throw new Error(`removing the identity marker of ${node.name}: answered ${r.status}`);
}
