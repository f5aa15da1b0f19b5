// The monitor as `chroma-ha dev` runs it: in-process, against the local nodes and gateway, checking every
// 5 s (unless CHECK_INTERVAL says otherwise), history under the dev directory, metrics on a free port.
import { join } from 'node:path';
import type { Env } from '../config/load.js';
import { loadMonitorConfig } from '../config/monitor-settings.js';
import type { Logger } from '../log/logger.js';
import { Monitor } from './monitor.js';

export async function startDevMonitor(options: { baseDir: string; env: Env; nodeUrls: string[]; gatewayPort: number; logger: Logger }): Promise<Monitor> {
  const config = loadMonitorConfig({
    CHECK_INTERVAL: '5',
    MONITOR_METRICS_PORT: '0',
    DATA_DIR: join(options.baseDir, 'monitor'),
    ...options.env,
    PRIMARY_URL: options.nodeUrls[0],
    REPLICA_URLS: options.nodeUrls.slice(1).join(','),
    REPLICA_URL: undefined,
    LOAD_BALANCER_URL: `http://127.0.0.1:${options.gatewayPort}`,
  });
  const monitor = await Monitor.create(config, { logger: options.logger.child({ component: 'monitor' }) });
  await monitor.start();
  return monitor;
}
