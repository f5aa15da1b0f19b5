// The backup file format, version 1 (docs/backup-format.md): a gzip stream of lines, one chunk per line,
// `CHECKSUM PAYLOAD\n`, where PAYLOAD is one JSON object and CHECKSUM the hex SHA-256 of the previous
// line's checksum, a newline and PAYLOAD. Chaining makes every checksum vouch for everything before it:
// a flipped byte, a dropped, repeated or reordered chunk and a cut-off file are all found at the first
// chunk that does not verify, before anything in it is used. The last chunk's checksum is the file's.
import { createHash } from 'node:crypto';

export const FORMAT_NAME = 'chroma-ha-backup';
export const FORMAT_VERSION = 1;
/** Records per records chunk: one `add` request at restore, about 1 MB of 384-d embeddings. */
export const RECORDS_PER_CHUNK = 500;

export interface HeaderChunk {
  t: 'header';
  format: typeof FORMAT_NAME;
  version: number;
  createdAt: string;
  /** The log position the snapshot is consistent with: every entry up to it, none after. */
  position: number;
  /** The node the records were read from, pinned at `position`. */
  source: string;
  /** Every tenant and database, including empty ones, so restore can recreate them first. */
  databases: Array<{ tenant: string; name: string }>;
  collections: number;
  records: number;
}

export interface CollectionChunk {
  t: 'collection';
  /** 1-based ordinal in the file; records chunks refer to it. */
  n: number;
  tenant: string;
  database: string;
  name: string;
  /** The stable id clients used on the source cluster (a restored collection gets a new one). */
  id: string;
  metadata: Record<string, unknown> | null;
  configuration: Record<string, unknown> | null;
  records: number;
}

export interface RecordsChunk {
  t: 'records';
  collection: number;
  /** 0-based index of the first record of this chunk within its collection. */
  first: number;
  ids: string[];
  /** Little-endian float32 bytes, base64: exact, and what Chroma's add accepts as is. */
  embeddings: Array<string | null> | null;
  documents: Array<string | null> | null;
  metadatas: Array<Record<string, unknown> | null> | null;
  uris: Array<string | null> | null;
}

export interface EndChunk {
  t: 'end';
  collections: number;
  records: number;
}

export type Chunk = HeaderChunk | CollectionChunk | RecordsChunk | EndChunk;

/** The checksum of a line given the previous line's ('' for the first). */
export function chainChecksum(previous: string, payload: string | Buffer): string {
  return createHash('sha256').update(previous).update('\n').update(payload).digest('hex');
}

/** A float32 embedding as base64 (arrays from Chroma's JSON are rounded to float32, which they came from). */
export function embeddingToBase64(e: unknown): string | null {
  if (e === null || e === undefined) return null;
  if (typeof e === 'string') return e;
  return Buffer.from(new Float32Array(e as number[]).buffer).toString('base64');
}
