// Human-readable log lines for a terminal (`npm start`): pino's JSON line turned into
// `12:03:04 INFO  gateway listening on ... port=8000`. Only for a TTY; anything else (a platform's log
// collector, a file, a pipe) keeps one JSON object per line.
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, shown in the prefix or not at all. */
const SKIPPED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

export function formatLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = Number(entry.level);
  const time = new Date(Number(entry.time) || Date.now()).toTimeString().slice(0, 8);
  const label = LEVELS[level] ?? String(entry.level);
  const tag = color ? `\x1b[${COLORS[level] ?? '0'}m${label}\x1b[0m` : label;
  const fields = Object.entries(entry)
    .filter(([k]) => !SKIPPED.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const source = entry.name && entry.name !== 'chroma-ha' ? `[${String(entry.name)}] ` : '';
  return `${time} ${tag} ${source}${String(entry.msg ?? '')}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
}

/** A pino destination that writes formatted lines to a terminal stream. */
export function prettyDestination(out: NodeJS.WriteStream): DestinationStream {
  return { write: (line: string) => void out.write(formatLine(line, out.hasColors?.() ?? false)) };
}
