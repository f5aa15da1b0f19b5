// The gateway's HTTP server (node:http): its own endpoints (/health, /status, extra ones registered by
// other modules such as /metrics), and everything under /api/ handed to the API handler. Owns request
// logging and graceful shutdown: stop accepting, let in-flight requests finish, then close.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../log/logger.js';
import type { ClusterEventBus } from '../cluster/events.js';
import { matchRoute } from '../routing/routes.js';
import type { ApiHandler } from './api.js';
import { errors, HttpError, sendError, sendJson } from './errors.js';

export type EndpointHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export class GatewayServer {
  readonly server: Server;
  private readonly endpoints = new Map<string, EndpointHandler>();
  /** Requests being handled; on close they are told to end their connection after answering. */
  private readonly inFlight = new Set<ServerResponse>();
  private draining = false;

  constructor(
    private readonly api: ApiHandler,
    private readonly events: ClusterEventBus,
    private readonly logger: Logger,
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
  }

  /** Registers one of the gateway's own GET endpoints (exact path). */
  endpoint(path: string, handler: EndpointHandler): void {
    this.endpoints.set(path, handler);
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
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeIdleConnections();
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.server.closeAllConnections();
    await closed;
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
      if (own && req.method === 'GET') {
        await own(req, res);
      } else {
        const route = matchRoute(req.method ?? 'GET', url.pathname);
        if (!route) throw errors.notFound(`no route for ${req.method} ${url.pathname}: the gateway serves /api/v2/**, /health, /status and /metrics`);
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
