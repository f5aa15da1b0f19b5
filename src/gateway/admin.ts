// The admin API under /admin/ (bearer ADMIN_TOKEN; 401 without it or with a wrong one, and the whole API
// answers 404 when no token is configured): list nodes, verify the nodes against the primary, repair
// replicas, refill a node by copy, drain a node (no new reads) and undrain it, stream a consistent backup,
// add and remove nodes at run time (members.ts), switch the primary over to a named node (failover.ts).
// Each action is also a `chroma-ha` command (src/cli/) calling these.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterNode } from '../cluster/node.js';
import type { Logger } from '../log/logger.js';
import type { NodeLifecycle } from '../replication/lifecycle.js';
import { verifyCluster, verificationReport, type VerifyDeps } from '../replication/verify.js';
import { repairCluster, type RepairDeps } from '../replication/repair.js';
import type { MaintenanceSlot } from '../replication/maintenance.js';
import { redactUrl } from '../log/redact.js';
import { streamSnapshot } from '../backup/snapshot.js';
import { errors, HttpError, sendJson } from './errors.js';
import { readBody } from '../proxy/body.js';
import type { Members } from './members.js';
import type { SwitchoverResult } from '../replication/failover.js';

export interface AdminDeps extends RepairDeps {
  cluster: Cluster;
  lifecycle: NodeLifecycle;
  logger: Logger;
  adminToken: string | undefined;
  /** How long a backup client may read nothing before its snapshot is abandoned (BACKUP_STALL_TIMEOUT). */
  backupStallTimeoutMs: number;
  leaseHeld: () => boolean;
  /** Shared with the anti-entropy pass: one verify, repair, backup or pass at a time (409 otherwise). */
  slot: MaintenanceSlot;
  members: Members;
  /** A planned switchover (FailoverCoordinator.switchover): refused with 404/409 and the reason. */
  switchover: (to: string) => Promise<SwitchoverResult>;
}

/** Admin request bodies are a few fields. */
const ADMIN_BODY_LIMIT = 64 * 1024;

export class AdminApi {
  constructor(private readonly deps: AdminDeps) {}

  readonly handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { adminToken } = this.deps;
    if (!adminToken) throw errors.notFound('the admin API is disabled: set ADMIN_TOKEN to enable it');
    if (!tokenMatches(req.headers.authorization, adminToken)) {
      throw new HttpError(401, 'Unauthorized', 'the admin API needs the header Authorization: Bearer <ADMIN_TOKEN>');
    }
    const path = new URL(req.url ?? '/', 'http://gateway').pathname.replace(/\/+$/, '');
    const method = req.method ?? 'GET';
    if (method === 'GET' && path === '/admin/nodes') return sendJson(res, 200, { nodes: this.nodes() });
    if (method === 'POST' && path === '/admin/nodes') return sendJson(res, 201, await this.addNode(req));
    if (method === 'POST' && path === '/admin/switchover') return sendJson(res, 200, await this.switchover(req));
    const removal = /^\/admin\/nodes\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && removal) return sendJson(res, 200, await this.deps.members.remove(decodeURIComponent(removal[1]!)));
    if (method === 'POST' && path === '/admin/verify') return sendJson(res, 200, await this.exclusive('verify', () => this.verify()));
    if (method === 'POST' && path === '/admin/repair') return sendJson(res, 200, await this.exclusive('repair', () => this.repair()));
    if (method === 'POST' && path === '/admin/backup') return this.exclusive('backup', () => this.backup(res));
    const action = /^\/admin\/nodes\/([^/]+)\/(resync|drain|undrain)$/.exec(path);
    if (method === 'POST' && action) {
      const node = this.node(decodeURIComponent(action[1]!));
      if (action[2] === 'resync') return sendJson(res, 202, this.resync(node));
      return sendJson(res, 200, await this.drain(node, action[2] === 'drain'));
    }
    throw errors.notFound(
      `no admin route ${method} ${path}: GET /admin/nodes, POST /admin/nodes, DELETE /admin/nodes/{name}, POST /admin/switchover, POST /admin/verify, POST /admin/repair, POST /admin/backup, POST /admin/nodes/{name}/resync|drain|undrain`,
    );
  };

  private async addNode(req: IncomingMessage) {
    const body = await jsonBody(req);
    const node = await this.deps.members.add({ url: body.url, name: body.name });
    return this.nodes().find((n) => n.name === node.name)!;
  }

  private async switchover(req: IncomingMessage): Promise<SwitchoverResult> {
    const { to } = await jsonBody(req);
    if (typeof to !== 'string' || to === '') throw errors.invalidArgument('to is required: the name of the node to make primary');
    try {
      return await this.deps.switchover(to);
    } catch (err) {
      if (err instanceof HttpError) this.deps.logger.warn({ to, status: err.status, reason: err.message }, `planned switchover to ${to} refused: ${err.message}`);
      throw err;
    }
  }

  private nodes() {
    return this.deps.cluster.nodes.map((n) => ({
      name: n.name,
      url: redactUrl(n.config.url),
      role: n.role,
      health: n.health,
      lifecycle: n.lifecycle,
      lifecycleReason: n.lifecycleReason,
      syncState: n.syncState,
      drained: n.drained,
      appliedPosition: n.appliedSeq,
      copy: this.deps.lifecycle.copyStatus(n),
    }));
  }

  private async verify() {
    const v = await verifyCluster(this.deps as VerifyDeps);
    this.deps.logger.info({ identical: v.identical, position: v.position, ms: Math.round(v.durationMs) }, 'verify finished');
    return verificationReport(v);
  }

  private async repair() {
    const r = await repairCluster(this.deps);
    const after = r.after ? verificationReport(r.after) : null;
    const done = r.repairs.every((x) => x.action === 'none' || x.action === 'repaired') && (after?.identical ?? true);
    this.deps.logger.info({ repairs: r.repairs, done }, 'repair finished');
    return { done, repairs: r.repairs, before: verificationReport(r.before), after };
  }

  /** The backup file is the response body; headers go out only once a replica is pinned (else a JSON 409). */
  private async backup(res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('the client went away'));
    });
    try {
      await streamSnapshot(
        { ...this.deps, stallTimeoutMs: this.deps.backupStallTimeoutMs },
        {
          signal: abort.signal,
          open: ({ position, source }) => {
            res.writeHead(200, { 'content-type': 'application/gzip', 'x-chroma-ha-backup-position': String(position), 'x-chroma-ha-backup-source': source });
            return res;
          },
        },
      );
    } catch (err) {
      if (!res.headersSent) throw err;
      // Mid-stream there is no status to send: the connection is cut, and the file lacks its end chunk.
      this.deps.logger.warn({ err: (err as Error).message }, 'backup abandoned; the pinned node follows the log again');
      res.destroy();
    }
  }

  private node(name: string): ClusterNode {
    const node = this.deps.cluster.nodes.find((n) => n.name === name);
    if (!node) throw errors.notFound(`no node named ${name}`);
    return node;
  }

  private resync(node: ClusterNode) {
    if (node === this.deps.cluster.primary) throw new HttpError(409, 'ConflictError', `${node.name} is the primary: it is the source of a refill, never its target`);
    this.deps.lifecycle.requestResync(node, 'requested through the admin API');
    return { node: node.name, lifecycle: node.lifecycle };
  }

  /** Drained nodes get no reads; kept in the store so a restarted gateway keeps them drained. */
  private async drain(node: ClusterNode, drained: boolean) {
    await this.deps.store.setClusterValue(`drained:${node.id}`, drained ? '1' : '0');
    node.drained = drained;
    this.deps.logger.warn({ node: node.name, drained }, drained ? `node ${node.name} drained: no new reads` : `node ${node.name} undrained`);
    return { node: node.name, drained };
  }

  private exclusive<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return this.deps.slot.run(what, fn);
  }
}

async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const raw = (await readBody(req, ADMIN_BODY_LIMIT)).toString('utf8');
  if (raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw errors.malformedJson((err as Error).message);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw errors.invalidArgument('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** Constant-time comparison (of digests, so lengths never leak either). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!.trim()), digest(token));
}
