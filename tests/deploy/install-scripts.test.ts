// npm 11 blocks dependencies' install scripts unless package.json's `allowScripts` approves them, and ends
// `npm install` with a warning listing those it skipped (better-sqlite3 then has no native module). The
// lockfile marks every package with an install script (`hasInstallScript`): each must be approved, and
// nothing else, so a fresh install runs exactly the scripts the project needs and prints no warning.
import { describe, expect, it } from 'vitest';
import { read } from './files.js';

describe('install scripts', () => {
  const pkg = JSON.parse(read('package.json')) as { allowScripts?: Record<string, boolean> };
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; hasInstallScript?: boolean }> };
  const withScripts = Object.entries(lock.packages)
    .filter(([, p]) => p.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));

  it('approves every dependency with an install script in package.json allowScripts, and only those', () => {
    expect(withScripts.sort()).toEqual(['better-sqlite3', 'esbuild']);
    const approved = Object.entries(pkg.allowScripts ?? {})
      .filter(([, allowed]) => allowed === true)
      .map(([spec]) => spec.replace(/(?<=.)@.*$/, ''));
    expect(approved.sort()).toEqual(withScripts.sort());
  });
});
