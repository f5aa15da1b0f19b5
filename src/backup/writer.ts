// Writes backup chunks (format.ts) into a gzip stream piped to any destination, honouring backpressure:
// a destination that stops reading for longer than the stall timeout (a dead or stuck client) fails the
// write instead of holding the snapshot forever.
import { createGzip, constants, type Gzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import { chainChecksum, type Chunk } from './format.js';

export class BackupStalled extends Error {}

export class BackupWriter {
  private readonly gzip: Gzip;
  private previous = '';
  chunks = 0;

  constructor(
    destination: Writable,
    private readonly stallTimeoutMs: number,
    private readonly signal?: AbortSignal,
  ) {
    // Embeddings are near-random bytes: a fast level gets nearly all of what gzip can save on them.
    this.gzip = createGzip({ level: constants.Z_BEST_SPEED });
    this.gzip.pipe(destination);
  }

  /** The checksum of the last chunk written: the whole file's. */
  get checksum(): string {
    return this.previous;
  }

  async write(chunk: Chunk): Promise<void> {
    this.signal?.throwIfAborted();
    const payload = JSON.stringify(chunk);
    this.previous = chainChecksum(this.previous, payload);
    this.chunks++;
    if (!this.gzip.write(`${this.previous} ${payload}\n`)) await this.drained();
  }

  /** Flushes the gzip trailer; resolves once everything reached the destination's buffer. */
  async finish(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.gzip.once('error', reject);
      this.gzip.end(resolve);
    });
  }

  destroy(): void {
    this.gzip.destroy();
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.gzip.off('drain', onDrain);
        this.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onAbort = () => done(this.signal!.reason as Error);
      const timer = setTimeout(() => done(new BackupStalled(`the client read nothing for ${this.stallTimeoutMs / 1000} s`)), this.stallTimeoutMs);
      this.gzip.once('drain', onDrain);
      this.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
