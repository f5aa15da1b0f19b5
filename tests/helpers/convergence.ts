// Convergence checks for replication tests: a node's whole content (every collection's name, metadata,
// dimension and records) read straight from the node as plain comparable data, and waiting through the
// gateway's /status until every node reports itself in sync.
import { COLLECTIONS, http, waitFor } from './cluster.js';
import { recordsOnNode, type RecordRow } from './replication.js';
import type { GatewayStatus } from '../../src/status/schema.js';

export interface CollectionContent {
  name: string;
  metadata: unknown;
  dimension: number | null;
  records: RecordRow[];
}

/** Everything a node holds in one database, sorted by collection name, records sorted by id. */
export async function nodeContent(nodeUrl: string, base = COLLECTIONS): Promise<CollectionContent[]> {
  const listed: Array<{ name: string; metadata: unknown; dimension?: number | null }> = [];
  const page = 100;
  for (let offset = 0; ; offset += page) {
    const r = await http(nodeUrl, 'GET', `${base}?limit=${page}&offset=${offset}`);
    if (r.status !== 200) throw new Error(`list collections on ${nodeUrl}: ${r.status} ${r.text}`);
    listed.push(...r.json);
    if (r.json.length < page) break;
  }
  listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: CollectionContent[] = [];
  for (const c of listed) {
    out.push({ name: c.name, metadata: canonical(c.metadata ?? null), dimension: c.dimension ?? null, records: (await recordsOnNode(nodeUrl, c.name, base)) ?? [] });
  }
  return out;
}

/** Waits until /status shows every node up, in sync, at the committed head, with no write pending. */
export async function waitStatusInSync(gatewayBase: string, timeoutMs = 60_000): Promise<StatusBody> {
  return waitFor(
    'every node up and in sync in /status',
    async () => {
      const s = (await http(gatewayBase, 'GET', '/status')).json as StatusBody;
      const ok =
        s.log.pendingWrites === 0 &&
        s.nodes.every((n) => n.health === 'up' && n.syncState === 'in-sync' && n.appliedPosition >= s.log.committedHead);
      return ok ? s : null;
    },
    timeoutMs,
    50,
  );
}

export type StatusBody = GatewayStatus;

/** Object keys sorted recursively, so metadata compares equal whatever order a node returns it in. */
export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
