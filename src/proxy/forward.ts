// Sends a read to a node chosen by the read router, streaming the answer back. A request that fails
// on a connection error is retried once on another eligible node (reads are idempotent); a timeout is
// answered 504 rather than retried, so a hung node costs a client one timeout, not two. A read still
// waiting for a node's answer when the health checker marks that node down is cancelled and sent to another
// eligible node at once (a hung replica costs its readers the time to detect it, not REQUEST_TIMEOUT); once
// the answer has started streaming it is the client's.
// This is the gateway's hot path: per attempt it allocates one Cancellation and three listeners ('close' on
// the response, the client's and the node's cancellation), and pipes the answer without stream.pipeline
// (whose internal AbortController builds a DOMException, stack trace included, every time a pipe completes).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterNode } from '../cluster/node.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { HealthChecker } from '../health/checker.js';
import { Cancellation, UpstreamError, type UpstreamResponse } from '../upstream/node-client.js';
import { downstreamHeaderList, NODE_HEADER, upstreamHeaders } from './headers.js';
import { errors, HttpError } from '../errors/catalogue.js';

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

export { NODE_HEADER };

/** Stands in for a node's down signal when a request must not be withdrawn: never aborted. */
const NEVER = new Cancellation();
NEVER.setMaxListeners(0);

/** The client's side of one forwarded request: cancels the upstream request if the client goes away first. */
class ClientLink {
  readonly gone = new Cancellation();
  /** Resolves the relay waiting for the answer to finish (or the connection to close). */
  closed: (() => void) | null = null;

  constructor(private readonly res: ServerResponse) {
    res.once('close', this.onClose);
  }

  private readonly onClose = () => {
    if (!this.res.writableFinished) this.gone.abort();
    this.closed?.();
  };
}

export async function forward(req: IncomingMessage, res: ServerResponse, plan: ForwardPlan, deps: ForwardDeps): Promise<ClusterNode> {
  const tried = new Set<ClusterNode>();
  const link = new ClientLink(res);
  const headers = upstreamHeaders(req.headers);
  const body = plan.body && plan.body.length > 0 ? plan.body : null;
  let connectionFailures = 0;
  /** The node a previous attempt was withdrawn from because it was marked down. */
  let markedDown: string | null = null;
  while (connectionFailures < 2) {
    const node = await plan.pick(tried);
    if (!node) {
      if (markedDown) throw errors.upstream(markedDown, 'the node was marked down while the request waited for it, and no other node is eligible');
      if (tried.size > 0) throw errors.upstream([...tried].map((n) => n.name).join(', '), 'connection failed and no other node is eligible');
      throw errors.noNode(plan.noNodeMessage);
    }
    tried.add(node);
    // The attempt ends when the client goes away, or (until the answer starts) when the node is marked down.
    const attempt = new Cancellation();
    const onClientGone = () => attempt.abort();
    let nodeMarkedDown = false;
    // Not for an unlogged write passed through to the primary (ALLOW_UNKNOWN_WRITES): it may have arrived.
    const nodeDown = plan.routeClass !== 'passthrough' || plan.method === 'GET' ? node.untilDown : NEVER;
    const onNodeDown = () => {
      nodeMarkedDown = true;
      attempt.abort();
    };
    link.gone.once('abort', onClientGone);
    nodeDown.once('abort', onNodeDown);
    if (link.gone.aborted) attempt.abort();
    let upstream: UpstreamResponse;
    node.inFlight++;
    try {
      upstream = await node.client.request({
        method: plan.method,
        path: plan.path(node),
        headers,
        body,
        timeoutMs: deps.requestTimeoutMs,
        signal: attempt,
      });
    } catch (err) {
      node.inFlight--;
      link.gone.removeListener('abort', onClientGone);
      if (!(err instanceof UpstreamError)) throw err;
      if (err.kind === 'aborted' && nodeMarkedDown && !link.gone.aborted) {
        // The health checker already counted the failure that marked it down.
        markedDown = node.name;
        deps.events.emit('retry', { from: node.name, to: '?', routeClass: plan.routeClass });
        continue;
      }
      if (err.kind === 'aborted') throw errors.clientGone();
      deps.events.emit('upstream-error', { node: node.name, kind: err.kind });
      deps.health.reportFailure(node, err.message);
      if (err.kind === 'timeout') throw errors.timeout(node.name, deps.requestTimeoutMs);
      deps.events.emit('retry', { from: node.name, to: '?', routeClass: plan.routeClass });
      connectionFailures++;
      continue;
    } finally {
      nodeDown.removeListener('abort', onNodeDown);
    }
    try {
      await relay(upstream, res, node, plan, link);
    } finally {
      node.inFlight--;
      link.gone.removeListener('abort', onClientGone);
    }
    return node;
  }
  throw errors.upstream([...tried].map((n) => n.name).join(', '), 'connection failed on every eligible node');
}

async function relay(upstream: UpstreamResponse, res: ServerResponse, node: ClusterNode, plan: ForwardPlan, link: ClientLink): Promise<void> {
  if (plan.transform) {
    const text = plan.transform(node, upstream.statusCode, await upstream.body.text());
    res.writeHead(upstream.statusCode, downstreamHeaderList(upstream.headers, node.name, Buffer.byteLength(text)));
    res.end(text);
    return;
  }
  res.writeHead(upstream.statusCode, downstreamHeaderList(upstream.headers, node.name));
  const body = upstream.body;
  if (res.destroyed) {
    body.destroy();
    return;
  }
  await new Promise<void>((resolve) => {
    link.closed = () => {
      // The client went away mid-answer: stop reading from the node (undici then drops that connection).
      if (!body.readableEnded) body.destroy();
      resolve();
    };
    body.once('error', () => res.destroy());
    body.pipe(res);
  });
}
