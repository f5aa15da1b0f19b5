// Builds dist/ once per test run, so tests that start `chroma-ha` as a child process run the compiled
// CLI (as production does) and start in well under a second instead of compiling TypeScript each time.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.build.json`], {
    cwd: root,
    stdio: 'inherit',
  });
}
