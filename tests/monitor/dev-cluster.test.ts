// `npm start` (`chroma-ha dev`) brings up the monitor too: in-process, against the local nodes and the
// gateway, with its metrics endpoint answering and every target seen up; stopping the cluster stops it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalCluster, type LocalCluster } from '../../src/dev/local-cluster.js';
import { waitFor } from '../helpers/cluster.js';
import { scrape } from '../helpers/prometheus.js';

describe('chroma-ha dev runs the monitor', () => {
  let cluster: LocalCluster | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'chroma-ha-dev-'));
  afterEach(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('watches the local nodes and gateway and serves its metrics', async () => {
    cluster = await startLocalCluster({ baseDir: dir, env: { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent' } });
    const { monitor } = cluster;
    expect(monitor.config.checkIntervalMs).toBe(5_000);
    expect(monitor.config.gateway?.url).toBe(`http://127.0.0.1:${cluster.gateway.port}`);
    expect(monitor.config.nodes.map((n) => n.url)).toEqual(cluster.nodes.map((n) => n.url));
    const m = await waitFor('the monitor to see every target up', async () => {
      const s = await scrape(`http://127.0.0.1:${monitor.metricsPort}/metrics`);
      return s.value('chroma_ha_monitor_target_up') === 3 ? s : null;
    });
    expect(m.value('chroma_ha_monitor_target_up', { target: 'gateway', kind: 'gateway' })).toBe(1);
    expect(monitor.history.store.location).toBe(join(dir, 'monitor', 'monitor-history.sqlite'));
    const port = monitor.metricsPort;
    await cluster.stop();
    cluster = null;
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});
