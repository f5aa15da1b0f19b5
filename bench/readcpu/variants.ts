// Proxy variants for the gateway-CPU-per-read study (bench/readcpu/run.ts), one per process:
// `node --import tsx bench/readcpu/variants.ts MODE TARGET PORT`. Each isolates one piece of the
// gateway's streamed read: how the answer is written to the client (per chunk, or gathered and sent with
// one end()), Nagle, and the undici pool options. GET /__stats reports onResponseData chunks per answer.
import { createServer, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';

const [mode, target, port] = process.argv.slice(2) as [string, string, string];
const pool = new Pool(target, {
  connections: mode.includes('pipe') ? 8 : 128,
  pipelining: mode.includes('pipe') ? 4 : 1,
  keepAliveTimeout: 4_000,
});
let answers = 0;
let chunks = 0;
let bytes = 0;
let fixed: Buffer | null = null;

function relay(res: ServerResponse, method: string, path: string, body: Buffer | undefined): void {
  const gathered: Buffer[] = [];
  let paused: Dispatcher.DispatchController | null = null;
  pool.dispatch(
    { method: method as Dispatcher.HttpMethod, path, body, headers: { 'content-type': 'application/json' } },
    {
      onRequestStart() {},
      onResponseStart(_c, status, headers) {
        const h: Record<string, string> = { 'content-type': String(headers['content-type'] ?? 'application/json') };
        if (mode.startsWith('gather')) {
          res.statusCode = status;
          res.setHeader('content-type', h['content-type']!);
        } else {
          if (headers['content-length']) h['content-length'] = String(headers['content-length']);
          res.writeHead(status, h);
        }
      },
      onResponseData(c, chunk) {
        chunks++;
        bytes += chunk.length;
        if (mode.startsWith('gather')) gathered.push(chunk);
        else if (!res.write(chunk)) {
          c.pause();
          paused = c;
          res.once('drain', () => paused?.resume());
        }
      },
      onResponseEnd() {
        answers++;
        if (mode.startsWith('gather')) {
          const all = gathered.length === 1 ? gathered[0]! : Buffer.concat(gathered);
          if (!fixed && res.statusCode === 200) fixed = all;
          res.setHeader('content-length', all.length);
          res.end(all);
        } else res.end();
      },
      onResponseError() {
        res.destroy();
      },
    },
  );
}

const server = createServer({ noDelay: !mode.includes('nagle') }, (req, res) => {
  if (req.url === '/__stats') {
    res.end(JSON.stringify({ answers, chunksPerAnswer: chunks / answers, bytesPerAnswer: bytes / answers }));
    return;
  }
  const parts: Buffer[] = [];
  req.on('data', (c: Buffer) => parts.push(c));
  req.on('end', () => {
    const body = parts.length ? Buffer.concat(parts) : undefined;
    // 'local': answers the bytes of the first real answer without asking Chroma (the Node floor).
    if (mode === 'local' && fixed) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': fixed.length });
      res.end(fixed);
      return;
    }
    if (mode === 'local') return relayOnce(res, req.method!, req.url!, body);
    relay(res, req.method!, req.url!, body);
  });
});
function relayOnce(res: ServerResponse, method: string, path: string, body: Buffer | undefined): void {
  void pool.request({ method: method as Dispatcher.HttpMethod, path, body, headers: { 'content-type': 'application/json' } }).then(async (r) => {
    fixed = Buffer.from(await r.body.arrayBuffer());
    res.writeHead(r.statusCode, { 'content-type': 'application/json', 'content-length': fixed.length });
    res.end(fixed);
  });
}
server.keepAliveTimeout = 65_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
