// A local HTTP server standing in for Slack or any webhook receiver: records every request (time, path,
// headers, body) and answers as the test scripts it: a status, headers such as Retry-After, a delay, or
// no answer at all (hang). close() also ends hanging requests, so nothing outlives the test.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { waitFor } from './cluster.js';

export interface ReceivedRequest {
  at: number;
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Parsed body, or undefined when it is not JSON. */
  json: any;
  /** Index among all requests this receiver got (0-based). */
  index: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Milliseconds to wait before answering. */
  delayMs?: number;
  /** Never answer (until the receiver closes). */
  hang?: boolean;
}

export type Responder = (req: ReceivedRequest) => Reply;

export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Requests currently held open by a hang or a delay. */
  open = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    public respond: Responder,
  ) {}

  /** Starts on a free port; by default answers 200 "ok" like Slack. */
  static async start(respond: Responder = () => ({ status: 200, body: 'ok' })): Promise<WebhookReceiver> {
    let receiver!: WebhookReceiver;
    const server = createServer((req, res) => void receiver.handle(req, res));
    server.on('connection', (s) => {
      receiver.sockets.add(s);
      s.once('close', () => receiver.sockets.delete(s));
    });
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      }),
    );
    receiver = new WebhookReceiver(server, port, respond);
    return receiver;
  }

  /** A URL on this receiver; the path looks like a secret Slack path so tests can check it is never logged. */
  url(path = '/services/T000/B000/secret-token-path'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests whose JSON body matches the predicate. */
  matching(predicate: (json: any, req: ReceivedRequest) => boolean): ReceivedRequest[] {
    return this.requests.filter((r) => r.json !== undefined && predicate(r.json, r));
  }

  async waitForRequests(count: number, what = `${count} request(s)`, timeoutMs = 15_000, predicate: (json: any) => boolean = () => true): Promise<ReceivedRequest[]> {
    return waitFor(`receiver to get ${what}`, () => {
      const got = this.matching(predicate);
      return got.length >= count ? got : null;
    }, timeoutMs);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    let json: any;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const received: ReceivedRequest = { at: Date.now(), method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, json, index: this.requests.length };
    this.requests.push(received);
    const reply = this.respond(received);
    if (reply.hang) {
      this.open++;
      res.once('close', () => this.open--);
      return;
    }
    const answer = () => {
      res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.body ?? 'ok');
    };
    if (!reply.delayMs) return answer();
    this.open++;
    res.once('close', () => this.open--);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      answer();
    }, reply.delayMs);
    this.timers.add(timer);
  }
}
