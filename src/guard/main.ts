// Entry point of the node guard in a Chroma node's container: `node guard/main.js chroma run ... --port 8001`
// starts the given command (the Chroma server, listening on localhost only) and the token check in front of
// it on PORT. Either ending ends both, so the platform restarts the container as one. Settings, read here
// because this file runs without chroma-ha's dependencies: NODE_TOKEN (required, at least 16 characters),
// PORT (8000), NODE_GUARD_UPSTREAM (http://127.0.0.1:8001).
import { spawn } from 'node:child_process';
import { startNodeGuard } from './node-guard.js';

function fail(message: string): never {
  process.stderr.write(`node-guard: ${message}\n`);
  process.exit(2);
}

const token = process.env.NODE_TOKEN?.trim() ?? '';
if (token.length < 16) fail('NODE_TOKEN is required (at least 16 characters): the token every request to this node must carry');
const port = Number(process.env.PORT ?? '8000');
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`PORT=${JSON.stringify(process.env.PORT)} is invalid: must be a port number`);
const upstream = process.env.NODE_GUARD_UPSTREAM ?? 'http://127.0.0.1:8001';
if (!/^http:\/\/[^/]+:\d+\/?$/.test(upstream)) fail(`NODE_GUARD_UPSTREAM=${JSON.stringify(upstream)} is invalid: must be http://host:port`);

const [command, ...args] = process.argv.slice(2);
const child = command ? spawn(command, args, { stdio: 'inherit' }) : null;
const guard = await startNodeGuard({ upstream, token, port, host: process.env.HOST ?? '0.0.0.0' });
process.stdout.write(`${JSON.stringify({ msg: `node guard listening on ${guard.port}, proxying to ${upstream}` })}\n`);

/** The signal we passed on to the server: its ending by that signal is a clean stop, not a crash. */
let forwarded: NodeJS.Signals | null = null;
child?.on('exit', (code, signal) => {
  const clean = code === 0 || (signal !== null && signal === forwarded);
  void guard.close().then(() => process.exit(clean ? 0 : (code ?? 1)));
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    forwarded = signal;
    if (child && child.exitCode === null) child.kill(signal);
    else void guard.close().then(() => process.exit(0));
  });
}
