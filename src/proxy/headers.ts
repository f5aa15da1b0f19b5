// Which headers cross the gateway. Hop-by-hop headers (RFC 9110 §7.6.1) stay on their own hop;
// everything else, credentials included, passes through as it came. Both directions run once per
// proxied request, so they loop over the headers without intermediate arrays.
import type { IncomingHttpHeaders } from 'node:http';

/** Names the node that served an answer. */
export const NODE_HEADER = 'x-chroma-ha-node';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
]);

/** Header names the Connection header lists (also hop-by-hop); none for the usual keep-alive / close. */
function listedInConnection(headers: IncomingHttpHeaders): Set<string> | null {
  const connection = headers.connection;
  if (connection === undefined) return null;
  const value = connection.toLowerCase();
  if (value === 'keep-alive' || value === 'close') return null;
  return new Set(value.split(',').map((s) => s.trim()));
}

export function upstreamHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = listedInConnection(headers);
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k) || listed?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * A node's answer headers for the client, as the flat [name, value, ...] list res.writeHead takes, with
 * the serving node's name; `contentLength` replaces the node's when the gateway rewrote the body.
 */
export function downstreamHeaderList(headers: IncomingHttpHeaders, nodeName: string, contentLength?: number): string[] {
  const out: string[] = [];
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || (HOP_BY_HOP.has(k) && k !== 'content-length')) continue;
    if (k === 'content-length' && contentLength !== undefined) continue;
    if (typeof v === 'string') out.push(k, v);
    else for (const item of v) out.push(k, item);
  }
  if (contentLength !== undefined) out.push('content-length', String(contentLength));
  out.push(NODE_HEADER, nodeName);
  return out;
}

/** The client's credentials, carried to the primary when it applies that client's write. */
export function clientAuth(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['authorization', 'x-chroma-token']) {
    const v = headers[k];
    if (typeof v === 'string') out[k] = v;
  }
  return out;
}
