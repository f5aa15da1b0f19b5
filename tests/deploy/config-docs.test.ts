// The configuration reference is generated from the settings tables; these tests fail when
// docs/configuration.md, the README's table or the set of tables drift from the code.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { gatewaySettings, type Setting } from '../../src/config/settings.js';
import { SECTIONS, renderConfigurationDoc } from '../../scripts/config-doc.js';
import { ROOT, read } from './files.js';

const isSettingsTable = (v: unknown): v is Record<string, Setting> =>
  typeof v === 'object' &&
  v !== null &&
  Object.keys(v).length > 0 &&
  Object.values(v).every((s) => typeof s === 'object' && s !== null && 'env' in s && 'schema' in s && 'description' in s);

/** The README's configuration table: variable -> default cell. */
function readmeTable(): Map<string, string> {
  const rows = read('README.md')
    .split('\n')
    .map((l) => /^\| `([A-Z0-9_]+)` \|\s*([^|]*?)\s*\|/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  return new Map(rows.map((m) => [m[1]!, m[2]!.trim()]));
}

describe('configuration reference', () => {
  it('docs/configuration.md is what `npm run docs:config` generates from the settings tables', () => {
    expect(read('docs/configuration.md'), 'docs/configuration.md is stale: run `npm run docs:config`').toBe(renderConfigurationDoc());
  });

  it('documents every settings table in src/config', async () => {
    const documented = SECTIONS.map((s) => new Set(Object.keys(s.settings)));
    for (const file of readdirSync(join(ROOT, 'src/config')).filter((f) => f.endsWith('.ts'))) {
      const mod = (await import(pathToFileURL(join(ROOT, 'src/config', file)).href)) as Record<string, unknown>;
      for (const [name, table] of Object.entries(mod).filter(([, v]) => isSettingsTable(v))) {
        const keys = Object.keys(table as object);
        expect(
          documented.some((d) => keys.every((k) => d.has(k))),
          `src/config/${file} exports ${name}, which no section of docs/configuration.md covers (scripts/config-doc.ts)`,
        ).toBe(true);
      }
    }
  });

  it('the README table lists every gateway setting, and only those, with its default', () => {
    const readme = readmeTable();
    expect([...readme.keys()].sort()).toEqual(Object.keys(gatewaySettings).sort());
    for (const s of Object.values(gatewaySettings) as Setting[]) {
      if (s.default !== undefined) expect(readme.get(s.env), s.env).toBe(`\`${s.default}\``);
    }
  });
});
