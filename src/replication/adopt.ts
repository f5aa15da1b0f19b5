// Adoption of collections that exist on the primary but not in the catalog: data that was there before
// the gateway, or written to the primary behind its back. The primary's own ids become the stable ids,
// so clients keep the ids they already use, and nothing on the primary changes. Replicas do not hold
// adopted collections until the node-lifecycle copy runs; until then they are served by the primary.
import type { ClusterNode } from '../cluster/node.js';
import type { ReplicationStore, CollectionRecord, Mapping } from '../store/types.js';
import type { Catalog } from './catalog.js';
import type { Mutex } from '../util/signal.js';

const PAGE = 100;

interface ChromaCollection {
  id: string;
  name: string;
  tenant: string;
  database: string;
}

export class Adopter {
  private lastRun = 0;
  private running: Promise<number> | null = null;

  constructor(
    private readonly deps: {
      catalog: Catalog;
      store: ReplicationStore;
      primaryLane: Mutex;
      timeoutMs: number;
      minIntervalMs?: number;
      /** Brings the catalog up to date with the store first: another gateway may have created the collection. */
      catchUp?: () => Promise<void>;
    },
  ) {}

  /** Adopts what the primary holds that the catalog does not; rate-limited. Returns how many were adopted. */
  async adopt(primary: ClusterNode, tenants: string[], force = false): Promise<number> {
    if (this.running) return this.running;
    if (!force && Date.now() - this.lastRun < (this.deps.minIntervalMs ?? 2_000)) return 0;
    this.running = this.deps.primaryLane
      .run(() => this.scan(primary, tenants))
      .finally(() => {
        this.lastRun = Date.now();
        this.running = null;
      });
    return this.running;
  }

  private async scan(primary: ClusterNode, tenants: string[]): Promise<number> {
    const { catalog, store } = this.deps;
    await this.deps.catchUp?.();
    const collections: CollectionRecord[] = [];
    const mappings: Mapping[] = [];
    for (const tenant of new Set(tenants)) {
      const dbs = await this.getJson<Array<{ name: string }>>(primary, `/api/v2/tenants/${enc(tenant)}/databases`);
      for (const db of dbs ?? []) {
        for (let offset = 0; ; offset += PAGE) {
          const page = await this.getJson<ChromaCollection[]>(
            primary,
            `/api/v2/tenants/${enc(tenant)}/databases/${enc(db.name)}/collections?limit=${PAGE}&offset=${offset}`,
          );
          for (const c of page ?? []) {
            if (catalog.stableId(primary.id, c.id)) continue;
            collections.push({ stableId: c.id, tenant, database: db.name, name: c.name, origin: 'adopted', deleted: false });
            mappings.push({ stableId: c.id, nodeId: primary.id, localId: c.id });
          }
          if (!page || page.length < PAGE) break;
        }
      }
    }
    if (collections.length > 0) {
      await store.saveCatalog({ collections, mappings });
      catalog.apply({ collections, mappings });
    }
    return collections.length;
  }

  private async getJson<T>(node: ClusterNode, path: string): Promise<T | null> {
    const r = await node.client.requestJson({ method: 'GET', path, timeoutMs: this.deps.timeoutMs });
    if (r.status !== 200) return null;
    return JSON.parse(r.text) as T;
  }
}

const enc = encodeURIComponent;
