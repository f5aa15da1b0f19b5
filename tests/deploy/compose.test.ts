// docker-compose.yml against the settings tables, the Dockerfiles and render.yaml: the same topology with
// two replicas, volumes at the Chroma data path, health checks identical to the images', env vars the
// gateway and monitor know and accept, URLs that point at real services and ports, no secret in the file.
import { describe, expect, it } from 'vitest';
import { gatewaySettings, type Setting } from '../../src/config/settings.js';
import { monitorSettings, loadMonitorConfig } from '../../src/config/monitor-settings.js';
import { loadGatewayConfig, type Env } from '../../src/config/load.js';
import { argValue, execForm, instructions, interpolate, parseDockerfile, read, readYaml, settingError } from './files.js';

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
}

const compose = readYaml('docker-compose.yml') as { services: Record<string, ComposeService>; volumes: Record<string, unknown> };
const render = readYaml('render.yaml') as { services: Array<{ name: string; healthCheckPath?: string; envVars?: Array<{ key: string }> }> };
const services = compose.services;
const NODES = ['chroma-primary', 'chroma-replica-1', 'chroma-replica-2'];
const schemaFor: Record<string, Record<string, Setting>> = {
  'chroma-load-balancer': gatewaySettings,
  'chroma-monitor': monitorSettings,
};
/** What `docker compose` would see with a .env holding only the required password. */
const DOTENV = { POSTGRES_PASSWORD: 'pw-from-dotenv' };
const resolvedEnv = (name: string): Env =>
  Object.fromEntries(Object.entries(services[name]!.environment ?? {}).map(([k, v]) => [k, interpolate(String(v), DOTENV)]));
const dockerfileOf = (name: string) => parseDockerfile(services[name]!.build!.dockerfile);
const seconds = (duration: string) => Number(/^(\d+)s$/.exec(duration)![1]);

describe('docker-compose.yml', () => {
  it('runs a primary, two replicas, the gateway, the monitor and PostgreSQL, built from the repo\'s Dockerfiles', () => {
    expect(Object.keys(services).sort()).toEqual([...NODES, 'chroma-load-balancer', 'chroma-monitor', 'postgres'].sort());
    for (const n of NODES) expect(services[n]!.build?.dockerfile).toBe('Dockerfile');
    expect(services['chroma-load-balancer']!.build?.dockerfile).toBe('Dockerfile.loadbalancer');
    expect(services['chroma-monitor']!.build?.dockerfile).toBe('Dockerfile.monitor');
    expect(services.postgres!.image).toMatch(/^postgres:\d+/);
    // Every service Render runs is here too (its one replica became two).
    for (const r of render.services) expect(Object.keys(services).some((c) => c === r.name || c.startsWith(`${r.name}-`)), r.name).toBe(true);
  });

  it('keeps each node\'s data in its own named volume, mounted where the image persists', () => {
    const persistPath = argValue(execForm(instructions(dockerfileOf('chroma-primary').final, 'CMD')[0]!.args)!, '--path');
    const volumes = NODES.map((n) => {
      const [volume, mount] = services[n]!.volumes![0]!.split(':');
      expect(mount, n).toBe(persistPath);
      expect(Object.keys(compose.volumes)).toContain(volume);
      return volume;
    });
    expect(new Set(volumes).size).toBe(NODES.length);
    expect(services.postgres!.volumes![0]).toMatch(/^postgres-data:\/var\/lib\/postgresql\/data$/);
  });

  it('health-checks every service, with the same command the image declares', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck?.test, name).toBeDefined();
      if (!s.build) continue;
      const imageCheck = execForm(instructions(dockerfileOf(name).final, 'HEALTHCHECK')[0]!.args);
      expect(s.healthcheck!.test, name).toEqual(['CMD', ...imageCheck!]);
    }
    const renderHealth = Object.fromEntries(render.services.map((r) => [r.name, r.healthCheckPath]));
    expect(services['chroma-load-balancer']!.healthcheck!.test.at(-1)).toBe(renderHealth['chroma-load-balancer']);
    expect(services['chroma-primary']!.healthcheck!.test.join(' ')).toContain('GET /api/v2/heartbeat');
  });

  it('sets only variables the gateway and monitor know, with values they accept', () => {
    for (const [name, settings] of Object.entries(schemaFor)) {
      const env = resolvedEnv(name);
      for (const [key, value] of Object.entries(env)) {
        const setting = settings[key];
        expect(setting, `${name} sets ${key}, which its settings table does not define`).toBeDefined();
        if (value) expect(settingError(setting!, value), `${name} ${key}`).toBeNull();
        // Secrets only ever come from the environment or .env.
        if (setting!.secret) expect(services[name]!.environment![key], `${name} ${key}`).toMatch(/\$\{\w+/);
      }
    }
    expect(services.postgres!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    expect(() => interpolate(services.postgres!.environment!.POSTGRES_PASSWORD!, {})).toThrow(/POSTGRES_PASSWORD/);
  });

  it('points the gateway and the monitor at services and ports that exist', () => {
    const chromaPort = argValue(execForm(instructions(dockerfileOf('chroma-primary').final, 'CMD')[0]!.args)!, '--port');
    const gateway = loadGatewayConfig(resolvedEnv('chroma-load-balancer'));
    expect(gateway.nodes.map((n) => n.url)).toEqual(NODES.map((n) => `http://${n}:${chromaPort}`));
    const monitor = loadMonitorConfig(resolvedEnv('chroma-monitor'));
    expect(monitor.nodes.map((n) => n.url)).toEqual(gateway.nodes.map((n) => n.url));
    expect(monitor.gateway?.url).toBe(`http://chroma-load-balancer:${gateway.port}`);
    for (const url of [gateway.databaseUrl!, monitor.databaseUrl!]) {
      const u = new URL(url);
      expect(u.hostname).toBe('postgres');
      expect(u.username).toBe(services.postgres!.environment!.POSTGRES_USER);
      expect(u.pathname).toBe(`/${services.postgres!.environment!.POSTGRES_DB}`);
      expect(decodeURIComponent(u.password)).toBe(DOTENV.POSTGRES_PASSWORD);
    }
    // Only the gateway is published, on the port it listens on; the nodes stay on the Compose network.
    expect(services['chroma-load-balancer']!.ports!.map((p) => p.split(':').at(-1))).toEqual([String(gateway.port)]);
    for (const n of [...NODES, 'postgres']) expect(services[n]!.ports, n).toBeUndefined();
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
    }
  });

  it('gives the gateway a stop grace period longer than its drain', () => {
    const drain = Number(resolvedEnv('chroma-load-balancer').SHUTDOWN_TIMEOUT ?? gatewaySettings.SHUTDOWN_TIMEOUT.default);
    expect(seconds(services['chroma-load-balancer']!.stop_grace_period!)).toBeGreaterThan(drain);
  });

  it('uses the guide\'s variable names like render.yaml does', () => {
    // The node token belongs to the node guard of render.yaml's public-cloud nodes (an env group); Compose's
    // nodes are on a network nothing outside the host reaches, and run the plain image.
    const renderKeys = (name: string) =>
      new Set(render.services.find((r) => r.name === name)!.envVars!.map((e) => e.key).filter((k) => k !== undefined && k !== 'NODE_TOKEN'));
    for (const name of ['chroma-load-balancer', 'chroma-monitor']) {
      const composeKeys = new Set(Object.keys(services[name]!.environment!));
      for (const key of renderKeys(name)) {
        // Render wires one replica per variable (REPLICA_URL); Compose lists both in REPLICA_URLS.
        const expected = key === 'REPLICA_URL' ? 'REPLICA_URLS' : key;
        expect(composeKeys.has(expected), `${name}: render.yaml sets ${key}, docker-compose.yml does not`).toBe(true);
      }
    }
    expect(read('docker-compose.yml')).not.toMatch(/hooks\.slack\.com\/services\/\w|postgres(ql)?:\/\/\w+:\w+@/);
  });
});
