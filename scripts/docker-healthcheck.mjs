// Container health check for the chroma-ha images (Docker HEALTHCHECK, Compose): GET a local endpoint and
// exit 0 on 200, 1 otherwise. Usage: node docker-healthcheck.mjs PORT_VARIABLE DEFAULT_PORT PATH
// The port comes from the same variable the process listens on, so overriding it keeps the check right;
// HEALTHCHECK_TIMEOUT_MS overrides the 2.5 s request timeout.
const [portVariable, defaultPort, path] = process.argv.slice(2);
if (!portVariable || !defaultPort || !path?.startsWith('/')) {
  process.stderr.write('usage: node docker-healthcheck.mjs PORT_VARIABLE DEFAULT_PORT /path\n');
  process.exit(2);
}
const port = process.env[portVariable] || defaultPort;
// Below Docker's HEALTHCHECK --timeout (3 s) so a slow answer is reported as such, not killed.
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS) || 2_500;
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  process.exit(res.status === 200 ? 0 : 1);
} catch (err) {
  process.stderr.write(`health check of 127.0.0.1:${port}${path} failed: ${err.cause?.code ?? err.cause?.message ?? err.message}\n`);
  process.exit(1);
}
