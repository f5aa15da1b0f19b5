// `chroma-ha backup` and `chroma-ha restore`. Backup asks the gateway's admin API for a consistent snapshot
// and writes it to FILE.partial while reading it back chunk by chunk (progress on stderr, every checksum
// verified), renaming it to FILE only once the end chunk verified. Restore loads a file into an empty
// cluster through the gateway (src/backup/restore.ts). Exit codes: 0 done; 1 refused or failed (no replica
// to pin, a broken file, a non-empty target); 2 the gateway could not be asked (unreachable, wrong token).
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { withDefaultScheme } from '../config/settings.js';
import { readBackup, BackupBroken } from '../backup/reader.js';
import { GatewayUnreachable, RestoreFailed, restoreBackup, type RestoreReport } from '../backup/restore.js';
import { runOrExit } from './process.js';

interface BackupOptions {
  url: string;
  out: string;
  token?: string;
}

export function backupCommand(): Command {
  return new Command('backup')
    .description('stream a consistent snapshot of the cluster (every collection and record, and its log position) to a gzip file')
    .requiredOption('--url <url>', 'the gateway, e.g. http://localhost:8000')
    .requiredOption('--out <file>', 'the backup file to write')
    .option('--token <token>', 'admin token [env ADMIN_TOKEN]')
    .action((opts: BackupOptions) => runOrExit(() => backup(opts)));
}

async function backup(opts: BackupOptions): Promise<void> {
  const token = opts.token ?? process.env.ADMIN_TOKEN;
  if (!token) throw new ConfigError('no admin token: pass --token or set ADMIN_TOKEN');
  const started = performance.now();
  const res = await askGateway(opts.url, '/admin/backup', token);
  if (!res.ok) throw new Error(`the gateway refused the backup (${res.status}): ${errorMessage(await res.text())}`);
  const partial = `${opts.out}.partial`;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  const file = createWriteStream(partial);
  const check = new PassThrough();
  const fileHash = createHash('sha256');
  let bytes = 0;
  body.on('data', (b: Buffer) => {
    bytes += b.length;
    fileHash.update(b);
  });
  body.pipe(file);
  body.pipe(check);
  const progress = new Progress('backup');
  let summary = '';
  try {
    for await (const chunk of readBackup(check)) {
      if (chunk.t === 'header') {
        progress.total = chunk.records;
        process.stderr.write(`backup: ${chunk.source} pinned at log position ${chunk.position}: ${chunk.collections} collection(s), ${chunk.records} record(s)\n`);
        summary = `position ${chunk.position} (read from ${chunk.source})`;
      } else if (chunk.t === 'records') progress.add(chunk.ids.length, bytes);
      else if (chunk.t === 'end') summary = `${chunk.collections} collection(s), ${chunk.records} record(s), ${summary}`;
    }
    await finished(file);
  } catch (err) {
    body.destroy();
    file.destroy();
    await rm(partial, { force: true });
    const why = err instanceof BackupBroken ? `the stream from the gateway broke off or arrived damaged: ${err.message}` : (err as Error).message;
    throw new Error(`the backup did not complete (${opts.out} not written): ${why}`);
  }
  await rename(partial, opts.out);
  process.stdout.write(
    `backup written to ${opts.out}: ${summary}; ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `sha256 ${fileHash.digest('hex')}; peak RSS ${peakRssMb()} MB\n`,
  );
}

interface RestoreOptions {
  url: string;
  token?: string;
  clientToken?: string;
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('load a backup file into an EMPTY cluster through the gateway (replicated to every node)')
    .argument('<file>', 'the backup file')
    .requiredOption('--url <url>', 'the gateway, e.g. http://localhost:8000')
    .option('--token <token>', 'admin token: the target is first checked to be a chroma-ha gateway [env ADMIN_TOKEN]')
    .option('--client-token <token>', 'client token, when the gateway authenticates clients (CLIENT_AUTH_CREDENTIALS)')
    .action((path: string, opts: RestoreOptions) => runOrExit(() => restore(path, opts)));
}

async function restore(path: string, opts: RestoreOptions): Promise<void> {
  const url = withDefaultScheme(opts.url);
  const token = opts.token ?? process.env.ADMIN_TOKEN;
  if (token) {
    const res = await askGateway(url, '/admin/nodes', token, 'GET');
    if (!res.ok) throw new Error(`the gateway answered ${res.status}: ${errorMessage(await res.text())}`);
    const { nodes } = (await res.json()) as { nodes: Array<{ name: string; role: string }> };
    process.stderr.write(`restore: into ${nodes.length} node(s): ${nodes.map((n) => `${n.name} (${n.role})`).join(', ')}\n`);
  }
  const started = performance.now();
  const progress = new Progress('restore');
  let report: RestoreReport;
  try {
    report = await restoreBackup(createReadStream(path), {
      url,
      clientToken: opts.clientToken,
      onProgress: (p) => {
        progress.total = p.total;
        progress.set(p.records);
      },
    });
  } catch (err) {
    if (!(err instanceof RestoreFailed)) throw err;
    process.stderr.write(`chroma-ha: ${err.message}\n${formatRestored(err.report, 'restored before it stopped')}`);
    process.exit(err instanceof GatewayUnreachable ? 2 : 1);
  }
  process.stdout.write(formatRestored(report, `restore complete in ${((performance.now() - started) / 1000).toFixed(1)} s (peak RSS ${peakRssMb()} MB)`));
}

function formatRestored(r: RestoreReport, title: string): string {
  const lines = [`${title}: ${r.collections.length} collection(s), ${r.records} record(s)${r.position !== null ? ` from the backup of ${r.source} at log position ${r.position}` : ''}`];
  for (const c of r.collections) lines.push(`  ${c.collection}: ${c.records} of ${c.expected} record(s) (new id ${c.id})`);
  return lines.join('\n') + '\n';
}

/** Reaching the gateway at all: failures here are exit code 2, like `chroma-ha verify`. */
async function askGateway(base: string, path: string, token: string, method = 'POST'): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(new URL(path, withDefaultScheme(base)), { method, headers: { authorization: `Bearer ${token}` } });
  } catch (err) {
    throw new ConfigError(`cannot reach the gateway at ${base}: ${String((err as Error).cause ?? (err as Error).message)}`);
  }
  if (res.status === 401) throw new ConfigError('the gateway refused the admin token (401)');
  if (res.status === 404 && (await res.clone().text()).includes('disabled')) throw new ConfigError('the gateway has no admin API: it runs without ADMIN_TOKEN');
  return res;
}

function errorMessage(text: string): string {
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text.slice(0, 300);
  }
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** A progress line on stderr at most once a second, and a last one at the end. */
class Progress {
  total = 0;
  private done = 0;
  private last = 0;
  private readonly started = performance.now();

  constructor(private readonly what: string) {}

  add(records: number, bytes?: number): void {
    this.set(this.done + records, bytes);
  }

  set(records: number, bytes?: number): void {
    this.done = records;
    const now = performance.now();
    if (now - this.last < 1_000 && records < this.total) return;
    this.last = now;
    const rate = records / Math.max(0.001, (now - this.started) / 1000);
    const pct = this.total > 0 ? Math.floor((records / this.total) * 100) : 100;
    process.stderr.write(`${this.what}: ${records}/${this.total} records (${pct}%), ${Math.round(rate)} records/s${bytes !== undefined ? `, ${(bytes / 1e6).toFixed(1)} MB` : ''}\n`);
  }
}
