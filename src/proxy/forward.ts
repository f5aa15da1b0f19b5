// Sends a read to a node chosen by the read router, streaming the answer back. A request that fails
// on a connection error is retried once on another eligible node (reads are idempotent); a timeout is
// answered 504 rather than retried, so a hung node costs a client one timeout, not two.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { ClusterNode } from '../cluster/node.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { HealthChecker } from '../health/checker.js';
import { UpstreamError, type UpstreamResponse } from '../upstream/node-client.js';
import { downstreamHeaders, upstreamHeaders } from './headers.js';
import { errors } from '../errors/catalogue.js';

export interface ForwardDeps {
  health: HealthChecker;
  events: ClusterEventBus;
  requestTimeoutMs: number;
}

export interface ForwardPlan {
  routeClass: string;
  /** Picks the next node to try (excluding those already tried), or null when none is eligible. */
  pick: (tried: Set<ClusterNode>) => Promise<ClusterNode | null> | ClusterNode | null;
  method: string;
  path: (node: ClusterNode) => string;
  body: Buffer | null;
  /** When set, the answer is read whole and transformed (for id rewriting) instead of streamed. */
  transform?: (node: ClusterNode, status: number, text: string) => string;
  noNodeMessage: string;
}

export const NODE_HEADER = 'x-chroma-ha-node';

export async function forward(req: IncomingMessage, res: ServerResponse, plan: ForwardPlan, deps: ForwardDeps): Promise<ClusterNode> {
  const tried = new Set<ClusterNode>();
  const clientGone = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) clientGone.abort();
  });
  for (let attempt = 0; attempt < 2; attempt++) {
    const node = await plan.pick(tried);
    if (!node) {
      if (tried.size > 0) throw errors.upstream([...tried].map((n) => n.name).join(', '), 'connection failed and no other node is eligible');
      throw errors.noNode(plan.noNodeMessage);
    }
    tried.add(node);
    let upstream: UpstreamResponse;
    node.inFlight++;
    try {
      upstream = await node.client.request({
        method: plan.method,
        path: plan.path(node),
        headers: upstreamHeaders(req.headers),
        body: plan.body && plan.body.length > 0 ? plan.body : null,
        timeoutMs: deps.requestTimeoutMs,
        signal: clientGone.signal,
      });
    } catch (err) {
      node.inFlight--;
      if (!(err instanceof UpstreamError)) throw err;
      if (err.kind === 'aborted') throw errors.clientGone();
      deps.events.emit('upstream-error', { node: node.name, kind: err.kind });
      deps.health.reportFailure(node, err.message);
      if (err.kind === 'timeout') throw errors.timeout(node.name, deps.requestTimeoutMs);
      deps.events.emit('retry', { from: node.name, to: '?', routeClass: plan.routeClass });
      continue;
    }
    try {
      await relay(upstream, res, node, plan);
    } finally {
      node.inFlight--;
    }
    return node;
  }
  throw errors.upstream([...tried].map((n) => n.name).join(', '), 'connection failed on every eligible node');
}

async function relay(upstream: UpstreamResponse, res: ServerResponse, node: ClusterNode, plan: ForwardPlan): Promise<void> {
  const headers = { ...downstreamHeaders(upstream.headers), [NODE_HEADER]: node.name };
  if (plan.transform) {
    const text = plan.transform(node, upstream.statusCode, await upstream.body.text());
    headers['content-length'] = String(Buffer.byteLength(text));
    res.writeHead(upstream.statusCode, headers);
    res.end(text);
    return;
  }
  res.writeHead(upstream.statusCode, headers);
  await pipeline(upstream.body, res).catch(() => res.destroy());
}
