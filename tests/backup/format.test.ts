// The backup format on its own: a file written by BackupWriter reads back chunk for chunk; a truncated file,
// a flipped byte (in the compressed file or in a chunk), a reordered chunk and a newer version are refused
// with the chunk where it broke and the last good chunk named; a client that stops reading stalls the writer.
import { PassThrough, Readable, Writable } from 'node:stream';
import { gzipSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BackupWriter, BackupStalled } from '../../src/backup/writer.js';
import { readBackup, BackupBroken } from '../../src/backup/reader.js';
import { chainChecksum, FORMAT_NAME, type Chunk } from '../../src/backup/format.js';

function chunks(records: number): Chunk[] {
  const out: Chunk[] = [
    { t: 'header', format: FORMAT_NAME, version: 1, createdAt: '2026-12-04T00:00:00Z', position: 42, source: 'replica-1', databases: [{ tenant: 'default_tenant', name: 'default_database' }], collections: 1, records },
    { t: 'collection', n: 1, tenant: 'default_tenant', database: 'default_database', name: 'docs', id: 'abc', metadata: { a: 1 }, configuration: null, records },
  ];
  for (let first = 0; first < records; first += 100) {
    const ids = Array.from({ length: Math.min(100, records - first) }, (_, i) => `id-${first + i}`);
    out.push({
      t: 'records',
      collection: 1,
      first,
      ids,
      embeddings: ids.map((_, i) => Buffer.from(new Float32Array([Math.random(), i, -i / 3]).buffer).toString('base64')),
      documents: ids.map((id) => `doc ${id}`),
      metadatas: ids.map((_, i) => ({ i })),
      uris: null,
    });
  }
  out.push({ t: 'end', collections: 1, records });
  return out;
}

async function write(list: Chunk[]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (parts.push(c), cb()) });
  const w = new BackupWriter(sink, 5_000);
  for (const c of list) await w.write(c);
  await w.finish();
  await new Promise((r) => setImmediate(r));
  return Buffer.concat(parts);
}

async function read(file: Buffer): Promise<{ got: Chunk[]; error: BackupBroken | null }> {
  const got: Chunk[] = [];
  try {
    for await (const c of readBackup(Readable.from([file]))) got.push(c);
    return { got, error: null };
  } catch (err) {
    if (!(err instanceof BackupBroken)) throw err;
    return { got, error: err };
  }
}

describe('backup format', () => {
  it('round-trips every chunk', async () => {
    const list = chunks(1_000);
    const { got, error } = await read(await write(list));
    expect(error).toBeNull();
    expect(got).toEqual(list);
  });

  it('refuses a truncated file at the chunk where it ends, naming the last good records', async () => {
    const file = await write(chunks(1_000));
    const plain = gunzipSync(file);
    // Cut inside the 6th chunk (records 301-400): a clean cut and a cut of the gzip stream.
    const lines = plain.toString().split('\n');
    const cut = lines.slice(0, 5).join('\n').length + 1 + 40;
    const { got, error } = await read(gzipSync(plain.subarray(0, cut)));
    expect(got).toHaveLength(5);
    expect(error!.chunk).toBe(6);
    expect(error!.message).toMatch(/broken at chunk 6 .*ends in the middle of a chunk.*last good chunk was chunk 5, records 201-300 of collection default_tenant\/default_database\/docs/);

    const half = await read(file.subarray(0, Math.floor(file.length / 2)));
    expect(half.error!.message).toMatch(/truncated/);
    expect(half.error!.chunk).toBe(half.got.length + 1);
  });

  it('refuses a flipped byte, in a chunk or in the compressed data, before yielding the bad chunk', async () => {
    const plain = gunzipSync(await write(chunks(1_000)));
    const at = plain.indexOf('id-650');
    const flipped = Buffer.from(plain);
    flipped[at + 3] = flipped[at + 3]! ^ 1;
    const { got, error } = await read(gzipSync(flipped));
    expect(error!.message).toMatch(/broken at chunk 9 .*checksum does not match.*last good chunk was chunk 8, records 501-600/);
    expect(got.every((c) => c.t !== 'records' || !c.ids.includes('id-650'))).toBe(true);

    const file = await write(chunks(1_000));
    for (const offset of [Math.floor(file.length / 3), Math.floor(file.length / 2), file.length - 6]) {
      const bad = Buffer.from(file);
      bad[offset] = bad[offset]! ^ 0x10;
      const r = await read(bad);
      expect(r.error, `flip at ${offset}`).toBeInstanceOf(BackupBroken);
    }
  });

  it('refuses reordered chunks and a newer format version', async () => {
    const lines = gunzipSync(await write(chunks(300))).toString().split('\n');
    [lines[3], lines[4]] = [lines[4]!, lines[3]!];
    const swapped = await read(gzipSync(lines.join('\n')));
    expect(swapped.error!.chunk).toBe(4);

    const header = JSON.stringify({ ...chunks(0)[0], version: 2 });
    const newer = await read(gzipSync(`${chainChecksum('', header)} ${header}\n`));
    expect(newer.error!.message).toMatch(/format version 2, written by a newer chroma-ha/);
    const notOurs = await read(gzipSync('hello\n'));
    expect(notOurs.error!.chunk).toBe(1);
  });

  it('gives up on a destination that stops reading', async () => {
    const stuck = new PassThrough({ highWaterMark: 1 });
    const w = new BackupWriter(stuck, 200);
    const big = chunks(3_000);
    const started = Date.now();
    await expect((async () => { for (const c of big) await w.write(c); })()).rejects.toBeInstanceOf(BackupStalled);
    expect(Date.now() - started).toBeLessThan(5_000);
    w.destroy();
  });
});
