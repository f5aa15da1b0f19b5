// Dockerfile lint. hadolint cannot be installed here (neither npm nor Debian ship it), so this is the
// documented checklist instead (docs/deploy-compose.md, "Dockerfile checklist"), applied to Dockerfile,
// Dockerfile.loadbalancer and Dockerfile.monitor. Syntax (unknown instructions, flags, malformed JSON)
// is checked by dockerfile-utils, the linter behind VS Code's Docker support; the rules below are
// hadolint's that apply (DL codes) plus this project's.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validate } from 'dockerfile-utils';
import { gatewaySettings } from '../../src/config/settings.js';
import { monitorSettings } from '../../src/config/monitor-settings.js';
import { freePort } from '../../src/dev/chroma-process.js';
import { ROOT, argValue, execForm, instructions, parseDockerfile, read, stageEnv, type ParsedDockerfile } from './files.js';

const ALL = ['Dockerfile', 'Dockerfile.guarded', 'Dockerfile.loadbalancer', 'Dockerfile.monitor'].map(parseDockerfile);
const NODE_IMAGES: Array<{ file: ParsedDockerfile; command: string; portSetting: { env: string; default?: string }; healthPath: string }> = [
  { file: parseDockerfile('Dockerfile.loadbalancer'), command: 'gateway', portSetting: gatewaySettings.PORT, healthPath: '/health' },
  { file: parseDockerfile('Dockerfile.monitor'), command: 'monitor', portSetting: monitorSettings.MONITOR_METRICS_PORT, healthPath: '/metrics' },
];
let help: string | undefined;
/** `chroma-ha --help` from dist/, built once per test run (tests/helpers/global-setup.ts) as `npm run build` does in the image. */
const cliHelp = () => (help ??= execFileSync(process.execPath, [join(ROOT, 'dist/cli/main.js'), '--help'], { encoding: 'utf8' }));
const stageNames = (f: ParsedDockerfile) => new Set(f.stages.map((s) => s.name).filter(Boolean));
const all = (f: ParsedDockerfile) => f.stages.flatMap((s) => s.instructions);

describe.each(ALL.map((f) => [f.path, f] as const))('%s (every Dockerfile)', (_, file) => {
  it('is valid Dockerfile syntax', () => {
    expect(validate(file.text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  it('pins every base image to an exact version (DL3006, DL3007)', () => {
    for (const s of file.stages) {
      if (stageNames(file).has(s.image)) continue;
      expect(s.tag, `${s.image} has no tag`).not.toBeNull();
      expect(s.tag, s.image).not.toBe('latest');
      expect(s.tag, `${s.image}:${s.tag} is not an exact x.y.z version`).toMatch(/^\d+\.\d+\.\d+(-[a-z0-9-]+)?$/);
    }
  });

  it('uses COPY not ADD, WORKDIR not cd, absolute WORKDIRs (DL3020, DL3003, DL3000)', () => {
    const ins = all(file);
    expect(ins.filter((i) => i.keyword === 'ADD')).toEqual([]);
    expect(ins.filter((i) => i.keyword === 'RUN' && /(^|&&|;)\s*cd\s/.test(i.args))).toEqual([]);
    for (const w of ins.filter((i) => i.keyword === 'WORKDIR')) expect(w.args).toMatch(/^\//);
    for (const r of ins.filter((i) => i.keyword === 'RUN' && /apt-get install/.test(i.args))) {
      expect(r.args).toMatch(/--no-install-recommends/); // DL3015
      expect(r.args).toMatch(/rm -rf \/var\/lib\/apt\/lists/); // DL3009
    }
  });

  it('runs one process in exec form, with a HEALTHCHECK, stopped by SIGTERM (DL3025)', () => {
    const final = file.final;
    const cmds = instructions(final, 'CMD');
    expect(cmds.length).toBe(1);
    for (const i of [...cmds, ...instructions(final, 'ENTRYPOINT')]) {
      const argv = execForm(i.args);
      expect(argv, `${i.keyword} must be a JSON array`).not.toBeNull();
      expect(argv!.join(' ')).not.toMatch(/&&|;|\s&\s|^(ba)?sh -c/);
    }
    const health = instructions(final, 'HEALTHCHECK');
    expect(health.length).toBe(1);
    expect(execForm(health[0]!.args), 'HEALTHCHECK CMD must be a JSON array').not.toBeNull();
    for (const s of instructions(final, 'STOPSIGNAL')) expect(s.args).toBe('SIGTERM');
  });

  it('puts no secret in the image and copies only files that exist and reach the build context', () => {
    for (const i of all(file).filter((x) => x.keyword === 'ENV' || x.keyword === 'ARG')) {
      expect(i.args, `line ${i.line}`).not.toMatch(/TOKEN|PASSWORD|SECRET|WEBHOOK|DATABASE_URL/i);
    }
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const c of all(file).filter((i) => i.keyword === 'COPY' && !i.flags.from)) {
      for (const src of c.args.split(/\s+/).slice(0, -1)) {
        expect(existsSync(join(ROOT, src)), `COPY ${src}`).toBe(true);
        expect(ignored.some((p) => src === p || src.startsWith(`${p}/`)), `${src} is excluded by .dockerignore`).toBe(false);
      }
    }
  });
});

describe('Dockerfile (Chroma node)', () => {
  const file = parseDockerfile('Dockerfile');
  const cmd = execForm(instructions(file.final, 'CMD')[0]!.args)!;

  it('is the official chromadb/chroma 1.x image', () => {
    expect(file.stages.length).toBe(1);
    expect(file.final.image).toBe('chromadb/chroma');
    expect(file.final.tag).toMatch(/^1\.\d+\.\d+$/);
  });

  it('sets the persist path explicitly, listens on all interfaces, and forwards signals through dumb-init', () => {
    expect(cmd[0]).toBe('run');
    expect(argValue(cmd, '--path')).toBe('/data');
    expect(argValue(cmd, '--host')).toBe('0.0.0.0');
    expect(execForm(instructions(file.final, 'ENTRYPOINT')[0]!.args)).toEqual(['dumb-init', '--', 'chroma']);
    expect(instructions(file.final, 'EXPOSE').map((i) => i.args)).toEqual([argValue(cmd, '--port')]);
  });

  it('health-checks the v2 heartbeat on the port the server listens on', () => {
    const check = execForm(instructions(file.final, 'HEALTHCHECK')[0]!.args)!.join(' ');
    expect(check).toContain(`/dev/tcp/127.0.0.1/${argValue(cmd, '--port')}`);
    expect(check).toContain('GET /api/v2/heartbeat');
  });
});

describe('Dockerfile.guarded (Chroma node behind the node guard)', () => {
  const file = parseDockerfile('Dockerfile.guarded');
  const plain = parseDockerfile('Dockerfile');
  const cmd = execForm(instructions(file.final, 'CMD')[0]!.args)!;
  const env = stageEnv(file.final);

  it('is the same pinned Chroma image as ./Dockerfile, plus the node binary of the build stage and the compiled guard', () => {
    expect([file.final.image, file.final.tag]).toEqual([plain.final.image, plain.final.tag]);
    const build = file.stages[0]!;
    expect(build.image).toBe('node');
    expect(build.tag).toMatch(/^20\.\d+\.\d+-bookworm/);
    const copies = instructions(file.final, 'COPY').map((c) => [c.flags.from, c.args]);
    expect(copies).toEqual([
      [build.name, '/usr/local/bin/node /usr/local/bin/node'],
      [build.name, '/app/dist/guard /guard'],
    ]);
    expect(existsSync(join(ROOT, 'dist/guard/main.js'))).toBe(true); // what `npm run build` makes of src/guard
  });

  it('runs the guard on PORT in front of Chroma on localhost, with the data path of ./Dockerfile', () => {
    expect(execForm(instructions(file.final, 'ENTRYPOINT')[0]!.args)).toEqual(['dumb-init', '--', 'node', '/guard/main.js']);
    expect(cmd.slice(0, 2)).toEqual(['chroma', 'run']);
    expect(argValue(cmd, '--path')).toBe(argValue(execForm(instructions(plain.final, 'CMD')[0]!.args)!, '--path'));
    expect(argValue(cmd, '--host')).toBe('127.0.0.1');
    expect(env.NODE_GUARD_UPSTREAM).toBe(`http://127.0.0.1:${argValue(cmd, '--port')}`);
    expect(instructions(file.final, 'EXPOSE').map((i) => i.args)).toEqual([env.PORT]);
  });

  it('health-checks the heartbeat through the guard, with the node token from the environment', () => {
    const check = execForm(instructions(file.final, 'HEALTHCHECK')[0]!.args)!.join(' ');
    expect(check).toContain(`/dev/tcp/127.0.0.1/${env.PORT}`);
    expect(check).toContain('GET /api/v2/heartbeat');
    expect(check).toMatch(/Authorization: Bearer %s.*"\$NODE_TOKEN"/);
  });
});

describe.each(NODE_IMAGES.map((n) => [n.file.path, n] as const))('%s (chroma-ha image)', (_, { file, command, portSetting, healthPath }) => {
  const build = file.stages[0]!;
  const final = file.final;

  it('is a multi-stage Node 20 build: npm ci, then npm run build, then production dependencies only', () => {
    expect(file.stages.length).toBeGreaterThanOrEqual(2);
    expect(build.image).toBe('node');
    expect(final.image).toBe('node');
    expect(build.tag).toMatch(/^20\.\d+\.\d+-/);
    expect(final.tag).toMatch(/^20\.\d+\.\d+-\w+-slim$/);
    expect(final.tag!.split('-')[0]).toBe(build.tag!.split('-')[0]); // same Node release in both
    const runs = instructions(build, 'RUN').map((r) => r.args);
    const ci = runs.findIndex((r) => /^npm ci\b/.test(r) && !/--omit=dev/.test(r));
    const compile = runs.findIndex((r) => /npm run build/.test(r));
    const prune = runs.findIndex((r) => /npm (prune|ci) .*--omit=dev/.test(r));
    expect(ci).toBeGreaterThanOrEqual(0);
    expect(compile).toBeGreaterThan(ci);
    expect(prune).toBeGreaterThanOrEqual(compile);
    expect(instructions(final, 'RUN').filter((r) => /\bnpm\b/.test(r.args))).toEqual([]);
    const copied = instructions(final, 'COPY').filter((c) => c.flags.from === build.name).map((c) => c.args.split(/\s+/)[0]);
    expect(copied).toEqual(expect.arrayContaining(['/app/node_modules', '/app/dist']));
  });

  it('runs as a non-root user that owns DATA_DIR', () => {
    const users = instructions(final, 'USER');
    expect(users.length).toBe(1);
    expect(users[0]!.args).not.toMatch(/^(root|0)(:|$)/);
    expect(users[0]!.line).toBeLessThan(instructions(final, 'CMD')[0]!.line);
    const dataDir = stageEnv(final).DATA_DIR!;
    expect(dataDir).toMatch(/^\//);
    expect(instructions(final, 'RUN').some((r) => r.args.includes(`chown ${users[0]!.args}:${users[0]!.args} ${dataDir}`))).toBe(true);
  });

  it(`starts one node process running \`chroma-ha ${command}\`, a command the CLI has`, () => {
    expect(execForm(instructions(final, 'CMD')[0]!.args)).toEqual(['node', 'dist/cli/main.js', command]);
    expect(cliHelp()).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });

  it('health-checks its own endpoint on the port its settings table gives, and exposes that port', () => {
    const check = execForm(instructions(final, 'HEALTHCHECK')[0]!.args)!;
    expect(check).toEqual(['node', 'scripts/docker-healthcheck.mjs', portSetting.env, portSetting.default, healthPath]);
    expect(instructions(final, 'EXPOSE').map((i) => i.args)).toEqual([portSetting.default]);
  });
});

describe('scripts/docker-healthcheck.mjs', () => {
  // Asynchronous: the HTTP server it probes runs in this process. A generous timeout: a loaded test machine
  // must not turn a 200 into a failed check.
  const run = (env: Record<string, string>, args: string[]) =>
    new Promise<number | null>((resolve) => {
      const childEnv = { ...process.env, HEALTHCHECK_TIMEOUT_MS: '30000', ...env };
      execFile(process.execPath, [join(ROOT, 'scripts/docker-healthcheck.mjs'), ...args], { env: childEnv }, (err) =>
        resolve(err ? (err.code as number) : 0),
      );
    });

  it('exits 0 on 200, 1 on another status or no listener, 2 on bad usage', async () => {
    // Paths answer with the status they name: /200, /503.
    const server = createServer((req, res) => res.writeHead(Number(req.url!.slice(1)) || 404).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = String((server.address() as { port: number }).port);
    const nothing = String(await freePort());
    try {
      const codes = await Promise.all([
        run({ PORT: port }, ['PORT', '1', '/200']),
        run({ PORT: port }, ['PORT', '1', '/503']),
        run({ HC_TEST_PORT: '' }, ['HC_TEST_PORT', port, '/200']), // unset variable: the default port
        run({ PORT: nothing }, ['PORT', port, '/200']), // the variable wins over the default
        run({}, ['PORT']),
      ]);
      expect(codes).toEqual([0, 1, 0, 1, 2]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
