// What the benchmark sends: add bodies (random float32 embeddings, documents, small metadata), get and
// query bodies. The same seeded generator feeds every system, so each receives the same kind of requests.
import type { EmbeddingEncoding } from './options.js';

/** Deterministic PRNG (mulberry32) so two runs with the same options send the same data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function embedding(random: () => number, dimensions: number): Float32Array {
  const v = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) v[i] = random() * 2 - 1;
  return v;
}

/** Little-endian float32 bytes in base64, as the chromadb JS client encodes embeddings. */
function toBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export interface AddBatch {
  ids: string[];
  body: Buffer;
}

/** One add request of `count` records whose ids start with `prefix`. */
export function addBatch(random: () => number, prefix: string, count: number, dimensions: number, encoding: EmbeddingEncoding): AddBatch {
  const ids: string[] = [];
  const embeddings: (string | number[])[] = [];
  const documents: string[] = [];
  const metadatas: Record<string, string | number | boolean>[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}`;
    const v = embedding(random, dimensions);
    ids.push(id);
    embeddings.push(encoding === 'base64' ? toBase64(v) : Array.from(v));
    documents.push(`Benchmark document ${id}: the quick brown fox jumps over the lazy dog, record ${i} of ${count}.`);
    metadatas.push({ source: 'bench', batch: prefix, position: i, score: Math.round(random() * 1e6) / 1e6, even: i % 2 === 0 });
  }
  return { ids, body: Buffer.from(JSON.stringify({ ids, embeddings, documents, metadatas })) };
}

export function getBody(random: () => number, ids: readonly string[], count: number): Buffer {
  const picked = Array.from({ length: count }, () => ids[Math.floor(random() * ids.length)]!);
  return Buffer.from(JSON.stringify({ ids: picked, include: ['documents', 'metadatas'] }));
}

/** A top-k query; query embeddings travel as plain arrays (the JS client does not base64 them). */
export function queryBody(random: () => number, dimensions: number, k: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      query_embeddings: [Array.from(embedding(random, dimensions))],
      n_results: k,
      include: ['documents', 'metadatas', 'distances'],
    }),
  );
}
