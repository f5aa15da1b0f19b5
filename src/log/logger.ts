// The process-wide structured logger (pino, JSON lines on stdout; readable lines when stdout is a
// terminal). Credentials never reach it: header values that carry them are redacted by path, and URLs
// are passed through redactUrl by callers.
import { pino, type Logger } from 'pino';
import { prettyDestination } from './pretty.js';

export type { Logger };

export function createLogger(level: string, name = 'chroma-ha', out: NodeJS.WriteStream = process.stdout): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: ['headers.authorization', 'headers["x-chroma-token"]', 'req.headers.authorization', 'req.headers["x-chroma-token"]'],
      censor: '[redacted]',
    },
  };
  return out.isTTY ? pino(options, prettyDestination(out)) : pino(options);
}
