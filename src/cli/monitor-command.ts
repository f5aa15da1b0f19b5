// `chroma-ha monitor`: the health monitor worker, until SIGTERM/SIGINT. `chroma-ha monitor report`: uptime per
// node and incidents for a period, read from the monitor's history (SQLite under DATA_DIR or DATABASE_URL).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { historySettings, loadHistoryConfig, loadMonitorConfig, monitorSettings } from '../config/monitor-settings.js';
import { ConfigError } from '../config/load.js';
import { Monitor } from '../monitor/monitor.js';
import { openHistoryStore } from '../monitor/history-store.js';
import { SQLITE_HISTORY_FILE } from '../monitor/history-sqlite.js';
import { buildReport, formatReport, parsePeriod } from '../monitor/report.js';
import { addSettingOptions, envWithFlags } from './options.js';
import { exitOnSignals, runOrExit } from './process.js';

export function monitorCommand(): Command {
  const cmd = new Command('monitor').description('run the health monitor: checks every node and the gateway, keeps history, sends notifications');
  addSettingOptions(cmd, monitorSettings);
  cmd.action((opts: Record<string, unknown>) =>
    runOrExit(async () => {
      const monitor = await Monitor.create(loadMonitorConfig(envWithFlags(monitorSettings, opts)));
      await monitor.start();
      exitOnSignals(monitor.logger, () => monitor.stop());
    }),
  );
  cmd.addCommand(reportCommand());
  return cmd;
}

function reportCommand(): Command {
  const cmd = new Command('report')
    .description('print uptime per node, incidents and notifications for a period')
    .option('--since <period>', 'the period ending now or at --to: 90m, 24h, 7d', '24h')
    .option('--from <time>', 'start of the period (ISO 8601); wins over --since')
    .option('--to <time>', 'end of the period (ISO 8601); default now')
    .option('--json', 'print the report as JSON');
  addSettingOptions(cmd, historySettings);
  cmd.action(() =>
    runOrExit(async () => {
      // Flags such as --data-dir may land on the parent `monitor` command: read both.
      const opts = cmd.optsWithGlobals() as Record<string, unknown> & { since: string; from?: string; to?: string; json?: boolean };
      const config = loadHistoryConfig(envWithFlags(historySettings, opts));
      const to = opts.to ? Date.parse(opts.to) : Date.now();
      if (!Number.isFinite(to)) throw new ConfigError(`--to=${JSON.stringify(opts.to)} is not a date (use ISO 8601, e.g. 2026-01-31T12:00:00Z)`);
      const period = parsePeriod(opts.since);
      const from = opts.from ? Date.parse(opts.from) : period === null ? NaN : to - period;
      if (!Number.isFinite(from)) {
        throw new ConfigError(opts.from ? `--from=${JSON.stringify(opts.from)} is not a date (use ISO 8601)` : `--since=${JSON.stringify(opts.since)} is not a period such as 90m, 24h or 7d`);
      }
      if (!config.databaseUrl && !existsSync(join(config.dataDir, SQLITE_HISTORY_FILE))) {
        throw new ConfigError(`no monitor history in DATA_DIR=${JSON.stringify(config.dataDir)} (${SQLITE_HISTORY_FILE} not found); point DATA_DIR or DATABASE_URL at the monitor's store`);
      }
      const store = await openHistoryStore(config);
      try {
        await store.init();
        const report = await buildReport(store, from, to);
        process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
      } finally {
        await store.close();
      }
    }),
  );
  return cmd;
}
