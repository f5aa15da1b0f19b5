// HTTP spoken by hand over a real TCP socket, for what fetch cannot do: send headers and then stall,
// send an over-long request line, or watch when the server closes the connection.
import { connect } from 'node:net';

export interface RawAnswer {
  /** Status of the first response, or null when the server closed without answering. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** Milliseconds from the first byte sent until the server closed the connection. */
  closedAfterMs: number;
}

/** Sends `head` (and nothing more) and reads until the server closes the connection or `timeoutMs` passes. */
export function rawExchange(port: number, head: string, timeoutMs = 15_000): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parse(Buffer.concat(chunks).toString('utf8'), performance.now() - started));
    });
  });
}

function parse(text: string, closedAfterMs: number): RawAnswer {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return { status: null, headers: {}, body: text, closedAfterMs };
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((l) => [l.slice(0, l.indexOf(':')).trim().toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine ?? '')?.[1] ?? NaN);
  return { status: Number.isNaN(status) ? null : status, headers, body: text.slice(end + 4), closedAfterMs };
}
