// A plain TCP forwarder on a free port, in front of a real server (PostgreSQL in the tests), that a test
// can cut and restore: cut() stops listening and drops every open connection, so clients get a refused
// connection or a reset, exactly as if the server had gone away; restore() listens on the same port again.
// cutAfterRequest() cuts right after given requests went through: the server acts on them, the answer is lost.
// setDelay() holds every chunk, each way, for a while before passing it on (a slow network or a slow node).
import { createServer, connect, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private trap: { markers: Buffer[]; delayMs: number; sprung: () => void } | null = null;
  /** Set once a trap has sprung: nothing the server says reaches the client any more. */
  private answersLost = false;
  private delayMs = 0;
  /** The first line of every chunk a client sent that starts an HTTP request ("POST /path HTTP/1.1"). */
  readonly requestLines: string[] = [];

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
    public port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort, 0);
    await proxy.restore();
    return proxy;
  }

  get listening(): boolean {
    return this.server !== null;
  }

  /**
   * Arms a fault: once one connection has sent chunks containing each of `markers` in turn (say an INSERT
   * and then its COMMIT), the last one is delivered, every answer from then on is dropped, and everything is
   * cut `delayMs` later. Resolves when it has sprung.
   */
  cutAfterRequest(markers: Buffer[], delayMs: number): Promise<void> {
    return new Promise((sprung) => (this.trap = { markers, delayMs, sprung }));
  }

  /** Delays every chunk in each direction by `ms` from now on (0: none); order is kept. */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  /** Listens again (on the same port once it has one). */
  async restore(): Promise<void> {
    if (this.server) return;
    this.answersLost = false;
    const server = createServer((client) => this.pipe(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : this.port;
    this.server = server;
  }

  /** Stops listening and destroys every forwarded connection. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    let matched = 0;
    const toUpstream = this.delayed((chunk) => upstream.write(chunk));
    const toClient = this.delayed((chunk) => {
      if (!this.answersLost) client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      const line = chunk.subarray(0, 300).toString('latin1').split('\r\n', 1)[0]!;
      if (/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(line)) this.requestLines.push(line);
      toUpstream(chunk);
      const trap = this.trap;
      if (!trap || !chunk.includes(trap.markers[matched]!)) return;
      if (++matched < trap.markers.length) return;
      this.trap = null;
      this.answersLost = true;
      setTimeout(() => void this.cut().then(trap.sprung), trap.delayMs);
    });
    upstream.on('data', toClient);
  }

  /** Passes chunks on after the current delay, never before a chunk that came earlier. */
  private delayed(write: (chunk: Buffer) => void): (chunk: Buffer) => void {
    let releaseAt = 0;
    return (chunk) => {
      if (this.delayMs === 0 && releaseAt <= performance.now()) return write(chunk);
      releaseAt = Math.max(releaseAt, performance.now() + this.delayMs);
      setTimeout(() => write(chunk), releaseAt - performance.now());
    };
  }
}
