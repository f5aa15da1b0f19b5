// Handles requests to Chroma's API: classifies them with the route table, sends reads to an eligible
// node through the forwarder, and hands writes to the replication log. Collection ids are translated
// here, at the edge: clients only ever see stable ids.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Route } from '../routing/routes.js';
import { withCollectionId } from '../routing/routes.js';
import type { ReadRouter, ReadNeed } from '../routing/read-router.js';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { Catalog } from '../replication/catalog.js';
import type { ReplicationLog, WriteResult } from '../replication/log.js';
import type { Adopter } from '../replication/adopt.js';
import { forward, NODE_HEADER, type ForwardDeps } from '../proxy/forward.js';
import { readBody } from '../proxy/body.js';
import { jsonSyntaxError } from '../proxy/json-syntax.js';
import { clientAuth } from '../proxy/headers.js';
import { parseJson, toStableCollection } from '../proxy/rewrite.js';
import { errors, HttpError } from './errors.js';
import { MARKER_TENANT } from '../replication/identity.js';

export interface ApiDeps extends ForwardDeps {
  cluster: Cluster;
  catalog: Catalog;
  log: ReplicationLog;
  router: ReadRouter;
  adopter: Adopter;
  maxBodyBytes: number;
  writeTimeoutMs: number;
  /** Resolves once this gateway knows every outcome recorded so far (other gateways' writes); throws if it cannot. */
  confirmFresh: () => Promise<void>;
}

export const CONSISTENCY_HEADER = 'x-chroma-ha-consistency';

export class ApiHandler {
  constructor(private readonly deps: ApiDeps) {}

  /** Returns the name of the node that served the request (for logs and metrics), if any. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, route: Exclude<Route, { kind: 'refused' }>): Promise<string | null> {
    const body = await readBody(req, this.deps.maxBodyBytes);
    // The tenant holding chroma-ha's node identity markers does not exist for clients.
    if ((route.kind !== 'meta' && route.kind !== 'passthrough' && route.tenant === MARKER_TENANT) || (route.kind === 'write' && route.op === 'create_tenant' && namesMarkerTenant(body))) {
      throw errors.notFound(`Tenant [${MARKER_TENANT}] is reserved by chroma-ha`);
    }
    switch (route.kind) {
      case 'meta':
        if (route.op === 'heartbeat' && this.deps.cluster.primary.isUp) return answerHeartbeat(res, this.deps.cluster.primary.name);
        // Any up node can answer: one that fails to connect (a primary killed a moment ago) is retried on another.
        return this.forwardTo(req, res, 'meta', (tried) => this.deps.router.pickAny(tried), url.pathname === '/api/v1/heartbeat' ? '/api/v2/heartbeat' : url.pathname + url.search, body);
      case 'passthrough':
        return this.forwardTo(req, res, 'passthrough', () => (this.deps.cluster.primary.isUp ? this.deps.cluster.primary : null), url.pathname + url.search, body);
      case 'record-read':
        return this.recordRead(req, res, url, route, body);
      case 'catalog-read':
        return this.catalogRead(req, res, url, route, body);
      case 'write':
        return this.write(req, res, route, body);
    }
  }

  private async recordRead(req: IncomingMessage, res: ServerResponse, url: URL, route: Extract<Route, { kind: 'record-read' }>, body: Buffer) {
    await this.fresh(req);
    const stableId = await this.liveCollection(route.collectionId, route.tenant);
    const need: ReadNeed = { collectionId: stableId, consistency: consistencyOf(req) };
    const node = await forward(
      req,
      res,
      {
        routeClass: 'read',
        pick: (tried) => this.waitForEligible(need, tried),
        method: req.method!,
        path: (n) => withCollectionId(url.pathname, this.deps.catalog.localId(n.id, stableId)!) + url.search,
        body,
        noNodeMessage: `collection ${stableId}`,
      },
      this.deps,
    );
    return node.name;
  }

  private async catalogRead(req: IncomingMessage, res: ServerResponse, url: URL, route: Extract<Route, { kind: 'catalog-read' }>, body: Buffer) {
    const { catalog } = this.deps;
    const consistency = consistencyOf(req);
    await this.fresh(req);
    if (route.op === 'get_collection') {
      let record = catalog.byName(route.tenant, route.database!, route.collectionName!);
      if (!record) {
        await this.adoptQuietly([route.tenant]);
        record = catalog.byName(route.tenant, route.database!, route.collectionName!);
      }
      // Unknown to the catalog: the primary answers (normally Chroma's own 404).
      const need: ReadNeed = record ? { collectionId: record.stableId, consistency } : { collectionId: null, consistency };
      const pick = record ? (tried: Set<ClusterNode>) => this.waitForEligible(need, tried) : () => this.primaryIfUp();
      return this.forwardTransformed(req, res, url.pathname + url.search, body, pick, (node, text) => {
        const c = parseJson(text);
        if (!c || typeof c !== 'object' || Array.isArray(c)) return text;
        return JSON.stringify(toStableCollection(c as Record<string, unknown>, node.id, catalog) ?? c);
      });
    }
    const scope = route.op === 'list_collections' || route.op === 'count_collections' ? { tenant: route.tenant, database: route.database } : undefined;
    const need: ReadNeed = { collectionId: null, scope, consistency };
    if (route.op !== 'list_collections') {
      return this.forwardTo(req, res, 'read', (tried) => this.waitForEligible(need, tried), url.pathname + url.search, body);
    }
    // Each node lists collections in the order of its own ids: fetch the whole list, rewrite ids, and
    // page over the stable order so pages are the same whichever node answers.
    const limit = intParam(url, 'limit');
    const offset = intParam(url, 'offset') ?? 0;
    return this.forwardTransformed(req, res, url.pathname, body, (tried) => this.waitForEligible(need, tried), (node, text) => {
      const list = parseJson(text);
      if (!Array.isArray(list)) return text;
      const stable = list
        .map((c) => toStableCollection(c as Record<string, unknown>, node.id, catalog))
        .filter((c): c is Record<string, unknown> => c !== null)
        .sort((a, b) => String(a.id).localeCompare(String(b.id)));
      return JSON.stringify(stable.slice(offset, limit === undefined ? undefined : offset + limit));
    });
  }

  private async write(req: IncomingMessage, res: ServerResponse, route: Extract<Route, { kind: 'write' }>, body: Buffer) {
    const { log, cluster } = this.deps;
    // Stored and forwarded as the client sent it: only its syntax is checked, without building the value.
    const syntax = body.length > 0 ? jsonSyntaxError(body) : null;
    if (syntax) throw errors.malformedJson(syntax);
    if (route.collectionId) await this.liveCollection(route.collectionId, route.tenant!);
    if (!cluster.nodes.some((n) => n.isUp)) throw errors.noNode('writes (every node is down)');
    let appended: { seq: number; result: Promise<WriteResult> };
    try {
      appended = await log.append(
        {
          op: route.op,
          tenant: route.tenant ?? null,
          database: route.database ?? null,
          collectionId: route.op === 'create_collection' ? randomUUID() : (route.collectionId ?? null),
          collectionName: route.collectionName ?? null,
          body: body.length > 0 ? body : null,
        },
        clientAuth(req.headers),
      );
    } catch {
      throw errors.storeDown();
    }
    const result = await this.awaitOutcome(appended.seq, appended.result);
    let text = result.body;
    if (route.op === 'create_collection' && result.status < 300) {
      const c = parseJson(text);
      if (c && typeof c === 'object') text = JSON.stringify(toStableCollection(c as Record<string, unknown>, result.nodeId, this.deps.catalog) ?? c);
    }
    const node = cluster.byId(result.nodeId);
    res.writeHead(result.status, {
      'content-type': result.contentType ?? 'application/json',
      'content-length': Buffer.byteLength(text),
      [NODE_HEADER]: node?.name ?? '',
    });
    res.end(text);
    return node?.name ?? null;
  }

  /** Waits for the primary's answer; a write no primary took within WRITE_TIMEOUT is withdrawn. */
  private async awaitOutcome(seq: number, result: Promise<WriteResult>): Promise<WriteResult> {
    const { log, writeTimeoutMs, requestTimeoutMs } = this.deps;
    const timedOut = Symbol('timeout');
    const race = (ms: number) => Promise.race([result, new Promise<typeof timedOut>((r) => setTimeout(() => r(timedOut), ms).unref())]);
    const first = await race(writeTimeoutMs);
    if (first !== timedOut) return first;
    const aborted = await log.abort(seq).catch(() => {
      throw errors.writeUndecided(seq);
    });
    if (aborted) {
      throw errors.writeNotApplied(writeTimeoutMs);
    }
    // A primary has it in hand: its outcome will be recorded and replicated either way.
    const second = await race(requestTimeoutMs);
    if (second !== timedOut) return second;
    throw errors.writeStillApplying(seq);
  }

  private async forwardTo(
    req: IncomingMessage,
    res: ServerResponse,
    routeClass: string,
    pick: (tried: Set<ClusterNode>) => Promise<ClusterNode | null> | ClusterNode | null,
    path: string,
    body: Buffer,
  ): Promise<string> {
    const node = await forward(req, res, { routeClass, pick, method: req.method!, path: () => path, body, noNodeMessage: 'this request' }, this.deps);
    return node.name;
  }

  private async forwardTransformed(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    body: Buffer,
    pick: (tried: Set<ClusterNode>) => Promise<ClusterNode | null> | ClusterNode | null,
    transform: (node: ClusterNode, text: string) => string,
  ): Promise<string> {
    const node = await forward(
      req,
      res,
      {
        routeClass: 'read',
        pick,
        method: req.method!,
        path: () => path,
        body,
        transform: (n, status, text) => (status === 200 ? transform(n, text) : text),
        noNodeMessage: 'this request',
      },
      this.deps,
    );
    return node.name;
  }

  /**
   * An eligible node now, or the first to become eligible before the deadline (for instance while a
   * new primary replays the end of the log). Null at once when no node is up at all.
   */
  private async waitForEligible(need: ReadNeed, tried: Set<ClusterNode>): Promise<ClusterNode | null> {
    const { router, cluster, log, writeTimeoutMs } = this.deps;
    const deadline = Date.now() + writeTimeoutMs;
    for (;;) {
      const node = router.pick(need, tried);
      if (node) return node;
      const anyUp = cluster.nodes.some((n) => n.isUp && !tried.has(n));
      // Also after a failed attempt: when the primary dies under a read, the replica that will serve it may
      // still be a few entries short of the read's position, and is worth those milliseconds.
      if (!anyUp || Date.now() >= deadline) return null;
      await log.changed.wait(Math.min(100, deadline - Date.now()));
    }
  }

  /** Read-your-writes across gateways: a strong read first learns what other gateways have written. */
  private async fresh(req: IncomingMessage): Promise<void> {
    if (consistencyOf(req) === 'eventual') return;
    await this.deps.confirmFresh().catch(() => {
      throw errors.staleView();
    });
  }

  private primaryIfUp(): ClusterNode | null {
    const p = this.deps.cluster.primary;
    return p.isUp ? p : null;
  }

  /** The stable id of a live collection, adopting from the primary once if the id is unknown. */
  private async liveCollection(stableId: string, tenant: string): Promise<string> {
    if (this.deps.catalog.isLive(stableId)) return stableId;
    await this.adoptQuietly([tenant]);
    if (this.deps.catalog.isLive(stableId)) return stableId;
    throw errors.notFound(`Collection [${stableId}] does not exist`);
  }

  private async adoptQuietly(tenants: string[]): Promise<void> {
    const primary = this.deps.cluster.primary;
    if (!primary.isUp) return;
    await this.deps.adopter.adopt(primary, ['default_tenant', ...tenants]).catch(() => 0);
  }
}

/**
 * Chroma's heartbeat answered by the gateway itself while the health checker holds the primary up: no
 * round trip to a node for the call clients and load balancers make most (docs/architecture.md). Like every
 * answer it names a node: the primary, whose health it vouches for.
 */
function answerHeartbeat(res: ServerResponse, primary: string): null {
  const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1_000)) * 1_000n;
  const body = `{"nanosecond heartbeat":${ns}}`;
  res.writeHead(200, ['content-type', 'application/json', 'content-length', String(body.length), NODE_HEADER, primary]);
  res.end(body);
  return null;
}

function namesMarkerTenant(body: Buffer): boolean {
  const parsed = parseJson(body.toString('utf8'));
  return typeof parsed === 'object' && parsed !== null && (parsed as { name?: unknown }).name === MARKER_TENANT;
}

function consistencyOf(req: IncomingMessage): 'strong' | 'eventual' {
  return String(req.headers[CONSISTENCY_HEADER] ?? '').toLowerCase() === 'eventual' ? 'eventual' : 'strong';
}

function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}
