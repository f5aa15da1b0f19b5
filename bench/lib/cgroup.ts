// CPU quotas for the processes under test, standing in for separate machines of a given size: a cgroup v1
// `cpu` controller group per process (cpu.cfs_quota_us), or cgroup v2 cpu.max when v1 is not mounted.
// Needs write access to the cgroup tree (root, or a delegated subtree); without it the capped part of the
// benchmark is skipped with a message saying why.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PERIOD_US = 100_000;

export class CpuCaps {
  private readonly groups = new Map<string, string>();

  private constructor(
    readonly kind: 'cgroup v1' | 'cgroup v2',
    private readonly root: string,
    private readonly base: string,
  ) {}

  /** Opens a group tree for this run, or returns why CPU caps are not available. */
  static open(): CpuCaps | string {
    const name = `chroma-ha-bench-${process.pid}`;
    const v1 = '/sys/fs/cgroup/cpu';
    const tried: string[] = [];
    if (existsSync(join(v1, 'cpu.cfs_quota_us'))) {
      try {
        mkdirSync(join(v1, name));
        return new CpuCaps('cgroup v1', v1, join(v1, name));
      } catch (err) {
        tried.push(`cgroup v1 ${v1}: ${(err as Error).message}`);
      }
    } else tried.push(`cgroup v1: no cpu controller mounted at ${v1}`);
    for (const v2 of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
      const controllers = join(v2, 'cgroup.controllers');
      if (!existsSync(controllers)) continue;
      if (!readFileSync(controllers, 'utf8').split(/\s+/).includes('cpu')) {
        tried.push(`cgroup v2 ${v2}: the cpu controller is not available there (bound to cgroup v1?)`);
        continue;
      }
      try {
        writeFileSync(join(v2, 'cgroup.subtree_control'), '+cpu');
        mkdirSync(join(v2, name));
        writeFileSync(join(v2, name, 'cgroup.subtree_control'), '+cpu');
        return new CpuCaps('cgroup v2', v2, join(v2, name));
      } catch (err) {
        tried.push(`cgroup v2 ${v2}: ${(err as Error).message}`);
      }
    }
    return `no writable cgroup CPU controller (run as root, or delegate a cgroup): ${tried.join('; ')}`;
  }

  /** Puts the process into its own group (created on first use) with a quota of `cores`, or none (null). */
  set(label: string, pid: number, cores: number | null): void {
    let dir = this.groups.get(label);
    if (!dir) {
      dir = join(this.base, label);
      mkdirSync(dir, { recursive: true });
      this.groups.set(label, dir);
    }
    if (this.kind === 'cgroup v1') {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), cores === null ? '-1' : String(Math.round(cores * PERIOD_US)));
    } else {
      writeFileSync(join(dir, 'cpu.max'), `${cores === null ? 'max' : Math.round(cores * PERIOD_US)} ${PERIOD_US}`);
    }
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  }

  /** Moves every process still in a group back to the root group and removes the groups. */
  close(): void {
    for (const dir of [...this.groups.values(), this.base]) {
      try {
        const procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
        for (const p of procs) writeFileSync(join(this.root, 'cgroup.procs'), p);
        rmdirSync(dir);
      } catch {
        // already gone, or a process exited while moving: nothing left to undo
      }
    }
    this.groups.clear();
  }
}
