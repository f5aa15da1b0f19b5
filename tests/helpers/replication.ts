// Helpers for replication tests: wait until every node holds every committed write, and read a
// collection's content straight from a node (bypassing the gateway) for comparisons.
import type { Gateway } from '../../src/gateway/gateway.js';
import { COLLECTIONS, http, waitFor } from './cluster.js';

/** Waits until every node is up and has applied every committed entry. */
export async function waitAllInSync(gw: Gateway, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    'every node up and in sync',
    () => gw.log.pendingCount === 0 && gw.cluster.nodes.every((n) => n.isUp && n.isMember && n.appliedSeq >= gw.log.committedHead),
    timeoutMs,
  );
}

export interface RecordRow {
  id: string;
  embedding: number[] | null;
  document: string | null;
  metadata: Record<string, unknown> | null;
}

/** Every record of a collection (looked up by name) on one node, sorted by id; null if the node lacks it. */
export async function recordsOnNode(nodeUrl: string, name: string, base = COLLECTIONS): Promise<RecordRow[] | null> {
  const col = await http(nodeUrl, 'GET', `${base}/${encodeURIComponent(name)}`);
  if (col.status === 404) return null;
  if (col.status !== 200) throw new Error(`get collection ${name} on ${nodeUrl}: ${col.status} ${col.text}`);
  const rows: RecordRow[] = [];
  const page = 1_000;
  for (let offset = 0; ; offset += page) {
    const r = await http(nodeUrl, 'POST', `${base}/${col.json.id}/get`, {
      limit: page,
      offset,
      include: ['embeddings', 'documents', 'metadatas'],
    });
    if (r.status !== 200) throw new Error(`get records on ${nodeUrl}: ${r.status} ${r.text}`);
    const { ids, embeddings, documents, metadatas } = r.json;
    ids.forEach((id: string, i: number) =>
      rows.push({ id, embedding: embeddings?.[i] ?? null, document: documents?.[i] ?? null, metadata: sortKeys(metadatas?.[i] ?? null) }),
    );
    if (ids.length < page) break;
  }
  return rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export async function idsOnNode(nodeUrl: string, name: string): Promise<Set<string>> {
  return new Set((await recordsOnNode(nodeUrl, name))?.map((r) => r.id) ?? []);
}

function sortKeys(m: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!m) return m;
  return Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]));
}
