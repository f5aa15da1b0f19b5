// Process-level behaviour shared by the commands: readable start-up errors (never a stack trace for a
// configuration mistake) and a graceful exit on SIGTERM/SIGINT.
import { ConfigError } from '../config/load.js';
import type { Logger } from '../log/logger.js';

export async function runOrExit(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`chroma-ha: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`chroma-ha: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

export function exitOnSignals(logger: Logger | null, shutdown: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger?.info({ signal }, 'shutting down');
    shutdown()
      .then(() => process.exit(0))
      .catch((err) => {
        logger?.error({ err: (err as Error).message }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
