// render.yaml against the guide's layout, the Dockerfiles and the settings tables: the services and their
// types (the Chroma nodes private, unlike the guide), disks at the Chroma image's data path, health-check
// paths, ports, env vars that the gateway and monitor know and accept (with Render's fromService hostport,
// env groups and generated values resolved as Render does), the node token every service shares, secrets.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { gatewaySettings, type Setting } from '../../src/config/settings.js';
import { monitorSettings, loadMonitorConfig } from '../../src/config/monitor-settings.js';
import { loadGatewayConfig, type Env } from '../../src/config/load.js';
import { ROOT, argValue, execForm, globMatches, instructions, parseDockerfile, read, readYaml, settingError, stageEnv } from './files.js';

interface EnvVar {
  key: string;
  value?: string;
  sync?: boolean;
  generateValue?: boolean;
  fromGroup?: string;
  fromService?: { type: string; name: string; property?: string; envVarKey?: string };
  fromDatabase?: { name: string; property: string };
}
interface Service {
  type: string;
  name: string;
  runtime: string;
  plan: string;
  dockerfilePath: string;
  healthCheckPath?: string;
  maxShutdownDelaySeconds?: number;
  autoDeploy?: boolean;
  buildFilter?: { paths: string[] };
  envVars?: EnvVar[];
  disk?: { name: string; mountPath: string; sizeGB: number };
}

const blueprint = readYaml('render.yaml') as {
  services: Service[];
  databases: Array<{ name: string; plan: string }>;
  envVarGroups: Array<{ name: string; envVars: EnvVar[] }>;
};
const service = (name: string) => {
  const s = blueprint.services.find((x) => x.name === name);
  if (!s) throw new Error(`render.yaml has no service ${name}`);
  return s;
};
/** A service's env vars as Render gives them: its own, plus those of every env group it names. */
const varsOf = (s: Service): EnvVar[] =>
  (s.envVars ?? []).flatMap((e) => {
    if (!e.fromGroup) return [e];
    const group = blueprint.envVarGroups.find((g) => g.name === e.fromGroup);
    if (!group) throw new Error(`${s.name} names env group ${e.fromGroup}, which render.yaml does not define`);
    return group.envVars;
  });
const envOf = (s: Service) => new Map(varsOf(s).map((e) => [e.key, e]));
const CHROMA_NODES = ['chroma-primary', 'chroma-replica'];
const schemaFor: Record<string, Record<string, Setting>> = {
  'chroma-load-balancer': gatewaySettings,
  'chroma-monitor': monitorSettings,
};
/** The port a Chroma node answers on: the node guard's PORT in Dockerfile.guarded. */
const chromaPort = () => Number(stageEnv(parseDockerfile('Dockerfile.guarded').final).PORT);

/** What Render puts in an env var: fromService hostport is `<internal host>:<port the service listens on>`. */
function resolve(e: EnvVar): string | undefined {
  if (e.value !== undefined) return String(e.value);
  if (e.fromService?.property === 'hostport') {
    const target = service(e.fromService.name);
    return `${target.name}-d0c1:${envOf(target).get('PORT')?.value}`;
  }
  if (e.fromDatabase) return `postgresql://chroma_ha:pw@dpg-d0c1-a/${e.fromDatabase.name.replace(/-/g, '_')}`;
  // Render generates a random 256-bit value, base64-encoded; the same value everywhere a group is used.
  if (e.generateValue) return Buffer.from(`${e.key}-generated-by-render-0123456789`).toString('base64');
  return undefined; // sync: false, filled in the dashboard
}

describe('render.yaml', () => {
  it('has the guide\'s services, each built from a Dockerfile that exists', () => {
    const layout = blueprint.services.map((s) => [s.name, s.type]);
    expect(layout).toEqual([
      ['chroma-primary', 'pserv'],
      ['chroma-replica', 'pserv'],
      ['chroma-load-balancer', 'web'],
      ['chroma-monitor', 'worker'],
    ]);
    for (const s of blueprint.services) {
      expect(s.runtime).toBe('docker');
      expect(s.plan).toBe('starter');
      expect(existsSync(join(ROOT, s.dockerfilePath)), s.dockerfilePath).toBe(true);
    }
    expect(service('chroma-primary').dockerfilePath).toBe('./Dockerfile.guarded');
    expect(service('chroma-replica').dockerfilePath).toBe('./Dockerfile.guarded');
    expect(service('chroma-load-balancer').dockerfilePath).toBe('./Dockerfile.loadbalancer');
    expect(service('chroma-monitor').dockerfilePath).toBe('./Dockerfile.monitor');
  });

  it('gives each Chroma node a disk where the image keeps its data, and port 8000, as a private service', () => {
    const cmd = execForm(instructions(parseDockerfile('Dockerfile.guarded').final, 'CMD')[0]!.args)!;
    const persistPath = argValue(cmd, '--path');
    expect(persistPath).toBe('/data');
    for (const name of CHROMA_NODES) {
      const s = service(name);
      // Private: no public URL, so nothing on the internet can write to a node and bypass the log. Render
      // checks private services over TCP only: an HTTP health-check path would be ignored.
      expect(s.type).toBe('pserv');
      expect(s.healthCheckPath).toBeUndefined();
      expect(s.disk?.mountPath, name).toBe(persistPath);
      expect(s.disk!.sizeGB).toBeGreaterThan(0);
      expect(envOf(s).get('PORT')?.value).toBe(String(chromaPort()));
      // A code push must not restart both nodes at once.
      expect(s.autoDeploy).toBe(false);
      expect(s.buildFilter?.paths).toEqual(['Dockerfile.guarded', 'src/guard/**']);
    }
  });

  it('gives every node, the gateway and the monitor the same generated node token; the gateway\'s checks and writes send it', () => {
    const group = blueprint.envVarGroups.find((g) => g.name === 'chroma-node-token')!;
    expect(group.envVars).toEqual([{ key: 'NODE_TOKEN', generateValue: true }]);
    for (const s of blueprint.services) {
      expect((s.envVars ?? []).some((e) => e.fromGroup === group.name), `${s.name} gets the node token`).toBe(true);
      expect((s.envVars ?? []).filter((e) => e.key === 'NODE_TOKEN'), `${s.name} must not override the shared token`).toEqual([]);
    }
    // The gateway loaded from the blueprint sends the token to every node on every request of its own
    // (health checks, reads, writes: NodeClient adds the node's authHeaders) and never forwards a client's.
    const resolved = (name: string): Env => Object.fromEntries(varsOf(service(name)).map((e) => [e.key, resolve(e)]));
    const token = resolve(group.envVars[0]!)!;
    const gateway = loadGatewayConfig(resolved('chroma-load-balancer'));
    expect(gateway.nodes.map((n) => n.authHeaders)).toEqual(CHROMA_NODES.map(() => ({ authorization: `Bearer ${token}` })));
    expect(gateway.ownNodeCredentials).toBe(true);
    // Clients authenticate at the gateway with a generated token of their own.
    expect(envOf(service('chroma-load-balancer')).get('CLIENT_AUTH_CREDENTIALS')).toEqual({ key: 'CLIENT_AUTH_CREDENTIALS', generateValue: true });
    expect(gateway.clientTokens).toHaveLength(1);
    expect(gateway.clientTokens![0]).not.toBe(token);
    const monitor = loadMonitorConfig(resolved('chroma-monitor'));
    expect(monitor.nodes.map((n) => n.authHeaders)).toEqual(gateway.nodes.map((n) => n.authHeaders));
  });

  it('runs the gateway on port 8000 with /health as health check and a drain shorter than Render\'s grace period', () => {
    const lb = service('chroma-load-balancer');
    expect(lb.healthCheckPath).toBe('/health');
    const port = envOf(lb).get('PORT')?.value;
    expect(port).toBe('8000');
    const image = parseDockerfile('Dockerfile.loadbalancer').final;
    expect(instructions(image, 'EXPOSE').map((i) => i.args)).toContain(port);
    expect(stageEnv(image).PORT).toBe(port);
    const healthCmd = execForm(instructions(image, 'HEALTHCHECK')[0]!.args)!;
    expect(healthCmd.at(-1)).toBe(lb.healthCheckPath);
    const drain = Number(envOf(lb).get('SHUTDOWN_TIMEOUT')?.value ?? gatewaySettings.SHUTDOWN_TIMEOUT.default);
    expect(drain).toBeLessThan(lb.maxShutdownDelaySeconds ?? 30);
    expect(lb.disk).toBeUndefined(); // a disk would turn off zero-downtime deploys
  });

  it('sets only variables the gateway and monitor know, with values they accept', () => {
    for (const [name, settings] of Object.entries(schemaFor)) {
      for (const e of varsOf(service(name))) {
        const setting = settings[e.key];
        expect(setting, `${name} sets ${e.key}, which its settings table does not define`).toBeDefined();
        const value = resolve(e);
        if (value !== undefined) expect(settingError(setting!, value), `${name} ${e.key}`).toBeNull();
      }
    }
  });

  it('wires service addresses and the database with fromService/fromDatabase, and they load as full URLs', () => {
    const names = new Set(blueprint.services.map((s) => s.name));
    const databases = new Set(blueprint.databases.map((d) => d.name));
    for (const s of blueprint.services) {
      for (const e of varsOf(s)) {
        if (/_URLS?$/.test(e.key) && e.key !== 'DATABASE_URL') {
          expect(e.fromService, `${s.name} ${e.key} must come from fromService, not a hard-coded URL`).toBeDefined();
        }
        if (e.fromService) {
          expect(names.has(e.fromService.name), `${s.name} ${e.key} -> ${e.fromService.name}`).toBe(true);
          expect(e.fromService.type).toBe(service(e.fromService.name).type);
        }
        if (e.fromDatabase) {
          expect(databases.has(e.fromDatabase.name)).toBe(true);
          expect(e.key).toBe('DATABASE_URL');
          expect(e.fromDatabase.property).toBe('connectionString');
        }
      }
    }
    const resolved = (name: string): Env => Object.fromEntries(varsOf(service(name)).map((e) => [e.key, resolve(e)]));
    const gateway = loadGatewayConfig(resolved('chroma-load-balancer'));
    expect(gateway.nodes.map((n) => n.url)).toEqual([`http://chroma-primary-d0c1:${chromaPort()}`, `http://chroma-replica-d0c1:${chromaPort()}`]);
    expect(gateway.port).toBe(8000);
    expect(gateway.databaseUrl).toMatch(/^postgresql:\/\//);
    const monitor = loadMonitorConfig(resolved('chroma-monitor'));
    expect(monitor.nodes.map((n) => n.url)).toEqual(gateway.nodes.map((n) => n.url));
    expect(monitor.gateway?.url).toBe(`http://chroma-load-balancer-d0c1:${gateway.port}`);
    expect(monitor.databaseUrl).toBe(gateway.databaseUrl);
  });

  it('reads a bare host:port as http://host:port, and still rejects what is not a node URL', () => {
    const config = loadGatewayConfig({ PRIMARY_URL: 'chroma-primary-d0c1:8000', REPLICA_URLS: ' https://b.example.com , user:pw@chroma-replica-d0c1:8000' });
    expect(config.nodes.map((n) => n.url)).toEqual(['http://chroma-primary-d0c1:8000', 'https://b.example.com', 'http://chroma-replica-d0c1:8000']);
    expect(config.nodes[2]!.authHeaders.authorization).toBe(`Basic ${Buffer.from('user:pw').toString('base64')}`);
    expect(() => loadGatewayConfig({ PRIMARY_URL: 'ftp://chroma-primary:21' })).toThrow(/PRIMARY_URL=.* must use http:\/\/ or https:\/\//);
    expect(() => loadGatewayConfig({ PRIMARY_URL: 'chroma primary:8000' })).toThrow(/PRIMARY_URL=.* is invalid/);
    expect(() => loadMonitorConfig({ PRIMARY_URL: 'a:8000', LOAD_BALANCER_URL: 'chroma-load-balancer:notaport' })).toThrow(/LOAD_BALANCER_URL/);
  });

  it('declares the secrets sync: false or generated, and never writes a secret value', () => {
    for (const s of blueprint.services) {
      for (const e of varsOf(s)) {
        const setting = schemaFor[s.name]?.[e.key];
        if (setting?.secret || e.key === 'NODE_TOKEN') {
          expect(e.value, `${s.name} ${e.key} is secret: no literal value`).toBeUndefined();
          expect(e.sync === false || e.fromDatabase !== undefined || e.generateValue === true, `${s.name} ${e.key}: sync: false, generated or fromDatabase`).toBe(true);
        }
      }
    }
    expect(envOf(service('chroma-load-balancer')).get('ADMIN_TOKEN')?.sync).toBe(false);
    expect(envOf(service('chroma-monitor')).get('NOTIFICATION_WEBHOOK')?.sync).toBe(false);
    expect(read('render.yaml')).not.toMatch(/hooks\.slack\.com\/services\/\w|postgres(ql)?:\/\/\w+:\w+@/);
  });

  it('rebuilds the gateway and monitor when a file their image copies changes', () => {
    for (const name of ['chroma-load-balancer', 'chroma-monitor']) {
      const s = service(name);
      const dockerfile = parseDockerfile(s.dockerfilePath.replace(/^\.\//, ''));
      const copied = dockerfile.stages
        .flatMap((st) => instructions(st, 'COPY'))
        .filter((c) => !c.flags.from)
        .flatMap((c) => c.args.split(/\s+/).slice(0, -1));
      for (const path of [...copied.map((p) => (p === 'src' ? 'src/cli/main.ts' : p)), dockerfile.path]) {
        expect(s.buildFilter!.paths.some((g) => globMatches(g, path)), `${name} buildFilter misses ${path}`).toBe(true);
      }
    }
  });

  it('is what docs/deploy-render.md describes: services, secrets, paths, image', () => {
    const doc = read('docs/deploy-render.md');
    for (const name of [...blueprint.services.map((x) => x.name), ...blueprint.databases.map((d) => d.name)]) expect(doc).toContain(`\`${name}\``);
    for (const e of blueprint.services.flatMap(varsOf).filter((e) => e.sync === false || e.generateValue)) expect(doc).toContain(`\`${e.key}\``);
    for (const path of ['/api/v2/heartbeat', '/health', '/data', 'pserv', 'Dockerfile.guarded']) expect(doc).toContain(path);
    const image = parseDockerfile('Dockerfile').final;
    for (const file of ['docs/deploy-render.md', 'docs/deploy-compose.md', 'docs/chroma-notes.md']) {
      const named = [...read(file).matchAll(/chromadb\/chroma:(\d+\.\d+\.\d+)/g)].map((m) => m[1]);
      expect(named.length, file).toBeGreaterThan(0);
      expect(new Set(named), `${file} names another Chroma image than Dockerfile`).toEqual(new Set([image.tag]));
    }
  });

  it('states the monthly cost, and the items add up to the total', () => {
    const text = read('render.yaml');
    expect(text).toMatch(/Monthly cost on starter plans/);
    expect(text).toMatch(/Adding a second replica/);
    const block = text.slice(text.indexOf('Monthly cost'), text.indexOf('# total'));
    const items = [...block.matchAll(/\$(\d+\.\d\d)\s*$/gm)].map((m) => Number(m[1]));
    expect(items.length).toBe(blueprint.services.length + 2); // every service, the disks, the database
    const total = Number(/total\s+~\$(\d+\.\d\d)/.exec(text)![1]);
    expect(items.reduce((a, b) => a + b, 0)).toBeCloseTo(total, 2);
  });
});
