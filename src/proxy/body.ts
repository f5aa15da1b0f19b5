// Reads a client's request body into memory, refusing more than the configured limit. Writes must be
// buffered anyway (they are logged); reads are buffered so a failed attempt can be retried elsewhere.
// A request that declares no body (most reads: heartbeat, count, listing) is answered without touching
// the stream; node:http discards anything left unread once the answer is sent.
import type { IncomingMessage } from 'node:http';
import { errors } from '../errors/catalogue.js';

const EMPTY = Buffer.alloc(0);

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return Promise.reject(errors.tooLarge(limit));
  }
  if (declared === 0 && req.headers['transfer-encoding'] === undefined) return Promise.resolve(EMPTY);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(errors.tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    // A copy, not the parser's slice of a larger socket buffer: write bodies are kept until applied.
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    // The connection ended mid-body: the client left, or the server cut it off (BODY_TIMEOUT, answered 408).
    req.once('error', () => reject(errors.clientGone()));
    req.once('close', () => {
      if (!req.complete) reject(errors.clientGone());
    });
  });
}
