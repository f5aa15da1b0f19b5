// The tenants the cluster holds. Chroma cannot list tenants, so verify and repair learn them from the log
// (create_tenant entries, and the tenant every other write names) and from the catalog (adopted data).
// Log compaction deletes entries, so what the log taught is kept in cluster_state (one JSON list, with the
// log position scanned through) and brought up to date before every truncation.
import type { ReplicationStore } from '../store/types.js';
import type { Catalog } from './catalog.js';
import { MARKER_TENANT } from './identity.js';

const KNOWN = 'known_tenants';
const SCANNED = 'known_tenants_scanned_through';
const BATCH = 500;

export class KnownTenants {
  private readonly known = new Set<string>(['default_tenant']);
  private scannedThrough = 0;
  private scanning: Promise<void> | null = null;

  constructor(private readonly deps: { store: ReplicationStore; catalog: Catalog }) {}

  load(stored: Map<string, string>): void {
    for (const t of parseList(stored.get(KNOWN))) this.known.add(t);
    this.scannedThrough = Math.max(this.scannedThrough, Number(stored.get(SCANNED) ?? 0));
  }

  /** Every known tenant (the marker tenant, which is chroma-ha's own, left out). */
  async list(): Promise<string[]> {
    await this.learn(Number.MAX_SAFE_INTEGER);
    for (const c of this.deps.catalog.live()) this.known.add(c.tenant);
    return [...this.known].filter((t) => t !== MARKER_TENANT).sort();
  }

  /** Reads the log up to `through` (committed entries only) and records the tenants it names; one scan at a time. */
  async learn(through: number): Promise<void> {
    while (this.scanning) await this.scanning;
    if (this.scannedThrough >= through) return;
    this.scanning = this.scan(through).finally(() => (this.scanning = null));
    await this.scanning;
  }

  private async scan(through: number): Promise<void> {
    const { store } = this.deps;
    // Another gateway (an earlier leaseholder) may have learnt more, from entries since compacted: merge first.
    this.load(await store.readClusterValues());
    const before = this.known.size;
    let after = this.scannedThrough;
    for (;;) {
      const entries = await store.readAfter(after, BATCH);
      let done = entries.length < BATCH;
      for (const e of entries) {
        // A pending entry may still commit: stop before it, so it is read again next time.
        if (e.seq > through || e.state === 'pending') {
          done = true;
          break;
        }
        after = e.seq;
        if (e.state !== 'committed') continue;
        const tenant = e.op === 'create_tenant' ? tenantNamed(e.body) : e.tenant;
        if (tenant) this.known.add(tenant);
      }
      if (done) break;
    }
    if (this.known.size !== before || after !== this.scannedThrough) await store.setClusterValue(KNOWN, JSON.stringify([...this.known].sort()));
    if (after !== this.scannedThrough) await store.setClusterValue(SCANNED, String(after));
    this.scannedThrough = after;
  }
}

function tenantNamed(body: Buffer | null): string | null {
  try {
    const name = (JSON.parse(body?.toString() ?? 'null') as { name?: unknown } | null)?.name;
    return typeof name === 'string' ? name : null;
  } catch {
    return null;
  }
}

function parseList(text: string | undefined): string[] {
  try {
    const v = JSON.parse(text ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
