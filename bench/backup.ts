// `npm run bench:backup`: memory and time of `chroma-ha backup` and `chroma-ha restore` for one large
// collection (BENCH_BACKUP_RECORDS, default 50,000 × 384-d). Two Chroma nodes behind a gateway process are
// filled through the gateway; the backup CLI streams the snapshot to a file, then restores it into a fresh
// two-node cluster. Peak RSS of each CLI process (its own getrusage), and the gateway's RSS sampled every
// 100 ms during each operation, show that nothing holds the collection in memory. Writes
// bench/results/backup.md. Every process is stopped on the way out (the test harness's cleanup).
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Harness, PATIENT_PROBES } from '../tests/helpers/cluster.js';
import { waitStatusInSync } from '../tests/helpers/convergence.js';
import { fillThroughGateway, runCli, type CliResult } from '../tests/helpers/backup.js';
import { memoryMiB } from './lib/procstat.js';

const RECORDS = Number(process.env.BENCH_BACKUP_RECORDS ?? 50_000);
const DIMENSIONS = 384;
const TOKEN = 'bench-admin-token-0123456789abcdef';
const log = (line: string) => process.stderr.write(`${line}\n`);

async function gateway(h: Harness, name: string) {
  const nodes = await h.chromaCluster(2);
  const gw = await h.gatewayProcess(h.gatewayEnv(nodes, { ...PATIENT_PROBES, ADMIN_TOKEN: TOKEN, DATA_DIR: join(h.dir, name), WRITE_TIMEOUT: '60', REQUEST_TIMEOUT: '60', LOG_LEVEL: 'warn' }));
  await waitStatusInSync(gw.url, 60_000);
  return gw;
}

/** Runs the CLI while sampling the gateway's RSS; returns the CLI's result, wall time and the gateway's max RSS. */
async function measured(pid: number, args: string[]): Promise<{ r: CliResult; seconds: number; gatewayBefore: number; gatewayMax: number }> {
  const gatewayBefore = memoryMiB(pid).rss;
  let gatewayMax = gatewayBefore;
  const timer = setInterval(() => (gatewayMax = Math.max(gatewayMax, memoryMiB(pid).rss)), 100);
  const started = performance.now();
  const r = await runCli(args).finally(() => clearInterval(timer));
  if (r.code !== 0) throw new Error(`chroma-ha ${args[0]} failed (${r.code}): ${r.stderr}`);
  return { r, seconds: (performance.now() - started) / 1000, gatewayBefore, gatewayMax };
}

const peakOf = (r: CliResult) => Number(/peak RSS (\d+) MB/.exec(r.stdout)?.[1]);

async function main(): Promise<void> {
  const h = new Harness();
  try {
    const source = await gateway(h, 'source');
    log(`filling ${RECORDS} × ${DIMENSIONS}-d records through the gateway`);
    await fillThroughGateway(source.url, 'default_database', 'large', RECORDS, DIMENSIONS);
    await waitStatusInSync(source.url, 300_000);
    const file = join(h.dir, 'bench.backup.gz');
    log('backup');
    const b = await measured(source.process.pid!, ['backup', '--url', source.url, '--out', file, '--token', TOKEN]);
    const target = await gateway(h, 'target');
    log('restore');
    const r = await measured(target.process.pid!, ['restore', file, '--url', target.url, '--token', TOKEN]);
    const mb = statSync(file).size / 1e6;
    const rawMb = (RECORDS * DIMENSIONS * 4) / 1e6;
    const report = [
      `# Backup and restore: ${RECORDS.toLocaleString('en')} records × ${DIMENSIONS}-d (${new Date().toISOString()})`,
      '',
      `File: ${mb.toFixed(1)} MB gzip (the raw float32 embeddings alone are ${rawMb.toFixed(1)} MB).`,
      '',
      '| step | wall time | records/s | CLI peak RSS | gateway RSS before → max during |',
      '|---|---:|---:|---:|---:|',
      `| backup | ${b.seconds.toFixed(1)} s | ${Math.round(RECORDS / b.seconds)} | ${peakOf(b.r)} MB | ${b.gatewayBefore.toFixed(0)} → ${b.gatewayMax.toFixed(0)} MiB |`,
      `| restore | ${r.seconds.toFixed(1)} s | ${Math.round(RECORDS / r.seconds)} | ${peakOf(r.r)} MB | ${r.gatewayBefore.toFixed(0)} → ${r.gatewayMax.toFixed(0)} MiB |`,
      '',
      'Restore goes through the gateway\'s normal API (one 500-record `add` per chunk, logged and replicated to both nodes).',
      '',
    ].join('\n');
    process.stdout.write(report);
    writeFileSync(fileURLToPath(new URL('./results/backup.md', import.meta.url)), report);
  } finally {
    await h.cleanup();
  }
}

main().catch((err) => {
  log(`bench:backup failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
});
