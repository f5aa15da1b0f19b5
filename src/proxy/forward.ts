// Sends a read to a node chosen by the read router, streaming the answer back. A request that fails
// on a connection error is retried once on another eligible node (reads are idempotent); a timeout is
// answered 504 rather than retried, so a hung node costs a client one timeout, not two. A read still
// waiting for a node's answer when the health checker marks that node down is withdrawn and sent to another
// eligible node at once (a hung replica costs its readers the time to detect it, not REQUEST_TIMEOUT); once
// the answer has started it is the client's.
// This is the gateway's hot path: per request it allocates one Cancellation and one 'close' listener,
// and hands undici a handler that writes the node's answer to the client chunk by chunk (no Readable, no
// pipe, no promise per answer).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClusterNode } from '../cluster/node.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { HealthChecker } from '../health/checker.js';
import type { Dispatcher } from 'undici';
import { Cancellation, classify, UpstreamError, type UpstreamRequest, type UpstreamResponse } from '../upstream/node-client.js';
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

  constructor(private readonly res: ServerResponse) {
    res.once('close', this.onClose);
  }

  private readonly onClose = () => {
    if (!this.res.writableFinished) this.gone.abort();
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
    // Not for an unlogged write passed through to the primary (ALLOW_UNKNOWN_WRITES): it may have arrived.
    const nodeDown = plan.routeClass !== 'passthrough' || plan.method === 'GET' ? node.untilDown : NEVER;
    node.inFlight++;
    try {
      const request = { method: plan.method, path: plan.path(node), headers, body, timeoutMs: deps.requestTimeoutMs };
      if (plan.transform) await relayTransformed(node, request, res, plan, link, nodeDown);
      else await streamAnswer(node, request, res, link, nodeDown);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      if (err.kind === 'aborted' && !link.gone.aborted) {
        // Withdrawn: the node was marked down before it answered (the health checker counted that failure).
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
      node.inFlight--;
    }
    return node;
  }
  throw errors.upstream([...tried].map((n) => n.name).join(', '), 'connection failed on every eligible node');
}

/** A rewritten answer: read whole, transformed, sent with its new length. */
async function relayTransformed(
  node: ClusterNode,
  request: Omit<UpstreamRequest, 'signal'>,
  res: ServerResponse,
  plan: ForwardPlan,
  link: ClientLink,
  nodeDown: Cancellation,
): Promise<void> {
  // Until the answer starts, the attempt ends when the client goes away or the node is marked down.
  const attempt = new Cancellation();
  const abort = () => attempt.abort();
  link.gone.once('abort', abort);
  nodeDown.once('abort', abort);
  if (link.gone.aborted) attempt.abort();
  let upstream: UpstreamResponse;
  try {
    upstream = await node.client.request({ ...request, signal: attempt });
  } finally {
    nodeDown.removeListener('abort', abort);
  }
  try {
    const text = plan.transform!(node, upstream.statusCode, await upstream.body.text());
    res.writeHead(upstream.statusCode, downstreamHeaderList(upstream.headers, node.name, Buffer.byteLength(text)));
    res.end(text);
  } finally {
    link.gone.removeListener('abort', abort);
  }
}

/**
 * Streams a node's answer to the client as it arrives: each chunk is written to the response from undici's
 * handler, pausing the node's connection while the client's is full. Rejects (with an UpstreamError) only
 * when the node failed before answering, so the read can be retried elsewhere; a failure mid-answer cuts the
 * client's connection, as a proxy must. The deadline covers the wait for the answer's headers; undici's
 * bodyTimeout the gaps within the body.
 */
function streamAnswer(
  node: ClusterNode,
  request: Omit<UpstreamRequest, 'signal'>,
  res: ServerResponse,
  link: ClientLink,
  nodeDown: Cancellation,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | null = null;
    let started = false;
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller?.abort(new Error('deadline'));
    }, request.timeoutMs);
    let withdrawn = false;
    const onGone = () => controller?.abort(new Error('client gone'));
    const onNodeDown = () => {
      if (started) return;
      withdrawn = true;
      controller?.abort(new Error('node marked down'));
    };
    const onDrain = () => controller?.resume();
    const settle = (err: UpstreamError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      link.gone.removeListener('abort', onGone);
      nodeDown.removeListener('abort', onNodeDown);
      res.removeListener('drain', onDrain);
      if (err) reject(err);
      else resolve();
    };
    link.gone.once('abort', onGone);
    nodeDown.once('abort', onNodeDown);
    node.client.dispatch(request, {
      onRequestStart(c) {
        controller = c;
        // Either may have happened while the request waited for a connection.
        if (link.gone.aborted) c.abort(new Error('client gone'));
        else if (nodeDown.aborted) onNodeDown();
        else if (timedOut) c.abort(new Error('deadline'));
      },
      onResponseStart(c, statusCode, headers) {
        started = true;
        clearTimeout(timer);
        if (res.destroyed) return c.abort(new Error('client gone'));
        res.writeHead(statusCode, downstreamHeaderList(headers, node.name));
      },
      onResponseData(c, chunk) {
        if (!res.write(chunk)) {
          c.pause();
          res.once('drain', onDrain);
        }
      },
      onResponseEnd() {
        res.end();
        settle(null);
      },
      onResponseError(_c, err) {
        if (started) {
          // Mid-answer (the node broke off, or the client left): the client's connection cannot be reused.
          res.destroy();
          return settle(null);
        }
        if (link.gone.aborted) return settle(new UpstreamError('aborted', node.name, `${node.name}: the client went away`));
        if (withdrawn) return settle(new UpstreamError('aborted', node.name, `${node.name}: marked down before it answered`));
        if (timedOut) return settle(new UpstreamError('timeout', node.name, `${node.name}: no answer within ${request.timeoutMs} ms`));
        settle(classify(err, node.name));
      },
    });
  });
}
