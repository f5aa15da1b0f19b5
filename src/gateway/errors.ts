// Sending the gateway's own answers: JSON bodies and errors from the catalogue (src/errors/catalogue.ts) in
// Chroma's shape ({"error": kind, "message": text}). Never a stack trace.
import type { ServerResponse } from 'node:http';
import type { HttpError } from '../errors/catalogue.js';

export { errors, HttpError } from '../errors/catalogue.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, { error: err.kind, message: err.message });
}
