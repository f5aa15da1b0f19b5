// A control for the read benchmark: the smallest reasonable Node reverse proxy (node:http in, undici
// pool out, body streamed back) in front of the direct Chroma server. Its ratio to direct is the cost
// of one extra Node hop on this machine, so the gateway's own cost is what it adds on top of that.
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';

export interface PlainProxy {
  url: string;
  close(): Promise<void>;
}

export async function startPlainProxy(targetUrl: string): Promise<PlainProxy> {
  const upstream = new Pool(targetUrl, { connections: 64, keepAliveTimeout: 30_000 });
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.close();
    },
  };
}
