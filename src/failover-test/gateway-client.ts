// HTTP access to a chroma-ha gateway for the failover test: its /status, validated so that a URL that is
// not a chroma-ha gateway (a plain Chroma server, another service, nothing at all) is named as such, and
// the few Chroma v2 calls the probe makes through it.
import type { z } from 'zod';
import { gatewayStatusSchema, type GatewayStatus, type NodeStatus } from '../status/schema.js';

const statusSchema = gatewayStatusSchema;
export type { GatewayStatus, NodeStatus };

/** The target cannot be tested: unreachable, or not a chroma-ha gateway. */
export class TargetError extends Error {}

/** Outcome of one probe request: ok, an HTTP error status, or a transport error (timeout, reset, refused). */
export interface CallResult {
  ok: boolean;
  status?: number;
  error?: string;
  body?: string;
}

const COLLECTIONS = '/api/v2/tenants/default_tenant/databases/default_database/collections';

export class GatewayClient {
  readonly baseUrl: string;

  constructor(
    url: string,
    private readonly headers: Record<string, string>,
    private readonly timeoutMs: number,
  ) {
    this.baseUrl = url.replace(/\/+$/, '');
  }

  /** GET /status, or a TargetError that says what the URL is instead of a chroma-ha gateway. */
  async status(): Promise<GatewayStatus> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/status`, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new TargetError(`cannot reach ${this.baseUrl}: ${transportError(err)}`);
    }
    const text = await res.text().catch(() => '');
    let parsed: z.ZodSafeParseResult<GatewayStatus> | null = null;
    try {
      parsed = statusSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = null;
    }
    if (res.status === 200 && parsed?.success) return parsed.data;
    const answered = `GET /status answered ${res.status}${text ? ` ${JSON.stringify(text.slice(0, 120))}` : ''}`;
    const what = (await this.isChromaNode()) ? 'a Chroma server, not a chroma-ha gateway' : 'not a chroma-ha gateway';
    throw new TargetError(
      `${this.baseUrl} is ${what}: ${answered}, where a chroma-ha gateway reports its nodes, primary and log. ` +
        'Point --url at the chroma-ha gateway (the load balancer), not at a Chroma node.',
    );
  }

  async createCollection(name: string): Promise<string> {
    const r = await this.call('POST', COLLECTIONS, { name, metadata: { 'chroma-ha': 'failover-test probe' } });
    if (!r.ok) throw new Error(`creating probe collection ${name} failed: ${describe(r)}`);
    return (JSON.parse(r.body!) as { id: string }).id;
  }

  add(collectionId: string, id: string, embedding: number[]): Promise<CallResult> {
    return this.call('POST', `${COLLECTIONS}/${collectionId}/add`, { ids: [id], embeddings: [embedding], metadatas: [{ probe: id }] });
  }

  /** Which of these ids the collection holds (as the node that answers sees it). */
  async get(collectionId: string, ids: string[]): Promise<CallResult & { ids?: string[] }> {
    const r = await this.call('POST', `${COLLECTIONS}/${collectionId}/get`, { ids, include: [] });
    if (!r.ok) return r;
    return { ...r, ids: (JSON.parse(r.body!) as { ids: string[] }).ids };
  }

  deleteCollection(name: string): Promise<CallResult> {
    return this.call('DELETE', `${COLLECTIONS}/${encodeURIComponent(name)}`);
  }

  private async call(method: string, path: string, body?: unknown): Promise<CallResult> {
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: { ...this.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.text();
      return { ok: res.status >= 200 && res.status < 300, status: res.status, body: text };
    } catch (err) {
      return { ok: false, error: transportError(err) };
    }
  }

  private async isChromaNode(): Promise<boolean> {
    try {
      const r = await fetch(`${this.baseUrl}/api/v2/heartbeat`, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
      return r.status === 200 && 'nanosecond heartbeat' in ((await r.json()) as object);
    } catch {
      return false;
    }
  }
}

export function describe(r: CallResult): string {
  if (r.error) return r.error;
  let message = r.body ?? '';
  try {
    message = (JSON.parse(message) as { message?: string }).message ?? message;
  } catch {
    // not JSON: show as is
  }
  return `HTTP ${r.status}${message ? `: ${message.slice(0, 200)}` : ''}`;
}

function transportError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError') return 'timed out';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}
