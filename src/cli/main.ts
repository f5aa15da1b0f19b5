#!/usr/bin/env node
// The `chroma-ha` command line: one subcommand per role (gateway, dev, ...).
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { gatewayCommand } from './gateway-command.js';
import { devCommand } from './dev-command.js';
import { monitorCommand } from './monitor-command.js';
import { notifyCommand } from './notify-command.js';
import { failoverTestCommand } from './failover-test-command.js';
import { repairCommand, verifyCommand } from './admin-commands.js';
import { nodesCommand, switchoverCommand } from './member-commands.js';
import { backupCommand, restoreCommand } from './backup-commands.js';

const program = new Command('chroma-ha')
  .description('High availability for Chroma: gateway, replication log, health monitor')
  .version(VERSION);
program.addCommand(gatewayCommand());
program.addCommand(devCommand());
program.addCommand(monitorCommand());
program.addCommand(notifyCommand());
program.addCommand(failoverTestCommand());
program.addCommand(verifyCommand());
program.addCommand(nodesCommand());
program.addCommand(switchoverCommand());
program.addCommand(repairCommand());
program.addCommand(backupCommand());
program.addCommand(restoreCommand());

await program.parseAsync(process.argv);
