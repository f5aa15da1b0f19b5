// `chroma-ha gateway`: runs the gateway until SIGTERM/SIGINT, then drains and exits 0.
import { Command } from 'commander';
import { gatewaySettings } from '../config/settings.js';
import { loadGatewayConfig } from '../config/load.js';
import { Gateway } from '../gateway/gateway.js';
import { addSettingOptions, envWithFlags } from './options.js';
import { exitOnSignals, runOrExit } from './process.js';

export function gatewayCommand(): Command {
  const cmd = new Command('gateway').description('run the HA gateway in front of a primary and its replicas');
  addSettingOptions(cmd, gatewaySettings);
  cmd.action((opts: Record<string, unknown>) =>
    runOrExit(async () => {
      const config = loadGatewayConfig(envWithFlags(gatewaySettings, opts));
      const gateway = await Gateway.create(config);
      await gateway.start();
      exitOnSignals(gateway.logger, () => gateway.stop());
    }),
  );
  return cmd;
}
