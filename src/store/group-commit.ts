// Group commit for a store: writes submitted while the previous group is being committed (or within one
// turn of the event loop) are committed together, in one transaction and so one fsync, each caller still
// getting its own result in submission order. A log append costs one fsync; concurrent clients then share it.
// A failed group fails every write in it, as if each had been committed alone and failed.

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export interface GroupLimits<T> {
  /** Most writes in one group (PostgreSQL: bind parameters per statement are limited). */
  maxItems: number;
  /** Most bytes in one group (a group is one statement or transaction held in memory), counted by `bytes`. */
  maxBytes: number;
  bytes: (item: T) => number;
}

export class GroupCommitter<T, R> {
  private queue: Array<Waiting<T, R>> = [];
  private committing = false;

  /** commit: writes every item in one transaction and returns their results in the same order. */
  constructor(
    private readonly commit: (items: T[]) => Promise<R[]>,
    private readonly limits: GroupLimits<T>,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      // The first write of a group waits one event-loop turn, so the requests that arrived with it join it.
      if (!this.committing && this.queue.length === 1) setImmediate(() => void this.drain());
    });
  }

  private async drain(): Promise<void> {
    if (this.committing) return;
    this.committing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.take();
        try {
          const results = await this.commit(group.map((w) => w.item));
          group.forEach((w, k) => w.resolve(results[k]!));
        } catch (err) {
          for (const w of group) w.reject(err);
        }
      }
    } finally {
      this.committing = false;
    }
  }

  /** The oldest waiting writes within the limits (at least one). */
  private take(): Array<Waiting<T, R>> {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < this.limits.maxItems) {
      bytes += this.limits.bytes(this.queue[n]!.item);
      if (n > 0 && bytes > this.limits.maxBytes) break;
      n++;
    }
    return this.queue.splice(0, n);
  }
}
