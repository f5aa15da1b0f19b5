// Errors the gateway itself answers with, in Chroma's shape ({"error": kind, "message": text}), so
// clients handle them like any Chroma error. Never a stack trace.
import type { ServerResponse } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

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

export const errors = {
  notFound: (message: string) => new HttpError(404, 'NotFoundError', message),
  tooLarge: (limit: number) => new HttpError(413, 'PayloadTooLargeError', `request body exceeds the gateway limit of ${limit} bytes (MAX_BODY_BYTES)`),
  malformedJson: (detail: string) =>
    new HttpError(422, 'ChromaError', `Failed to deserialize the JSON body into the target type: ${detail}`),
  noNode: (what: string) => new HttpError(503, 'ServiceUnavailableError', `no healthy Chroma node can serve ${what}`),
  timeout: (node: string, ms: number) => new HttpError(504, 'GatewayTimeoutError', `node ${node} did not answer within ${ms} ms`),
  upstream: (node: string, detail: string) => new HttpError(502, 'BadGatewayError', `node ${node} failed: ${detail}`),
  staleView: () =>
    new HttpError(
      503,
      'ServiceUnavailableError',
      'the replication log store is unreachable, so this gateway cannot show its view of the log is current; retry, or read with X-Chroma-HA-Consistency: eventual',
    ),
  storeDown: () =>
    new HttpError(503, 'ServiceUnavailableError', 'the replication log store is unreachable; writes are refused until it returns'),
};
