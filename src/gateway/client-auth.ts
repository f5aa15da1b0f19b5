// Client authentication at the gateway, the way Chroma's token auth does it: a token in
// `Authorization: Bearer <token>` or `X-Chroma-Token: <token>`, none gets 401, a wrong one 403. When the
// gateway has its own node credentials, the client's are consumed here and never reach a node.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { errors } from './errors.js';

/** Paths anyone may call: probes of liveness only, which say nothing about the data. */
const OPEN_API_PATHS = new Set(['/api/v2/heartbeat', '/api/v1/heartbeat']);

const CREDENTIAL_HEADERS = ['authorization', 'x-chroma-token'] as const;

export class ClientAuth {
  private readonly tokens: Buffer[];

  /**
   * @param tokens accepted tokens; undefined: clients are not authenticated by the gateway.
   * @param consumeCredentials strip client credentials after the check (the gateway talks to nodes with its own).
   */
  constructor(
    tokens: string[] | undefined,
    private readonly consumeCredentials: boolean,
  ) {
    this.tokens = (tokens ?? []).map((t) => Buffer.from(t));
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  /** Throws 401/403 for an API request without a valid token; removes client credentials when configured to. */
  check(pathname: string, headers: IncomingHttpHeaders): void {
    if (this.enabled && !OPEN_API_PATHS.has(pathname.replace(/\/+$/, ''))) {
      const presented = presentedToken(headers);
      if (presented === null) {
        throw errors.unauthenticated('Unauthorized: this gateway requires a token (Authorization: Bearer <token> or X-Chroma-Token: <token>)');
      }
      if (!this.accepts(presented)) throw errors.forbidden('Forbidden: the token is not valid');
    }
    if (this.consumeCredentials) for (const h of CREDENTIAL_HEADERS) delete headers[h];
  }

  private accepts(presented: string): boolean {
    const given = Buffer.from(presented);
    // Constant time per candidate, so the answer's timing says nothing about how much of a token matched.
    return this.tokens.reduce((ok, t) => (t.length === given.length && timingSafeEqual(t, given)) || ok, false);
  }
}

/** The token a client sent, from either header Chroma's clients use; null when there is none. */
function presentedToken(headers: IncomingHttpHeaders): string | null {
  const xToken = headers['x-chroma-token'];
  if (typeof xToken === 'string' && xToken.trim() !== '') return xToken.trim();
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (m) return m[1]!.trim();
  }
  return null;
}
