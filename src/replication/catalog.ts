// The in-memory collection catalog: stable collection ids handed to clients, their names, and each
// node's own id for them. Loaded once from the store and kept in step with it, so no request looks the
// map up in the database. Deleting and re-creating a name yields a new stable id: incarnations never mix.
import type { CatalogChanges, CollectionRecord, Mapping, StoredState } from '../store/types.js';

const nameKey = (tenant: string, database: string, name: string) => `${tenant}\u0000${database}\u0000${name}`;

export class Catalog {
  private readonly collections = new Map<string, CollectionRecord>();
  private readonly liveByName = new Map<string, string>();
  private readonly localIds = new Map<string, Map<string, string>>();
  private readonly stableIds = new Map<string, Map<string, string>>();

  load(state: Pick<StoredState, 'collections' | 'mappings'>): void {
    this.apply({ collections: state.collections, mappings: state.mappings });
  }

  /** Replaces everything with the store's copy (a gateway without the lease, after another gateway changed it). */
  reload(state: Pick<StoredState, 'collections' | 'mappings'>): void {
    this.collections.clear();
    this.liveByName.clear();
    this.localIds.clear();
    this.stableIds.clear();
    this.load(state);
  }

  /** Mirrors changes that were just written to the store. */
  apply(changes: CatalogChanges): void {
    for (const c of changes.collections ?? []) {
      const previous = this.collections.get(c.stableId);
      if (previous && this.liveByName.get(nameKey(previous.tenant, previous.database, previous.name)) === c.stableId) {
        this.liveByName.delete(nameKey(previous.tenant, previous.database, previous.name));
      }
      this.collections.set(c.stableId, { ...c });
      if (!c.deleted) this.liveByName.set(nameKey(c.tenant, c.database, c.name), c.stableId);
    }
    for (const m of changes.mappings ?? []) this.applyMapping(m);
  }

  private applyMapping(m: Mapping): void {
    const local = this.localIds.get(m.nodeId) ?? new Map<string, string>();
    const stable = this.stableIds.get(m.nodeId) ?? new Map<string, string>();
    this.localIds.set(m.nodeId, local);
    this.stableIds.set(m.nodeId, stable);
    const old = local.get(m.stableId);
    if (old !== undefined) stable.delete(old);
    if (m.localId === null) {
      local.delete(m.stableId);
    } else {
      local.set(m.stableId, m.localId);
      stable.set(m.localId, m.stableId);
    }
  }

  get(stableId: string): CollectionRecord | undefined {
    return this.collections.get(stableId);
  }

  isLive(stableId: string): boolean {
    const c = this.collections.get(stableId);
    return c !== undefined && !c.deleted;
  }

  byName(tenant: string, database: string, name: string): CollectionRecord | undefined {
    const id = this.liveByName.get(nameKey(tenant, database, name));
    return id === undefined ? undefined : this.collections.get(id);
  }

  localId(nodeId: string, stableId: string): string | undefined {
    return this.localIds.get(nodeId)?.get(stableId);
  }

  stableId(nodeId: string, localId: string): string | undefined {
    return this.stableIds.get(nodeId)?.get(localId);
  }

  live(filter?: { tenant?: string; database?: string }): CollectionRecord[] {
    return [...this.collections.values()].filter(
      (c) => !c.deleted && (!filter?.tenant || c.tenant === filter.tenant) && (!filter?.database || c.database === filter.database),
    );
  }

  /** True when the node holds every live collection (so it can answer list and count for the catalog). */
  holdsAll(nodeId: string, filter?: { tenant?: string; database?: string }): boolean {
    const held = this.localIds.get(nodeId);
    return this.live(filter).every((c) => held?.has(c.stableId));
  }

  /** Mapping removals for every collection of a tenant/database (or all) that the node holds. */
  unmapAll(nodeId: string, filter?: { tenant?: string; database?: string }): Mapping[] {
    const held = this.localIds.get(nodeId);
    if (!held) return [];
    return [...held.keys()]
      .filter((id) => {
        const c = this.collections.get(id);
        return !filter || !c || ((!filter.tenant || c.tenant === filter.tenant) && (!filter.database || c.database === filter.database));
      })
      .map((stableId) => ({ stableId, nodeId, localId: null }));
  }
}
