// A control: the smallest reasonable Node reverse proxy (node:http in, undici pool out, body streamed
// back), run as its own process in front of one Chroma server: `tsx bench/lib/plain-proxy.ts TARGET PORT`.
// Its cost next to direct Chroma is what any extra Node hop costs on this machine, so the gateway's own
// cost is what it adds on top of that.
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

function startPlainProxy(targetUrl: string, port: number): void {
  const upstream = new Pool(targetUrl, { connections: 128, keepAliveTimeout: 30_000 });
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const answer = await upstream.request({
        method: req.method as 'GET' | 'POST',
        path: req.url ?? '/',
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      res.writeHead(answer.statusCode, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') });
      await pipeline(answer.body, res);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => process.exit(0));
}

const [target, port] = process.argv.slice(2);
if (!target || !port) throw new Error('usage: tsx bench/lib/plain-proxy.ts TARGET_URL PORT');
startPlainProxy(target, Number(port));
