// One round of checks against the outside world: each node's heartbeat (answer and latency) and the
// gateway's /health and /status, every request bounded by a timeout. Nothing here decides anything.
import { gatewayStatusSchema, type GatewayStatus } from '../status/schema.js';
import { NodeClient } from '../upstream/node-client.js';
import type { NodeConfig } from '../config/load.js';
import { redactUrl } from '../log/redact.js';

export interface ProbeResult {
  ok: boolean;
  latencyMs: number | null;
  error: string | null;
}

/** The gateway's /status, parsed with the one schema the gateway itself is typed by. */
const statusSchema = gatewayStatusSchema;
export type GatewayStatusView = GatewayStatus;

export interface GatewayProbe extends ProbeResult {
  /** HTTP status of /health when it answered (200 healthy or degraded, 503 unhealthy). */
  healthCode: number | null;
  healthStatus: string | null;
  /** Parsed /status, or null when it could not be read (statusError says why). */
  status: GatewayStatusView | null;
  statusError: string | null;
}

export function probeClient(config: NodeConfig, timeoutMs: number): NodeClient {
  return new NodeClient(config.name, config.url, config.authHeaders, timeoutMs);
}

export async function probeNode(client: NodeClient, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  try {
    const res = await client.requestJson({ method: 'GET', path: '/api/v2/heartbeat', timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
    const latencyMs = round(performance.now() - started);
    return res.status === 200 ? { ok: true, latencyMs, error: null } : { ok: false, latencyMs, error: `heartbeat answered ${res.status}` };
  } catch (err) {
    return { ok: false, latencyMs: null, error: failure(err, started, timeoutMs) };
  }
}

export async function probeGateway(client: NodeClient, timeoutMs: number): Promise<GatewayProbe> {
  const started = performance.now();
  const get = (path: string) => client.requestJson({ method: 'GET', path, timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
  const [health, status] = await Promise.allSettled([get('/health'), get('/status')]);
  const latencyMs = round(performance.now() - started);
  if (health.status === 'rejected') {
    return { ok: false, latencyMs: null, error: failure(health.reason, started, timeoutMs), healthCode: null, healthStatus: null, status: null, statusError: null };
  }
  const healthStatus = parseJson(health.value.text)?.status;
  let view: GatewayStatusView | null = null;
  let statusError: string | null = null;
  if (status.status === 'rejected') statusError = failure(status.reason, started, timeoutMs);
  else if (status.value.status !== 200) statusError = `/status answered ${status.value.status}`;
  else {
    const parsed = statusSchema.safeParse(parseJson(status.value.text));
    if (parsed.success) view = parsed.data;
    else statusError = `/status has an unexpected shape: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`;
  }
  return {
    ok: true,
    latencyMs,
    error: health.value.status === 200 ? null : `/health answered ${health.value.status}`,
    healthCode: health.value.status,
    healthStatus: typeof healthStatus === 'string' ? healthStatus : null,
    status: view,
    statusError,
  };
}

function failure(err: unknown, started: number, timeoutMs: number): string {
  if (performance.now() - started >= timeoutMs - 5) return `no answer within ${timeoutMs} ms`;
  const message = (err as Error).message ?? String(err);
  return message.replace(/^[^:]+: /, ''); // NodeClient prefixes the target's name, which the caller already knows
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' ? v : null;
  } catch {
    return null;
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** The gateway's view of a watched node: matched by URL (without credentials), else by name. */
export function statusNodeFor(status: GatewayStatusView, config: NodeConfig): GatewayStatusView['nodes'][number] | undefined {
  const url = redactUrl(config.url);
  return status.nodes.find((s) => s.url === url) ?? status.nodes.find((s) => s.name === config.name);
}
