// An open-loop client stream through a gateway: a read every `readEveryMs` (heartbeat, count and get in
// turn) and a write (an add of a fresh id) every `writeEveryMs`, each sent on schedule whether or not the
// previous one has answered, as real clients do. Every request is timed and kept, so a test can check
// that none failed and how long writes waited around a fault.
import { COLLECTIONS, http } from './cluster.js';

export interface StreamSample {
  kind: 'heartbeat' | 'count' | 'get' | 'write';
  startedAt: number;
  endedAt: number;
  ok: boolean;
  node: string | null;
  detail: string;
  /** The id a write added. */
  id?: string;
}

export class OpenLoopStream {
  readonly samples: StreamSample[] = [];
  private readonly pending = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private reads = 0;
  private writes = 0;

  constructor(
    private readonly base: string,
    private readonly collectionId: string,
    private readonly options: { readEveryMs: number; writeEveryMs: number },
  ) {}

  start(): void {
    this.timers = [
      setInterval(() => this.track(this.read()), this.options.readEveryMs),
      setInterval(() => this.track(this.write()), this.options.writeEveryMs),
    ];
  }

  /** Stops sending and waits for every request still in flight. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.all([...this.pending]);
  }

  get writeSamples(): StreamSample[] {
    return this.samples.filter((s) => s.kind === 'write');
  }

  get failures(): StreamSample[] {
    return this.samples.filter((s) => !s.ok);
  }

  ackedIds(): string[] {
    return this.writeSamples.filter((s) => s.ok).map((s) => s.id!);
  }

  /** The longest a write waited for its answer, among writes started in [from, to). */
  maxWriteMs(from = 0, to = Number.POSITIVE_INFINITY): number {
    const ms = this.writeSamples.filter((s) => s.startedAt >= from && s.startedAt < to).map((s) => s.endedAt - s.startedAt);
    return ms.length === 0 ? 0 : Math.max(...ms);
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async read(): Promise<void> {
    const kind = (['heartbeat', 'count', 'get'] as const)[this.reads++ % 3]!;
    const path = `${COLLECTIONS}/${this.collectionId}`;
    await this.timed(kind, undefined, async () => {
      if (kind === 'heartbeat') {
        const r = await http(this.base, 'GET', '/api/v2/heartbeat');
        return { r, ok: r.status === 200 && typeof r.json?.['nanosecond heartbeat'] === 'number' };
      }
      if (kind === 'count') {
        const r = await http(this.base, 'GET', `${path}/count`);
        return { r, ok: r.status === 200 && typeof r.json === 'number' };
      }
      const r = await http(this.base, 'POST', `${path}/get`, { limit: 5, include: [] });
      return { r, ok: r.status === 200 && Array.isArray(r.json?.ids) };
    });
  }

  private async write(): Promise<void> {
    const n = this.writes++;
    const id = `w${n}`;
    await this.timed('write', id, async () => {
      const r = await http(this.base, 'POST', `${COLLECTIONS}/${this.collectionId}/add`, { ids: [id], embeddings: [[n, n + 1, n + 2]] });
      return { r, ok: r.status === 201 };
    });
  }

  private async timed(
    kind: StreamSample['kind'],
    id: string | undefined,
    send: () => Promise<{ r: { status: number; text: string; headers: Headers }; ok: boolean }>,
  ): Promise<void> {
    const startedAt = performance.now();
    let ok = false;
    let node: string | null = null;
    let detail = '';
    try {
      const { r, ok: good } = await send();
      ok = good;
      node = r.headers.get('x-chroma-ha-node');
      detail = `${r.status} ${r.text.slice(0, 200)}`;
    } catch (err) {
      detail = (err as Error).message;
    }
    this.samples.push({ kind, startedAt, endedAt: performance.now(), ok, node, detail, id });
  }
}
