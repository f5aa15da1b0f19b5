// `chroma-ha failover-test --url URL`: runs the failover test against a gateway and exits 0 when every check
// passed, 1 when one failed, 2 when the test could not run (bad options, not a chroma-ha gateway, nodes not
// ready). The timeline goes to stderr; the report to stdout (JSON with --json).
import { Command, InvalidArgumentError, Option } from 'commander';
import { runFailoverTest } from '../failover-test/run.js';
import { TargetError } from '../failover-test/gateway-client.js';
import { formatReport } from '../failover-test/report.js';

interface Options {
  url: string;
  killCmd?: string;
  restartCmd?: string;
  waitForManual?: boolean;
  header: string[];
  failoverTimeout: number;
  rejoinTimeout: number;
  hookTimeout: number;
  requestTimeout: number;
  writeInterval: number;
  readInterval: number;
  writesPerPhase: number;
  maxWriteErrors: number;
  maxReadErrors: number;
  json?: boolean;
}

const number = (min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`must be a number of at least ${min}`);
  return n;
};
const collect = (value: string, previous: string[]) => [...previous, value];

export function failoverTestCommand(): Command {
  return new Command('failover-test')
    .description(
      'check that reads and writes survive losing the primary: probe traffic through the gateway while the primary is stopped and brought back',
    )
    .requiredOption('--url <url>', 'URL of the chroma-ha gateway (the load balancer)')
    .option('--kill-cmd <command>', 'shell command that stops the primary ($FAILOVER_TEST_NODE_NAME, $FAILOVER_TEST_NODE_URL name it)')
    .option('--restart-cmd <command>', 'shell command that brings the old primary back (same variables)')
    .option('--wait-for-manual', 'ask the operator to stop and/or bring back the primary where no command is given (e.g. suspend/resume in the Render dashboard)')
    .option('--header <name:value>', 'extra request header, e.g. an auth token (repeatable)', collect, [])
    .addOption(new Option('--failover-timeout <s>', 'seconds to wait for the failover').argParser(number(1)).default(120))
    .addOption(new Option('--rejoin-timeout <s>', 'seconds to wait for the old primary to rejoin in sync').argParser(number(1)).default(300))
    .addOption(new Option('--hook-timeout <s>', 'seconds a kill or restart command may take').argParser(number(1)).default(120))
    .addOption(new Option('--request-timeout <s>', 'seconds one probe request may take').argParser(number(1)).default(60))
    .addOption(new Option('--write-interval <ms>', 'pause between probe writes').argParser(number(0)).default(50))
    .addOption(new Option('--read-interval <ms>', 'pause between probe reads').argParser(number(0)).default(50))
    .addOption(new Option('--writes-per-phase <n>', 'acknowledged writes needed before the stop, after the failover and after the rejoin').argParser(number(1)).default(10))
    .addOption(new Option('--max-write-errors <n>', 'failed probe writes tolerated').argParser(number(0)).default(0))
    .addOption(new Option('--max-read-errors <n>', 'failed or stale probe reads tolerated').argParser(number(0)).default(0))
    .option('--json', 'print the report as JSON on stdout')
    .action(async (opts: Options) => {
      const usage = usageError(opts);
      if (usage) return exit(2, `chroma-ha failover-test: ${usage}\n`);
      try {
        const report = await runFailoverTest({
          url: opts.url,
          killCmd: opts.killCmd,
          restartCmd: opts.restartCmd,
          waitForManual: opts.waitForManual ?? false,
          headers: Object.fromEntries(opts.header.map((h) => [h.slice(0, h.indexOf(':')).trim(), h.slice(h.indexOf(':') + 1).trim()])),
          failoverTimeoutMs: opts.failoverTimeout * 1000,
          rejoinTimeoutMs: opts.rejoinTimeout * 1000,
          hookTimeoutMs: opts.hookTimeout * 1000,
          requestTimeoutMs: opts.requestTimeout * 1000,
          writeIntervalMs: opts.writeInterval,
          readIntervalMs: opts.readInterval,
          writesPerPhase: opts.writesPerPhase,
          maxWriteErrors: opts.maxWriteErrors,
          maxReadErrors: opts.maxReadErrors,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
        exit(report.passed ? 0 : 1);
      } catch (err) {
        if (err instanceof TargetError) return exit(2, `chroma-ha failover-test: ${err.message}\n`);
        exit(1, `chroma-ha failover-test: ${(err as Error).message}\n`);
      }
    });
}

function usageError(opts: Options): string | null {
  try {
    const u = new URL(opts.url);
    if (!/^https?:$/.test(u.protocol)) return `--url must be an http:// or https:// URL, got ${opts.url}`;
  } catch {
    return `--url must be an absolute URL such as https://chroma-load-balancer.onrender.com, got ${opts.url}`;
  }
  if (!opts.killCmd && !opts.waitForManual) return 'say how the primary is stopped: --kill-cmd <command>, or --wait-for-manual to do it by hand';
  if (opts.header.some((h) => !/^[^:\s]+:/.test(h))) return '--header takes name:value';
  return null;
}

/** Sets the exit code once stdout/stderr are flushed (a hook may have left a process holding our pipes). */
function exit(code: number, message?: string): void {
  if (message) process.stderr.write(message);
  process.exitCode = code;
  process.stdout.write('', () => process.exit(code));
}
