// The gateway's HTTP server (node:http): its own endpoints (/health, /status, extra ones registered by
// other modules such as /metrics), and everything under /api/ handed to the API handler. Owns the edge:
// client authentication, refusing writes the log cannot carry, bounding slow and oversized requests (all
// answered in Chroma's error shape), request logging, and graceful shutdown: stop accepting, let
// in-flight requests finish, then close.
import { createServer, maxHeaderSize, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { sleep } from '../util/signal.js';
import type { Logger } from '../log/logger.js';
import type { ClusterEventBus } from '../cluster/events.js';
import type { GatewayConfig } from '../config/load.js';
import { matchRoute, SAFE_METHODS } from '../routing/routes.js';
import type { ApiHandler } from './api.js';
import { ClientAuth } from './client-auth.js';
import { errors, HttpError, sendError, sendJson } from './errors.js';

/** The settings that shape the edge. */
export type EdgeConfig = Pick<GatewayConfig, 'bodyTimeoutMs' | 'clientTokens' | 'allowUnknownWrites' | 'ownNodeCredentials'>;

/** How long idle keep-alive connections stay open after shutdown starts (see close). */
const IDLE_GRACE_MS = 300;

export type EndpointHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export class GatewayServer {
  readonly server: Server;
  private readonly endpoints = new Map<string, EndpointHandler>();
  /** Handlers owning every path under a prefix, any method (the admin API). */
  private readonly prefixes: Array<[string, EndpointHandler]> = [];
  /** Requests being handled; on close they are told to end their connection after answering. */
  private readonly inFlight = new Set<ServerResponse>();
  private draining = false;
  private readonly auth: ClientAuth;

  constructor(
    private readonly api: ApiHandler,
    private readonly events: ClusterEventBus,
    private readonly logger: Logger,
    private readonly edge: EdgeConfig,
  ) {
    this.auth = new ClientAuth(edge.clientTokens, edge.ownNodeCredentials);
    this.server = createServer(
      {
        // The whole request (headers and body) must arrive within BODY_TIMEOUT: a client that sends its
        // headers and then stalls would otherwise hold a connection (and a buffer) for as long as it likes.
        requestTimeout: edge.bodyTimeoutMs,
        headersTimeout: Math.min(66_000, edge.bodyTimeoutMs),
        // How often node checks those deadlines: often enough that a small bound is kept to within ~10%.
        connectionsCheckingInterval: Math.min(1_000, Math.max(50, Math.round(edge.bodyTimeoutMs / 10))),
      },
      (req, res) => void this.handle(req, res),
    );
    this.server.keepAliveTimeout = 65_000;
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.clientError(err, socket));
  }

  /** Registers one of the gateway's own GET endpoints (exact path). */
  endpoint(path: string, handler: EndpointHandler): void {
    this.endpoints.set(path, handler);
  }

  /** Registers a handler for every path under `prefix`, whatever the method. */
  endpointTree(prefix: string, handler: EndpointHandler): void {
    this.prefixes.push([prefix, handler]);
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        const addr = this.server.address();
        resolve(typeof addr === 'object' && addr ? addr.port : port);
      });
    });
  }

  /** Stops accepting, waits up to timeoutMs for in-flight requests, then closes what is left. */
  async close(timeoutMs: number): Promise<void> {
    this.draining = true;
    // A keep-alive client would otherwise send its next request on a connection that is about to close.
    for (const res of this.inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
    // Stop accepting, but leave idle keep-alive connections open for a moment: a client that got its last
    // answer just before the signal may be sending its next request on one right now, and closing it under
    // that request would reset it. Such requests are served (and told to close). http.Server#close would
    // close idle connections at once, so the listener is closed through net.Server's close.
    const closed = new Promise<void>((r) => NetServer.prototype.close.call(this.server, () => r()));
    const deadline = Date.now() + timeoutMs;
    await sleep(Math.min(IDLE_GRACE_MS, timeoutMs));
    this.server.closeIdleConnections();
    while (this.inFlight.size > 0 && Date.now() < deadline) await sleep(20);
    this.server.closeAllConnections();
    await closed;
  }

  private clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const answer = clientErrorAnswer(err, this.edge.bodyTimeoutMs);
    // Only when nothing of a response went out on this connection yet (node's own rule, same check).
    const current = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (answer && socket.writable && !current?.headersSent) {
      const body = JSON.stringify({ error: answer.kind, message: answer.message });
      // Flushed, then closed in both directions: a stalled client must not keep its half of the socket.
      socket.end(
        `HTTP/1.1 ${answer.status} ${STATUS_TEXT[answer.status]}\r\ncontent-type: application/json\r\n` +
          `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        () => socket.destroy(),
      );
      // A request whose handler is waiting for its body is recorded by that handler; others never reached one.
      if (current) current.statusCode = answer.status;
      else this.events.emit('request', { routeClass: 'gateway', node: null, status: answer.status, durationMs: answer.status === 408 ? this.edge.bodyTimeoutMs : 0 });
      this.logger.debug({ code: err.code, status: answer.status }, 'client error');
      return;
    }
    socket.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    this.inFlight.add(res);
    if (this.draining) res.setHeader('connection', 'close');
    let routeClass = 'gateway';
    let node: string | null = null;
    try {
      const url = new URL(req.url ?? '/', 'http://gateway');
      const own = this.endpoints.get(url.pathname);
      const method = req.method ?? 'GET';
      const tree = this.prefixes.find(([prefix]) => url.pathname.startsWith(prefix));
      if (own && method === 'GET') {
        await own(req, res);
      } else if (tree) {
        await tree[1](req, res);
      } else {
        const route = matchRoute(method, url.pathname);
        if (!route) throw errors.notFound(`no route for ${method} ${url.pathname}: the gateway serves /api/v2/**, /health, /status and /metrics`);
        this.auth.check(url.pathname, req.headers);
        if (route.kind === 'refused') throw errors.notImplemented(`${method} ${url.pathname}: ${route.reason}`);
        if (route.kind === 'passthrough' && !SAFE_METHODS.has(method) && !this.edge.allowUnknownWrites) {
          throw errors.notImplemented(
            `${method} ${url.pathname} is not a route chroma-ha knows: a write it cannot log would reach the primary alone and leave the nodes different (ALLOW_UNKNOWN_WRITES=true sends it anyway)`,
          );
        }
        routeClass = route.kind === 'write' ? 'write' : route.kind === 'meta' ? 'meta' : route.kind === 'passthrough' ? 'passthrough' : 'read';
        node = await this.api.handle(req, res, url, route);
      }
    } catch (err) {
      if (err instanceof HttpError) {
        if (err.status !== 499) sendError(res, err);
      } else {
        this.logger.error({ err: (err as Error).message, method: req.method, path: req.url?.split('?')[0] }, 'request failed');
        sendJson(res, 500, { error: 'InternalError', message: 'the gateway failed to handle this request' });
      }
    } finally {
      this.inFlight.delete(res);
      const durationMs = performance.now() - started;
      this.events.emit('request', { routeClass, node, status: res.statusCode, durationMs });
      // Built only when it will be written: this runs for every request.
      if (this.logger.isLevelEnabled('debug')) {
        this.logger.debug({ method: req.method, path: req.url?.split('?')[0], status: res.statusCode, node, ms: Math.round(durationMs) }, 'request');
      }
    }
  }
}

/**
 * Requests node's HTTP parser gives up on never reach the handler; node would answer them with an empty
 * body (or none). Answer in Chroma's error shape instead, then close the connection, as node does.
 */
function clientErrorAnswer(err: NodeJS.ErrnoException, bodyTimeoutMs: number): HttpError | null {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return errors.headersTooLarge(maxHeaderSize);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return errors.requestTimeout(bodyTimeoutMs / 1000);
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    default:
      return errors.badHttpRequest(err.code ?? 'parse error');
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };
