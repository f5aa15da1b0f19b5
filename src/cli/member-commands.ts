// `chroma-ha nodes list|add|remove` and `chroma-ha switchover --to NAME`: membership changes and planned
// switchovers through a running gateway's admin API (bearer ADMIN_TOKEN, from --token or the environment).
// Exit 0 when done, 1 when the gateway refused (with its reason: unknown node, primary, behind, ...),
// 2 when it could not be asked.
import { Command } from 'commander';
import { adminCommand, callAdmin, type AdminOptions } from './admin-commands.js';
import { runOrExit } from './process.js';

interface NodeRow {
  name: string;
  url: string;
  role: string;
  health: string;
  lifecycle: string;
  syncState: string;
  drained: boolean;
  appliedPosition: number;
}

interface SwitchoverAnswer {
  from: string;
  to: string;
  epoch: number;
  writePauseMs: number;
  reason: string;
}

export function nodesCommand(): Command {
  const nodes = new Command('nodes').description('list, add and remove the cluster\'s nodes at run time (kept across gateway restarts)');
  nodes.addCommand(
    adminCommand('list', 'list the nodes with their role, health, lifecycle and position').action((opts: AdminOptions) =>
      runOrExit(async () => {
        const { nodes: rows } = await callAdmin<{ nodes: NodeRow[] }>(opts, '/admin/nodes', { method: 'GET' });
        for (const n of rows) {
          process.stdout.write(
            `${n.name.padEnd(14)} ${n.role.padEnd(8)} ${n.health.padEnd(8)} ${n.lifecycle.padEnd(10)} ${n.syncState.padEnd(9)} position ${n.appliedPosition}${n.drained ? ' drained' : ''}  ${n.url}\n`,
          );
        }
      }),
    ),
  );
  nodes.addCommand(
    adminCommand('add', 'add an empty or existing Chroma node: it is checked, filled by copy, then follows the log')
      .argument('<node-url>', 'the node\'s base URL, e.g. http://10.0.0.7:8000')
      .option('--name <name>', 'its name (default: the next free replica-N)')
      .action((nodeUrl: string, opts: AdminOptions & { name?: string }) =>
        runOrExit(async () => {
          const row = await callAdmin<NodeRow>(opts, '/admin/nodes', { body: { url: nodeUrl, name: opts.name }, refusals: true });
          process.stdout.write(`added ${row.name} (${row.url}): ${row.lifecycle}; it serves reads once in sync\n`);
        }),
      ),
  );
  nodes.addCommand(
    adminCommand('remove', 'remove a node: it gets no more reads or writes at once (the primary cannot be removed)')
      .argument('<name>', 'the node\'s name, as `nodes list` shows it')
      .action((name: string, opts: AdminOptions) =>
        runOrExit(async () => {
          await callAdmin(opts, `/admin/nodes/${encodeURIComponent(name)}`, { method: 'DELETE', refusals: true });
          process.stdout.write(`removed ${name}\n`);
        }),
      ),
  );
  return nodes;
}

export function switchoverCommand(): Command {
  return adminCommand('switchover', 'make the named node primary once it holds every acknowledged write (writes pause meanwhile, at most 2 s)')
    .requiredOption('--to <name>', 'the node to promote')
    .action((opts: AdminOptions & { to: string }) =>
      runOrExit(async () => {
        const r = await callAdmin<SwitchoverAnswer>(opts, '/admin/switchover', { body: { to: opts.to }, refusals: true });
        process.stdout.write(`switchover done: ${r.to} is primary (was ${r.from}, epoch ${r.epoch}); writes paused ${r.writePauseMs} ms\n`);
      }),
    );
}
