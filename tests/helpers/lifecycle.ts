// Helpers for node-lifecycle tests and the copy benchmark: data written straight to a Chroma node (as if
// it was there before the gateway), a client that reads and writes through the gateway and counts every
// failure, and a node's whole content over several databases for comparisons.
import { http } from './cluster.js';
import { nodeContent, type CollectionContent } from './convergence.js';

export interface SeedCollection {
  database: string;
  name: string;
  records: number;
  dimensions: number;
}

const dbBase = (database: string) => `/api/v2/tenants/default_tenant/databases/${database}`;

export function seedRecord(name: string, i: number, dimensions: number) {
  return {
    id: `${name}-${i}`,
    embedding: Array.from({ length: dimensions }, (_, d) => Math.fround(Math.sin(i * 31 + d * 7 + name.length))),
    document: `document ${i} of ${name}`,
    metadata: { i, name, even: i % 2 === 0, score: i / 7 },
  };
}

/** Creates the databases and collections on one node and fills them, 500 records per request. */
export async function seedNode(nodeUrl: string, collections: SeedCollection[]): Promise<Record<string, string>> {
  const ids: Record<string, string> = {};
  for (const db of new Set(collections.map((c) => c.database))) {
    const r = await http(nodeUrl, 'POST', '/api/v2/tenants/default_tenant/databases', { name: db });
    if (r.status !== 200 && r.status !== 409) throw new Error(`create database ${db}: ${r.status} ${r.text}`);
  }
  for (const c of collections) {
    const created = await http(nodeUrl, 'POST', `${dbBase(c.database)}/collections`, { name: c.name, metadata: { seeded: true, db: c.database } });
    if (created.status !== 200) throw new Error(`create ${c.name}: ${created.status} ${created.text}`);
    ids[c.name] = created.json.id;
    for (let start = 0; start < c.records; start += 500) {
      const recs = Array.from({ length: Math.min(500, c.records - start) }, (_, k) => seedRecord(c.name, start + k, c.dimensions));
      const r = await http(nodeUrl, 'POST', `${dbBase(c.database)}/collections/${created.json.id}/add`, {
        ids: recs.map((x) => x.id),
        embeddings: recs.map((x) => x.embedding),
        documents: recs.map((x) => x.document),
        metadatas: recs.map((x) => x.metadata),
      });
      if (r.status !== 201) throw new Error(`seed ${c.name}: ${r.status} ${r.text}`);
    }
  }
  return ids;
}

/** A node's content in each of the given databases. */
export async function contentOf(nodeUrl: string, databases: string[]): Promise<Record<string, CollectionContent[]>> {
  const out: Record<string, CollectionContent[]> = {};
  for (const db of databases) out[db] = await nodeContent(nodeUrl, `${dbBase(db)}/collections`);
  return out;
}

export interface ClientLoad {
  /** Writes acknowledged so far (the n-th write adds the id `${collection}-live-${n}`). */
  writesSoFar(): number;
  /** Stops the loop and returns what it saw. */
  stop(): Promise<{ reads: number; writes: number; failures: string[] }>;
}

/**
 * A client working through the gateway until stopped: reads seeded records by id (each must come back
 * whole: a read served by a node still being filled would miss some) and adds new records, one request at a time.
 */
export function clientLoad(gatewayBase: string, collections: SeedCollection[], ids: Record<string, string>): ClientLoad {
  let running = true;
  let reads = 0;
  let writes = 0;
  const failures: string[] = [];
  const loop = (async () => {
    for (let n = 0; running; n++) {
      const c = collections[n % collections.length]!;
      const path = `${dbBase(c.database)}/collections/${ids[c.name]}`;
      const want = [0, 1, 2, 3].map((k) => `${c.name}-${(n * 37 + k * 101) % c.records}`);
      const got = await http(gatewayBase, 'POST', `${path}/get`, { ids: want, include: ['documents'] }).catch((e: Error) => ({ status: 0, json: null, text: e.message }));
      reads++;
      if (got.status !== 200 || got.json.ids.length !== want.length) {
        failures.push(`read ${c.name}: ${got.status} ${got.status === 200 ? `${got.json.ids.length} of ${want.length} records` : got.text}`);
      }
      const rec = seedRecord(`${c.name}-live`, n, c.dimensions);
      const added = await http(gatewayBase, 'POST', `${path}/add`, {
        ids: [rec.id],
        embeddings: [rec.embedding],
        documents: [rec.document],
        metadatas: [rec.metadata],
      }).catch((e: Error) => ({ status: 0, text: e.message }));
      writes++;
      if (added.status !== 201) failures.push(`add to ${c.name}: ${added.status} ${added.text}`);
    }
  })();
  return {
    writesSoFar: () => writes,
    async stop() {
      running = false;
      await loop;
      return { reads, writes, failures };
    },
  };
}

/** The identity marker a node holds (src/replication/identity.ts), read straight from the node; null without one. */
export async function readMarkerOf(nodeUrl: string): Promise<{ position: number } | null> {
  const base = '/api/v2/tenants/chroma_ha_internal/databases/chroma_ha/collections';
  const col = await http(nodeUrl, 'GET', `${base}/node-identity`);
  if (col.status !== 200) return null;
  const got = await http(nodeUrl, 'POST', `${base}/${col.json.id}/get`, { ids: ['identity'], include: ['documents'] });
  return got.json.documents?.[0] ? JSON.parse(got.json.documents[0]) : null;
}
