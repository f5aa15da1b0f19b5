// Readers for the deployment files the deploy tests check against each other and against the settings
// tables: render.yaml, docker-compose.yml and the Dockerfiles (parsed with dockerfile-ast).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { readSetting, type Env } from '../../src/config/load.js';
import type { Setting } from '../../src/config/settings.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
/** YAML as Compose reads it: `<<:` merge keys are resolved. */
export const readYaml = (path: string): any => parse(read(path), { merge: true });

export interface DockerInstruction {
  keyword: string;
  /** Arguments without flags (`--from=...`, `--interval=...`). */
  args: string;
  flags: Record<string, string>;
  line: number;
}

export interface DockerStage {
  image: string;
  tag: string | null;
  name: string | null;
  instructions: DockerInstruction[];
}

export interface ParsedDockerfile {
  path: string;
  text: string;
  stages: DockerStage[];
  /** The stage that becomes the image. */
  final: DockerStage;
}

export function parseDockerfile(path: string): ParsedDockerfile {
  const text = read(path);
  const stages: DockerStage[] = [];
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    const keyword = ins.getKeyword().toUpperCase();
    const flags = Object.fromEntries(
      ('getFlags' in ins ? (ins as Instruction & { getFlags(): Array<{ getName(): string; getValue(): string | null }> }).getFlags() : []).map(
        (f) => [f.getName(), f.getValue() ?? ''],
      ),
    );
    const entry: DockerInstruction = { keyword, args: ins.getArgumentsContent() ?? '', flags, line: ins.getRange().start.line + 1 };
    if (keyword === 'FROM') {
      const from = ins as unknown as { getImageName(): string | null; getImageTag(): string | null; getBuildStage(): string | null };
      stages.push({ image: from.getImageName() ?? '', tag: from.getImageTag(), name: from.getBuildStage(), instructions: [entry] });
    } else {
      stages.at(-1)?.instructions.push(entry);
    }
  }
  return { path, text, stages, final: stages.at(-1)! };
}

export const instructions = (stage: DockerStage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);

/** The exec-form (JSON array) command of CMD/ENTRYPOINT/HEALTHCHECK CMD, or null for the shell form. */
export function execForm(args: string): string[] | null {
  const json = args.replace(/^CMD\s+/, '').trim();
  if (!json.startsWith('[')) return null;
  return JSON.parse(json) as string[];
}

/** Value of `--flag value` in an argument list. */
export function argValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** ENV of a stage, both `ENV A=1 B=2` and `ENV A 1` forms. */
export function stageEnv(stage: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions(stage, 'ENV')) {
    const pairs = i.args.match(/(\w+)=("[^"]*"|\S+)/g);
    if (pairs) for (const p of pairs) env[p.slice(0, p.indexOf('='))] = p.slice(p.indexOf('=') + 1).replace(/^"|"$/g, '');
    else {
      const [k, ...v] = i.args.split(/\s+/);
      env[k!] = v.join(' ');
    }
  }
  return env;
}

/** Checks one variable's value against its setting; returns the error message, or null when valid. */
export function settingError(setting: Setting, value: string): string | null {
  try {
    readSetting({ [setting.env]: value } as Env, setting);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Compose `${VAR}`, `${VAR:-default}`, `${VAR:?message}` interpolation with the given variables. */
export function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?:(:?[-?])([^}]*))?\}/g, (_, name: string, op: string | undefined, rest: string | undefined) => {
    const v = vars[name];
    if (v !== undefined && v !== '') return v;
    if (op?.endsWith('?')) throw new Error(`\${${name}} is required: ${rest}`);
    return op?.endsWith('-') ? (rest ?? '') : '';
  });
}

/** True when `path` matches a Render buildFilter glob (`*` within a segment, `**` across segments). */
export function globMatches(glob: string, path: string): boolean {
  const re = glob
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${re}$`).test(path);
}
