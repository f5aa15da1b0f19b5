// A token check in front of one Chroma node. Chroma 1.x's server has no authentication of its own (`chroma
// run` installs an allow-all authenticator: chroma-core/chroma rust/frontend/src/auth, `impl
// AuthenticateAndAuthorize for ()`), so a node that anything else can reach needs a guard: requests without
// the node token get 401, a wrong token 403, in Chroma's error shape; the rest are proxied to the node
// unchanged. Only node: built-ins, so it runs inside the Chroma image with nothing but a node binary.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';

export interface NodeGuardOptions {
  /** The Chroma node to protect, e.g. http://127.0.0.1:8001. */
  upstream: string;
  token: string;
  port: number;
  host: string;
}

export interface NodeGuard {
  port: number;
  close(): Promise<void>;
}

export async function startNodeGuard(options: NodeGuardOptions): Promise<NodeGuard> {
  const upstream = new URL(options.upstream);
  const expected = Buffer.from(options.token);
  const server: Server = createServer({ requestTimeout: 30_000 }, (req, res) => {
    // Every path, the heartbeat included: the gateway's and monitor's probes carry the token, and a container
    // health check can read NODE_TOKEN from its environment.
    const given = presentedToken(req);
    if (given === null) return refuse(res, 401, 'AuthenticationError', 'Unauthorized: this Chroma node requires the node token');
    const g = Buffer.from(given);
    if (g.length !== expected.length || !timingSafeEqual(g, expected)) return refuse(res, 403, 'AuthorizationError', 'Forbidden: the token is not valid');
    proxy(req, res, upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function presentedToken(req: IncomingMessage): string | null {
  const xToken = req.headers['x-chroma-token'];
  if (typeof xToken === 'string' && xToken.trim() !== '') return xToken.trim();
  const m = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? '').trim());
  return m ? m[1]!.trim() : null;
}

function refuse(res: ServerResponse, status: number, kind: string, message: string): void {
  const body = JSON.stringify({ error: kind, message });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function proxy(req: IncomingMessage, res: ServerResponse, upstream: URL): void {
  const headers = { ...req.headers, host: upstream.host };
  const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  out.on('error', () => {
    if (res.headersSent) res.destroy();
    else refuse(res, 502, 'BadGatewayError', 'the Chroma node behind this guard is not answering');
  });
  req.pipe(out);
}
