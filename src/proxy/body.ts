// Reads a client's request body into memory, refusing more than the configured limit. Writes must be
// buffered anyway (they are logged); reads are buffered so a failed attempt can be retried elsewhere.
import type { IncomingMessage } from 'node:http';
import { errors, HttpError } from '../errors/catalogue.js';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    throw errors.tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        req.resume();
        throw errors.tooLarge(limit);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The connection ended mid-body: the client left, or the server cut it off (BODY_TIMEOUT, answered 408).
    throw errors.clientGone();
  }
  return Buffer.concat(chunks);
}
