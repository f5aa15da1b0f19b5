// Turns a settings table into commander options and back into an env-like map, so every setting can be
// given as an environment variable or as a flag (the flag wins).
import { Command, Option } from 'commander';
import { flagName, type Setting } from '../config/settings.js';
import type { Env } from '../config/load.js';

export function addSettingOptions(cmd: Command, settings: Record<string, Setting>): Command {
  for (const s of Object.values(settings)) {
    cmd.addOption(new Option(`--${flagName(s.env)} <value>`, `${s.description} [env ${s.env}]`));
  }
  return cmd;
}

/** process.env overlaid with the flags that were given. */
export function envWithFlags(settings: Record<string, Setting>, opts: Record<string, unknown>, env: Env = process.env): Env {
  const merged: Env = { ...env };
  for (const s of Object.values(settings)) {
    const key = flagName(s.env).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    const v = opts[key];
    if (typeof v === 'string') merged[s.env] = v;
  }
  return merged;
}
