// `chroma-ha verify` and `chroma-ha repair`: call a running gateway's admin API (bearer ADMIN_TOKEN,
// from --token or the environment), print a readable report, and exit 0 only when the nodes are identical
// (verify) or the repair is done (repair); 1 when they are not, 2 when the gateway could not be asked.
import { Command } from 'commander';
import { ConfigError } from '../config/load.js';
import { withDefaultScheme } from '../config/settings.js';
import { runOrExit } from './process.js';

interface CollectionReport {
  collection: string;
  primaryCount: number;
  nodeCount: number;
  missing: number;
  extra: number;
  different: number;
  metadataDiffers: boolean;
  configurationDiffers?: boolean;
  examples: string[];
}
interface NodeReport {
  node: string;
  identical: boolean;
  unavailable: string | null;
  collectionsCompared: number;
  recordsCompared: number;
  missingTenants?: string[];
  missingDatabases?: string[];
  extraDatabases?: string[];
  missingCollections: string[];
  extraCollections: string[];
  collections: CollectionReport[];
}
interface VerifyReport {
  identical: boolean;
  position: number;
  primary: string;
  durationMs: number;
  nodes: NodeReport[];
}
interface RepairReport {
  done: boolean;
  repairs: Array<{ node: string; action: string; reason: string | null; collectionsCreated: number; collectionsDropped: number; recordsWritten: number; recordsDeleted: number }>;
  before: VerifyReport;
  after: VerifyReport | null;
}

export function verifyCommand(): Command {
  return adminCommand('verify', 'compare every node with the primary, collection by collection and record by record; exit 0 only when all are identical').action(
    (opts: AdminOptions) =>
      runOrExit(async () => {
        const report = await callAdmin<VerifyReport>(opts, '/admin/verify');
        process.stdout.write(formatVerify(report));
        process.exitCode = report.identical ? 0 : 1;
      }),
  );
}

export function repairCommand(): Command {
  return adminCommand('repair', 'make every replica identical to the primary (what verify reports); exit 0 when done').action((opts: AdminOptions) =>
    runOrExit(async () => {
      const report = await callAdmin<RepairReport>(opts, '/admin/repair');
      process.stdout.write(formatVerify(report.before));
      for (const r of report.repairs) {
        const what = `${r.collectionsCreated} collection(s) copied, ${r.collectionsDropped} dropped, ${r.recordsWritten} record(s) written, ${r.recordsDeleted} deleted`;
        process.stdout.write(`repair ${r.node}: ${r.action}${r.reason ? ` (${r.reason})` : ''}${r.action === 'repaired' ? `: ${what}` : ''}\n`);
      }
      if (report.after) process.stdout.write(`after repair:\n${formatVerify(report.after)}`);
      process.stdout.write(report.done ? 'Repair done.\n' : 'Repair NOT complete.\n');
      process.exitCode = report.done ? 0 : 1;
    }),
  );
}

export interface AdminOptions {
  url: string;
  token?: string;
}

/** A request the gateway understood and refused (400, 404, 409): its reason, for an exit code 1. */
export class AdminRefusal extends Error {}

export function adminCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .requiredOption('--url <url>', 'the gateway, e.g. http://localhost:8000')
    .option('--token <token>', 'admin token [env ADMIN_TOKEN]');
}

/**
 * Calls the admin API (POST unless told otherwise). With `refusals`, a 400/404/409 answer is an
 * AdminRefusal carrying the gateway's reason (the action was refused); otherwise any non-2xx is a ConfigError.
 */
export async function callAdmin<T>(opts: AdminOptions, path: string, init: { method?: string; body?: unknown; refusals?: boolean } = {}): Promise<T> {
  const token = opts.token ?? process.env.ADMIN_TOKEN;
  if (!token) throw new ConfigError('no admin token: pass --token or set ADMIN_TOKEN');
  const url = new URL(path, withDefaultScheme(opts.url)).toString();
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method ?? 'POST',
      headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (err) {
    throw new ConfigError(`cannot reach the gateway at ${opts.url}: ${(err as Error).cause ?? (err as Error).message}`);
  }
  const text = await res.text();
  if (res.status === 401) throw new ConfigError('the gateway refused the admin token (401)');
  if (res.status === 404 && text.includes('disabled')) throw new ConfigError('the gateway has no admin API: it runs without ADMIN_TOKEN');
  if (init.refusals && [400, 404, 409].includes(res.status)) throw new AdminRefusal(`refused (${res.status}): ${refusalMessage(text)}`);
  if (!res.ok) throw new ConfigError(`the gateway answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

function refusalMessage(text: string): string {
  try {
    return String((JSON.parse(text) as { message?: unknown }).message ?? text);
  } catch {
    return text.slice(0, 300);
  }
}

function formatVerify(r: VerifyReport): string {
  const out = [`verify against the primary ${r.primary} at log position ${r.position} (${(r.durationMs / 1000).toFixed(1)} s)`];
  for (const n of r.nodes) {
    if (n.unavailable) {
      out.push(`  ${n.node}: NOT COMPARED: ${n.unavailable}`);
      continue;
    }
    out.push(`  ${n.node}: ${n.identical ? 'identical' : 'DIFFERENT'} (${n.collectionsCompared} collection(s), ${n.recordsCompared} record(s) compared)`);
    for (const t of n.missingTenants ?? []) out.push(`    missing tenant ${t}`);
    for (const d of n.missingDatabases ?? []) out.push(`    missing database ${d}`);
    for (const d of n.extraDatabases ?? []) out.push(`    extra database ${d}`);
    for (const c of n.missingCollections) out.push(`    missing collection ${c}`);
    for (const c of n.extraCollections) out.push(`    extra collection ${c}`);
    for (const c of n.collections) {
      out.push(
        `    ${c.collection}: ${c.nodeCount} record(s) on ${n.node}, ${c.primaryCount} on the primary: ` +
          `${c.missing} missing, ${c.extra} extra, ${c.different} different${c.metadataDiffers ? ', collection metadata differs' : ''}${c.configurationDiffers ? ', collection configuration differs' : ''}` +
          (c.examples.length > 0 ? ` (e.g. ${c.examples.join(', ')})` : ''),
      );
    }
  }
  out.push(r.identical ? 'All nodes are identical.' : 'The nodes are NOT identical.');
  return out.join('\n') + '\n';
}
