// One keep-alive connection pool per Chroma node (undici Pool), and the classification of what went
// wrong on a failed request: whether the node may have received it decides if a write can be retried.
// Proxied reads pass through dispatch() (streamed answers) or request() (rewritten ones), so both allocate
// as little as they can per request.
import { EventEmitter } from 'node:events';
import { Pool, errors as undiciErrors, type Dispatcher } from 'undici';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';

export type FailureKind =
  /** The request never reached the node (refused, unreachable, connect timeout): safe to retry anything. */
  | 'connect'
  /** The connection broke after the request may have been sent: a write's outcome is unknown. */
  | 'reset'
  /** The node accepted the request but did not answer in time. */
  | 'timeout'
  /** We gave up on purpose (node marked down, client went away). */
  | 'aborted';

export class UpstreamError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly nodeName: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
  /** True when the node certainly did not receive the request. */
  get notSent(): boolean {
    return this.kind === 'connect';
  }
}

/**
 * A one-shot cancel switch that undici accepts as a request's `signal` (an emitter with `aborted` and an
 * 'abort' event). Far cheaper per request than an AbortController (an EventTarget, and a DOMException on
 * abort) combined with AbortSignal.any.
 */
export class Cancellation extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }
}

export interface UpstreamRequest {
  method: string;
  path: string;
  headers?: Record<string, string | string[] | undefined>;
  body?: Buffer | null;
  timeoutMs: number;
  signal?: AbortSignal | Cancellation;
}

export interface UpstreamResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable & { text(): Promise<string>; arrayBuffer(): Promise<ArrayBuffer> };
}

export class NodeClient {
  private readonly pool: Pool;

  constructor(
    readonly name: string,
    readonly baseUrl: string,
    private readonly authHeaders: Record<string, string>,
    connectTimeoutMs: number,
  ) {
    this.pool = new Pool(baseUrl, {
      connections: 128,
      keepAliveTimeout: 4_000,
      connect: { timeout: connectTimeoutMs },
    });
  }

  /**
   * Sends a request; resolves once response headers arrive (the body streams after).
   * `useOwnAuth` adds the node's configured credentials unless the caller brought its own.
   */
  async request(req: UpstreamRequest, useOwnAuth = true): Promise<UpstreamResponse> {
    const headers = this.headersFor(req, useOwnAuth);
    // undici checks headersTimeout on a ~0.5 s tick, so a 1 s timeout could fire at 1.5 s: keep our own deadline.
    // One Cancellation carries both the deadline and the caller's signal.
    const cancel = new Cancellation();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      cancel.abort();
    }, req.timeoutMs);
    // The caller's signal also covers the body, which streams after request() resolves: it stays linked
    // until the body is done.
    const outer = req.signal;
    const onOuterAbort = () => cancel.abort();
    const detach = () => {
      if (outer instanceof Cancellation) outer.removeListener('abort', onOuterAbort);
      else outer?.removeEventListener('abort', onOuterAbort);
    };
    if (outer) {
      if (outer.aborted) cancel.abort();
      else if (outer instanceof Cancellation) outer.once('abort', onOuterAbort);
      else outer.addEventListener('abort', onOuterAbort, { once: true });
    }
    try {
      const res = await this.pool.request({
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        headers,
        body: req.body ?? undefined,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: cancel,
      });
      if (outer) res.body.once('close', detach);
      return res as unknown as UpstreamResponse;
    } catch (err) {
      detach();
      if (timedOut && !outer?.aborted) {
        throw new UpstreamError('timeout', this.name, `${this.name}: no answer within ${req.timeoutMs} ms`);
      }
      throw classify(err, this.name);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends a request whose answer goes straight to `handler`, chunk by chunk, without a stream or a promise
   * per request (the proxied read's hot path, proxy/forward.ts). The handler owns deadlines and aborts
   * through the controller undici gives it; the node's credentials are added as in request().
   */
  dispatch(req: Omit<UpstreamRequest, 'signal'>, handler: Dispatcher.DispatchHandler): void {
    this.pool.dispatch(
      {
        method: req.method as Dispatcher.HttpMethod,
        path: req.path,
        headers: this.headersFor(req, true),
        body: req.body ?? undefined,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
      },
      handler,
    );
  }

  private headersFor(req: Pick<UpstreamRequest, 'headers' | 'body'>, useOwnAuth: boolean): Record<string, string | string[]> {
    const headers: Record<string, string | string[]> = {};
    let hasAuth = false;
    let hasType = false;
    for (const k in req.headers) {
      const v = req.headers[k];
      if (v === undefined) continue;
      headers[k] = v;
      if (k === 'authorization' || k === 'x-chroma-token') hasAuth = true;
      else if (k === 'content-type') hasType = true;
    }
    if (useOwnAuth && !hasAuth) for (const k in this.authHeaders) headers[k] = this.authHeaders[k]!;
    if (req.body && !hasType) headers['content-type'] = 'application/json';
    return headers;
  }

  /** Sends a request and reads the whole answer (bodies of Chroma's JSON API are small). */
  async requestJson(req: UpstreamRequest, useOwnAuth = true): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    const res = await this.request(req, useOwnAuth);
    try {
      return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
    } catch (err) {
      throw classify(err, this.name);
    }
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

export function classify(err: unknown, nodeName: string): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code ?? '';
  const message = `${nodeName}: ${e.message ?? String(err)}`;
  if (e.name === 'AbortError' || err instanceof undiciErrors.RequestAbortedError) return new UpstreamError('aborted', nodeName, message);
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT'].includes(code)) {
    return new UpstreamError('connect', nodeName, message);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') return new UpstreamError('timeout', nodeName, message);
  return new UpstreamError('reset', nodeName, message);
}
