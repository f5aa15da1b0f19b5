// Delivers one notification to one webhook: POST with a timeout, retried with exponential backoff on
// timeouts, connection errors, 408, 429 and 5xx; a 429's Retry-After is honoured (capped). Another 4xx is
// the receiver refusing the payload or the URL for good, so it is not retried. Errors never carry the URL.
import { request } from 'undici';
import { maskSecretUrl } from '../log/redact.js';
import type { Logger } from '../log/logger.js';
import type { SinkConfig } from '../config/monitor-settings.js';
import { VERSION } from '../version.js';

export interface DeliveryOptions {
  timeoutMs: number;
  maxAttempts: number;
  retryDelayMs: number;
}

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  /** Last HTTP status received, null when no answer came. */
  httpStatus: number | null;
  error: string | null;
  durationMs: number;
}

const MAX_BACKOFF_MS = 60_000;
const MAX_RETRY_AFTER_MS = 300_000;

export async function deliver(
  sink: SinkConfig,
  body: string,
  options: DeliveryOptions,
  logger: Logger,
  stop: AbortSignal,
): Promise<DeliveryResult> {
  const started = performance.now();
  const shown = `${sink.name} (${maskSecretUrl(sink.url)})`;
  let httpStatus: number | null = null;
  let error: string | null = null;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    if (stop.aborted) return result(false, attempt - 1, `not delivered: the monitor stopped${error ? ` (last error: ${error})` : ''}`);
    let retryAfterMs: number | null = null;
    try {
      const res = await request(sink.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': `chroma-ha-monitor/${VERSION}`,
          ...(sink.kind === 'json' ? { 'x-chroma-ha-schema-version': '1' } : {}),
        },
        body,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: AbortSignal.any([stop, AbortSignal.timeout(options.timeoutMs)]),
      });
      httpStatus = res.statusCode;
      const text = (await res.body.text()).slice(0, 200);
      if (httpStatus >= 200 && httpStatus < 300) return result(true, attempt, null);
      error = `answered ${httpStatus}${text ? `: ${text}` : ''}`;
      const retryable = httpStatus === 408 || httpStatus === 429 || httpStatus >= 500;
      if (!retryable) {
        logger.error({ sink: shown, status: httpStatus, error }, 'notification refused by the sink; not retrying');
        return result(false, attempt, error);
      }
      if (httpStatus === 429) retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    } catch (err) {
      httpStatus = null;
      error = stop.aborted ? 'not delivered: the monitor stopped' : describe(err, options.timeoutMs);
      if (stop.aborted) return result(false, attempt, error);
    }
    if (attempt === options.maxAttempts) break;
    const waitMs = retryAfterMs ?? backoff(options.retryDelayMs, attempt);
    logger.warn({ sink: shown, attempt, of: options.maxAttempts, error, retryInMs: Math.round(waitMs) }, 'notification delivery failed; retrying');
    await sleep(waitMs, stop);
  }
  logger.error({ sink: shown, attempts: options.maxAttempts, error }, 'notification could not be delivered; giving up');
  return result(false, options.maxAttempts, error);

  function result(ok: boolean, attempts: number, err: string | null): DeliveryResult {
    return { ok, attempts, httpStatus, error: err, durationMs: Math.round(performance.now() - started) };
  }
}

/** Retry-After is either seconds or an HTTP date; capped so one sink cannot park a delivery for hours. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  const seconds = Number(v.trim());
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(v) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}

function backoff(baseMs: number, attempt: number): number {
  const jitter = 0.8 + Math.random() * 0.4;
  return Math.min(baseMs * 2 ** (attempt - 1), MAX_BACKOFF_MS) * jitter;
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT') {
    return `no answer within ${timeoutMs} ms`;
  }
  // Connection errors name host:port at most; strip any URL anyway, since its path is the secret.
  return (e.message ?? String(err)).replace(/https?:\/\/\S+/g, (u) => maskSecretUrl(u));
}

function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop.aborted) return resolve();
    const timer = setTimeout(done, ms);
    stop.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      stop.removeEventListener('abort', done);
      resolve();
    }
  });
}
