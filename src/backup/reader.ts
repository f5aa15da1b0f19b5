// Reads a backup file chunk by chunk, verifying each chunk's chained checksum before yielding it, so a
// caller never acts on a byte that was not vouched for. When the file is truncated or corrupted it
// throws BackupBroken naming the place: the chunk number, the offset in the file, and what the last good
// chunk was (which collection, which records), so "where it broke" means something to an operator.
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { chainChecksum, FORMAT_NAME, FORMAT_VERSION, type Chunk } from './format.js';

export class BackupBroken extends Error {
  constructor(
    message: string,
    /** 1-based number of the chunk that failed (the one after the last good chunk). */
    readonly chunk: number,
  ) {
    super(message);
  }
}

interface Place {
  chunks: number;
  /** Byte offset of the next chunk in the decompressed stream. */
  offset: number;
  /** Bytes of the file consumed so far (gzip data). */
  fileBytes: number;
  last: Chunk | null;
  collection: string | null;
}

/** Yields every chunk of the backup in order, each verified; throws BackupBroken at the first bad one. */
export async function* readBackup(file: Readable): AsyncGenerator<Chunk> {
  const place: Place = { chunks: 0, offset: 0, fileBytes: 0, last: null, collection: null };
  file.on('data', (b: Buffer) => (place.fileBytes += b.length));
  const gunzip = createGunzip();
  file.on('error', (err) => gunzip.destroy(err));
  file.pipe(gunzip);
  let previous = '';
  let pending: Buffer[] = [];
  let ended = false;
  try {
    for await (const data of gunzip as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = data.indexOf(10); nl >= 0; nl = data.indexOf(10, start)) {
        pending.push(data.subarray(start, nl));
        const line = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        start = nl + 1;
        if (ended) throw broken(place, 'there is data after the end chunk');
        const chunk = verify(line, previous, place);
        previous = line.subarray(0, 64).toString('latin1');
        place.chunks++;
        place.offset += line.length + 1;
        place.last = chunk;
        if (chunk.t === 'collection') place.collection = `${chunk.tenant}/${chunk.database}/${chunk.name}`;
        if (chunk.t === 'end') ended = true;
        yield chunk;
      }
      if (start < data.length) pending.push(data.subarray(start));
    }
  } catch (err) {
    if (err instanceof BackupBroken) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') throw broken(place, 'the file ends early (truncated)');
    if (typeof code === 'string' && code.startsWith('Z_')) throw broken(place, `the compressed data is corrupt (${(err as Error).message})`);
    throw err;
  }
  if (!ended) throw broken(place, pending.length > 0 ? 'the file ends in the middle of a chunk (truncated)' : 'the file ends before its end chunk (truncated)');
}

function verify(line: Buffer, previous: string, place: Place): Chunk {
  const checksum = line.subarray(0, 64).toString('latin1');
  const payload = line.subarray(65);
  if (line.length < 66 || line[64] !== 32 || checksum !== chainChecksum(previous, payload)) {
    throw broken(place, 'its checksum does not match (the file is corrupted)');
  }
  let chunk: Chunk;
  try {
    chunk = JSON.parse(payload.toString('utf8')) as Chunk;
  } catch {
    throw broken(place, 'it verifies but is not JSON (written by a faulty writer)');
  }
  if (place.chunks === 0) {
    if (chunk.t !== 'header' || chunk.format !== FORMAT_NAME) throw broken(place, `this is not a chroma-ha backup (no ${FORMAT_NAME} header)`);
    if (chunk.version > FORMAT_VERSION) {
      throw broken(place, `it is format version ${chunk.version}, written by a newer chroma-ha; this one reads version ${FORMAT_VERSION} and older`);
    }
  }
  return chunk;
}

function broken(place: Place, why: string): BackupBroken {
  const n = place.chunks + 1;
  return new BackupBroken(
    `the backup is broken at chunk ${n} (byte ${place.offset} of the decompressed data, about byte ${place.fileBytes} of the file): ${why}; ` +
      `the last good chunk was ${describe(place)}`,
    n,
  );
}

function describe(place: Place): string {
  const c = place.last;
  if (!c) return 'none';
  const where = `chunk ${place.chunks}`;
  switch (c.t) {
    case 'header':
      return `${where}, the header`;
    case 'collection':
      return `${where}, collection ${place.collection} (before its records)`;
    case 'records':
      return `${where}, records ${c.first + 1}-${c.first + c.ids.length} of collection ${place.collection}`;
    case 'end':
      return `${where}, the end chunk`;
  }
}
