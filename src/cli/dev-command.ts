// `chroma-ha dev` (what `npm start` runs): a local primary, replica and gateway; Ctrl-C stops them all.
import { Command } from 'commander';
import { startLocalCluster } from '../dev/local-cluster.js';
import { exitOnSignals, runOrExit } from './process.js';

export function devCommand(): Command {
  return new Command('dev')
    .description('run a local primary and replica (real Chroma servers) and the gateway, for development')
    .option('--dir <path>', 'where node data, logs and the gateway store live', './.chroma-ha')
    .option('--replicas <n>', 'number of replicas', '1')
    .action((opts: { dir: string; replicas: string }) =>
      runOrExit(async () => {
        const cluster = await startLocalCluster({ baseDir: opts.dir, env: process.env, replicas: Number(opts.replicas) });
        const gw = `http://localhost:${cluster.gateway.port}`;
        const lines = [
          '',
          'chroma-ha dev cluster is running:',
          ...cluster.nodes.map((n, i) => `  ${i === 0 ? 'primary  ' : `replica-${i}`}  ${n.url}`),
          `  gateway    ${gw}   (point your Chroma client here)`,
          `  health     ${gw}/health`,
          `  status     ${gw}/status`,
          `  metrics    ${gw}/metrics`,
          `  monitor    http://localhost:${cluster.monitor.metricsPort}/metrics   (checks every ${cluster.monitor.config.checkIntervalMs / 1000} s)`,
          `  data       ${opts.dir}`,
          'Press Ctrl-C to stop everything.',
          '',
        ];
        process.stderr.write(lines.join('\n') + '\n');
        exitOnSignals(cluster.gateway.logger, () => cluster.stop());
      }),
    );
}
