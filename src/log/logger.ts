// The process-wide structured logger (pino, JSON lines on stdout). Credentials never reach it:
// header values that carry them are redacted by path, and URLs are passed through redactUrl by callers.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'chroma-ha'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['headers.authorization', 'headers["x-chroma-token"]', 'req.headers.authorization', 'req.headers["x-chroma-token"]'],
      censor: '[redacted]',
    },
  });
}
