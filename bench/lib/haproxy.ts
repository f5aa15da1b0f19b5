// HAProxy as the reference load balancer: the Debian package (installed with apt-get when missing),
// configured with the same nodes and the same health checks as the gateway (HTTP GET of Chroma's
// heartbeat, `inter 1s fall 3 rise 2`, the gateway's CHECK_INTERVAL / FAILURE_THRESHOLD /
// RECOVERY_THRESHOLD defaults). A node listed as `backup` only serves while every other node is down.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitFor, type Harness } from '../../tests/helpers/cluster.js';

export interface HaproxyServer {
  name: string;
  url: string;
  backup?: boolean;
}

export interface Haproxy {
  url: string;
  pid: number;
  version: string;
}

/** The haproxy binary, installing the Debian package first when it is missing. */
export function haproxyBinary(log: (line: string) => void): string {
  const found = spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).stdout.trim();
  if (found) return found;
  log('haproxy is not installed: apt-get update && apt-get install -y haproxy');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'haproxy'], { stdio: 'ignore', env });
  } catch (err) {
    throw new Error(`could not install HAProxy with apt-get (needs root and the Debian mirrors): ${(err as Error).message}`);
  }
  // The package starts a system-wide instance on port 80; this benchmark runs its own.
  spawnSync('sh', ['-c', 'service haproxy stop || systemctl stop haproxy'], { stdio: 'ignore' });
  return spawnSync('sh', ['-c', 'command -v haproxy'], { encoding: 'utf8' }).stdout.trim() || '/usr/sbin/haproxy';
}

export async function startHaproxy(harness: Harness, binary: string, name: string, servers: HaproxyServer[]): Promise<Haproxy> {
  const port = await freePort();
  const lines = [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  option http-keep-alive',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    `frontend fe`,
    `  bind 127.0.0.1:${port}`,
    '  default_backend chroma',
    'backend chroma',
    '  balance roundrobin',
    '  option httpchk GET /api/v2/heartbeat',
    '  default-server inter 1s fall 3 rise 2',
    ...servers.map((s) => {
      const u = new URL(s.url);
      return `  server ${s.name} ${u.hostname}:${u.port} check maxconn 128${s.backup ? ' backup' : ''}`;
    }),
  ];
  const config = join(harness.dir, `${name}.cfg`);
  writeFileSync(config, lines.join('\n') + '\n');
  const child = harness.spawn(binary, ['-db', '-f', config]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`HAProxy (${name}) to forward heartbeats`, async () => {
    if (child.process.exitCode !== null) throw new Error(`haproxy exited: ${child.output()}`);
    const r = await fetch(`${url}/api/v2/heartbeat`, { signal: AbortSignal.timeout(1_000) });
    return r.ok;
  });
  const version = /version (\S+)/i.exec(spawnSync(binary, ['-v'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
  return { url, pid: child.process.pid!, version };
}
