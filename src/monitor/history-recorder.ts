// Puts history rows in front of the store: the monitor adds rows and never waits for the database.
// A flush writes what is buffered; when the store is down the rows stay in memory, up to a bound (the
// oldest check rows go first, state changes and alerts last), and the logs say so once, then again
// when the store is back. The store is opened lazily, so a database that is down at start-up is fine too.
import type { Logger } from '../log/logger.js';
import type { CheckRow, DeliveryRow, HistoryBatch, HistoryStore, StateChangeRow, AlertRow } from './history-store.js';

const empty = (): HistoryBatch => ({ checks: [], stateChanges: [], alerts: [], deliveries: [] });
const size = (b: HistoryBatch) => b.checks.length + b.stateChanges.length + b.alerts.length + b.deliveries.length;

export class HistoryRecorder {
  private buffer = empty();
  private flushing: Promise<void> | null = null;
  private initialised = false;
  private downSince: number | null = null;
  /** Rows dropped because the buffer was full while the store was unreachable. */
  dropped = 0;
  private droppedWhileDown = 0;

  constructor(
    readonly store: HistoryStore,
    private readonly limit: number,
    private readonly logger: Logger,
    private readonly onDrop: (rows: number) => void = () => {},
  ) {}

  get buffered(): number {
    return size(this.buffer);
  }

  /** False while the last write attempt failed. */
  get available(): boolean {
    return this.downSince === null;
  }

  addCheck(row: CheckRow): void {
    this.buffer.checks.push(row);
    this.bound();
  }

  addStateChange(row: StateChangeRow): void {
    this.buffer.stateChanges.push(row);
    this.bound();
  }

  addAlert(row: AlertRow): void {
    this.buffer.alerts.push(row);
    this.bound();
  }

  addDelivery(row: DeliveryRow): void {
    this.buffer.deliveries.push(row);
    this.bound();
  }

  /** Writes the buffer; concurrent calls share one attempt. Never throws. */
  flush(): Promise<void> {
    this.flushing ??= this.writeBuffered().finally(() => (this.flushing = null));
    return this.flushing;
  }

  /** Deletes rows older than `before`; false when the store could not be reached. */
  async prune(before: number): Promise<boolean> {
    try {
      await this.ensureInit();
      const deleted = await this.store.prune(before);
      if (deleted > 0) this.logger.info({ deleted, before: new Date(before).toISOString() }, 'history retention: deleted old rows');
      return true;
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'history retention could not run; will try again');
      return false;
    }
  }

  async close(): Promise<void> {
    await this.flush();
    if (this.buffered > 0 && this.available) await this.flush(); // rows added while the last flush ran
    if (this.buffered > 0) this.logger.warn({ rows: this.buffered }, 'stopping with history rows the store never took');
    await this.store.close().catch(() => undefined);
  }

  private async writeBuffered(): Promise<void> {
    if (this.buffered === 0) return;
    const batch = this.buffer;
    this.buffer = empty();
    try {
      await this.ensureInit();
      await this.store.write(batch);
      if (this.downSince !== null) {
        this.logger.info(
          { store: this.store.kind, written: size(batch), dropped: this.droppedWhileDown, downForMs: Date.now() - this.downSince },
          'history store reachable again: buffered rows written',
        );
        this.downSince = null;
        this.droppedWhileDown = 0;
      }
    } catch (err) {
      // Put the batch back in front of whatever arrived meanwhile, then re-apply the bound.
      this.buffer = {
        checks: [...batch.checks, ...this.buffer.checks],
        stateChanges: [...batch.stateChanges, ...this.buffer.stateChanges],
        alerts: [...batch.alerts, ...this.buffer.alerts],
        deliveries: [...batch.deliveries, ...this.buffer.deliveries],
      };
      this.bound();
      if (this.downSince === null) {
        this.downSince = Date.now();
        this.logger.warn(
          { store: this.store.kind, location: this.store.location, err: (err as Error).message, buffered: this.buffered, limit: this.limit },
          'history store unreachable: checks and notifications go on, history is kept in memory until it is back',
        );
      }
    }
  }

  private async ensureInit(): Promise<void> {
    if (this.initialised) return;
    await this.store.init();
    this.initialised = true;
  }

  private bound(): void {
    let over = this.buffered - this.limit;
    if (over <= 0) return;
    const dropped = over;
    // Check rows are the least precious: a gap in them loses detail, not events.
    for (const list of [this.buffer.checks, this.buffer.deliveries, this.buffer.alerts, this.buffer.stateChanges] as unknown[][]) {
      const n = Math.min(over, list.length);
      list.splice(0, n);
      over -= n;
      if (over === 0) break;
    }
    if (this.droppedWhileDown === 0) {
      this.logger.warn({ limit: this.limit }, 'history buffer full: dropping the oldest rows until the store is reachable');
    }
    this.dropped += dropped;
    this.droppedWhileDown += dropped;
    this.onDrop(dropped);
  }
}
