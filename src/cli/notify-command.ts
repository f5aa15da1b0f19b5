// `chroma-ha notify test`: sends a test notification to every configured sink and says, per sink, whether it
// was accepted (exit 1 when any was not). `chroma-ha notify schema`: prints the JSON webhook payload's schema.
import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { loadNotifyConfig, notifySettings } from '../config/monitor-settings.js';
import { createLogger } from '../log/logger.js';
import { jsonPayloadSchema } from '../notify/json-payload.js';
import { describeSink, Notifier } from '../notify/notifier.js';
import { testAlert } from '../notify/test-alert.js';
import { addSettingOptions, envWithFlags } from './options.js';
import { runOrExit } from './process.js';

export function notifyCommand(): Command {
  const cmd = new Command('notify').description('notification tools: send a test notification, print the JSON payload schema');
  const test = new Command('test').description('send a test notification to every configured sink and report whether each accepted it');
  addSettingOptions(test, notifySettings);
  test.action((opts: Record<string, unknown>) =>
    runOrExit(async () => {
      const config = loadNotifyConfig(envWithFlags(notifySettings, opts));
      if (config.sinks.length === 0) {
        throw new ConfigError('no notification sink configured: set NOTIFICATION_WEBHOOK, SLACK_WEBHOOK_URLS or JSON_WEBHOOK_URLS');
      }
      // Per-attempt warnings would interleave with the answer below; the answer carries the errors.
      const notifier = new Notifier({ sinks: config.sinks, delivery: config.delivery, logger: createLogger('silent') });
      process.stdout.write(`Sending a test notification to ${config.sinks.length} sink(s), up to ${config.delivery.maxAttempts} attempt(s) each...\n`);
      const results = await notifier.sendAndWait(testAlert(config.clusterName));
      for (const [i, r] of results.entries()) {
        const sink = describeSink(config.sinks[i]!);
        const how = `${r.attempts} attempt(s), ${r.durationMs} ms`;
        process.stdout.write(r.ok ? `  accepted      ${sink}: HTTP ${r.httpStatus}, ${how}\n` : `  NOT accepted  ${sink}: ${r.error}, ${how}\n`);
      }
      const failed = results.filter((r) => !r.ok).length;
      process.stdout.write(failed === 0 ? 'Every sink accepted the test notification.\n' : `${failed} of ${results.length} sink(s) did not accept it.\n`);
      process.exitCode = failed === 0 ? 0 : 1;
    }),
  );
  cmd.addCommand(test);
  cmd.addCommand(
    new Command('schema').description('print the JSON Schema of the generic webhook payload (schemaVersion 1)').action(() => {
      process.stdout.write(`${JSON.stringify(jsonPayloadSchema, null, 2)}\n`);
    }),
  );
  return cmd;
}
