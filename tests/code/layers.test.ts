// Imports run one way (issue #11, "Code others can live in"): cli → gateway → routing → replication → store, a
// lower layer never imports a higher one; no two folders of src/ import each other (directly or round a
// longer loop, type imports included); the error catalogue depends on nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const CHAIN = ['cli', 'gateway', 'routing', 'replication', 'store'];

/** Every relative import of every file under src/, as [from, to] paths relative to src/. */
function imports(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) walk(path);
      else if (e.name.endsWith('.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?['"](\.{1,2}\/[^'"]+)['"]/gm)) {
          out.push([relative(SRC, path), relative(SRC, normalize(join(dirname(path), m[1]!)))]);
        }
      }
    }
  };
  walk(SRC);
  return out;
}

const folderOf = (path: string) => (path.includes('/') ? path.split('/')[0]! : '.');

describe('import layering of src/', () => {
  const all = imports();

  it('no layer of cli → gateway → routing → replication → store imports one above it', () => {
    const upward = all.filter(([from, to]) => {
      const [a, b] = [CHAIN.indexOf(folderOf(from)), CHAIN.indexOf(folderOf(to))];
      return a >= 0 && b >= 0 && b < a;
    });
    expect(upward.map(([from, to]) => `${from} -> ${to}`)).toEqual([]);
  });

  it('no folders import each other, even round a longer loop', () => {
    const graph = new Map<string, Set<string>>();
    for (const [from, to] of all) {
      if (folderOf(from) === folderOf(to)) continue;
      if (!graph.has(folderOf(from))) graph.set(folderOf(from), new Set());
      graph.get(folderOf(from))!.add(folderOf(to));
    }
    const reaches = (a: string, b: string, seen = new Set<string>()): boolean => {
      for (const next of graph.get(a) ?? []) {
        if (next === b) return true;
        if (!seen.has(next)) {
          seen.add(next);
          if (reaches(next, b, seen)) return true;
        }
      }
      return false;
    };
    const loops = [...graph.keys()].filter((f) => reaches(f, f));
    expect(loops).toEqual([]);
  });

  it('the error catalogue imports nothing of the project', () => {
    expect(all.filter(([from]) => from === 'errors/catalogue.ts')).toEqual([]);
  });
});
