/**
 * One cgroup per session, holding every process of the sandbox from the
 * first one on, with limits on pids, memory and CPU; and its teardown.
 *
 * Both cgroup versions are supported (Documentation/admin-guide/cgroup-v1/
 * and cgroup-v2.rst). Hosts in "hybrid" mode mount an empty cgroup2
 * hierarchy beside the v1 controllers; the controllers decide, so v1 is
 * used whenever it carries pids, memory and cpu.
 *
 * Invariants:
 * - The session's processes join the cgroup before anything forks: the pty
 *   command writes its own pid into every `cgroup.procs` and only then
 *   execs (see command.ts), so no child can escape the limits.
 * - A memory overrun OOM-kills inside the session's cgroup only (the
 *   kernel picks the largest task there), and the shell normally survives
 *   a runaway child. Swap is not allowed to stretch the limit.
 * - Teardown kills every task in the cgroup, waits until it is empty and
 *   removes it; calling it again is harmless.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { BwrapDriverError } from './errors.js';
import type { MountEntry } from './host.js';
import { parseMountInfo, sleep } from './host.js';

export type CgroupVersion = 'v1' | 'v2';

export interface CgroupLayout {
  readonly version: CgroupVersion;
  /** v1: one mount point per hierarchy used (pids, memory, cpu, and freezer when present); v2: the unified mount. */
  readonly mounts: {
    readonly pids: string;
    readonly memory: string;
    readonly cpu: string;
    readonly freezer?: string;
  };
}

export interface CgroupLimits {
  readonly memoryBytes: number;
  readonly pids: number;
  readonly cpus: number;
}

/** Period of the CFS bandwidth control; quota = cpus × period (sched-bwc.rst). */
const CPU_PERIOD_US = 100_000;

/**
 * Finds the controllers under `root` in the mount table. Returns undefined
 * (with the reason) when pids, memory or cpu is missing.
 */
export function detectCgroups(
  root: string,
  mounts: readonly MountEntry[] = parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')),
): { layout: CgroupLayout } | { reason: string } {
  const under = (entry: MountEntry) => entry.mountPoint === root || entry.mountPoint.startsWith(`${root}/`);
  const v1 = (controller: string) =>
    mounts.find(
      (entry) => entry.fsType === 'cgroup' && under(entry) && entry.superOptions.includes(controller),
    )?.mountPoint;
  const pids = v1('pids');
  const memory = v1('memory');
  const cpu = v1('cpu');
  if (pids && memory && cpu) {
    const freezer = v1('freezer');
    return { layout: { version: 'v1', mounts: { pids, memory, cpu, ...(freezer ? { freezer } : {}) } } };
  }
  for (const entry of mounts) {
    if (entry.fsType !== 'cgroup2' || !under(entry)) continue;
    let controllers: string[];
    try {
      controllers = readFileSync(path.join(entry.mountPoint, 'cgroup.controllers'), 'utf8')
        .trim()
        .split(/\s+/);
    } catch {
      continue;
    }
    if (['pids', 'memory', 'cpu'].every((name) => controllers.includes(name))) {
      const at = entry.mountPoint;
      return { layout: { version: 'v2', mounts: { pids: at, memory: at, cpu: at, freezer: at } } };
    }
  }
  return {
    reason: `no cgroup hierarchy under ${root} offers the pids, memory and cpu controllers (v1 or v2)`,
  };
}

async function writeControl(file: string, value: string): Promise<void> {
  try {
    await writeFile(file, value);
  } catch (error) {
    throw new BwrapDriverError('COMMAND_FAILED', `could not write ${JSON.stringify(value)} to ${file}`, {
      cause: error,
    });
  }
}

async function readPids(file: string): Promise<number[]> {
  try {
    const text = await readFile(file, 'utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export class SessionCgroup {
  /** The session's directory in each hierarchy used, without duplicates. */
  readonly dirs: readonly string[];

  constructor(
    readonly layout: CgroupLayout,
    /** Path of the parent inside each hierarchy ('' = root). */
    private readonly parent: string,
    readonly name: string,
  ) {
    this.dirs = [...new Set(Object.values(layout.mounts))].map((mount) => path.join(mount, parent, name));
  }

  private dir(controller: keyof CgroupLayout['mounts']): string | undefined {
    const mount = this.layout.mounts[controller];
    return mount === undefined ? undefined : path.join(mount, this.parent, this.name);
  }

  /** The files the first process writes its pid to, one per hierarchy. */
  get procsFiles(): string[] {
    return this.dirs.map((dir) => path.join(dir, 'cgroup.procs'));
  }

  exists(): boolean {
    return this.dirs.some((dir) => existsSync(dir));
  }

  async create(limits: CgroupLimits): Promise<void> {
    if (this.layout.version === 'v2') await this.enableV2Controllers();
    // Each hierarchy on its own: these are kernel round trips, and a session's start waits for them.
    await Promise.all(this.dirs.map((dir) => mkdir(dir, { recursive: true })));
    const quota = Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US));
    if (this.layout.version === 'v2') {
      const dir = this.dirs[0] as string;
      await writeControl(path.join(dir, 'pids.max'), String(limits.pids));
      await writeControl(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      // cgroup-v2.rst, memory.swap.max: absent when the kernel has no swap accounting.
      if (existsSync(path.join(dir, 'memory.swap.max')))
        await writeControl(path.join(dir, 'memory.swap.max'), '0');
      await writeControl(path.join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`);
      return;
    }
    const memory = this.dir('memory') as string;
    const cpu = this.dir('cpu') as string;
    await Promise.all([
      writeControl(path.join(this.dir('pids') as string, 'pids.max'), String(limits.pids)),
      (async () => {
        await writeControl(path.join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
        // cgroup-v1/memory.rst 2.4: memsw limits memory+swap and must be >= limit_in_bytes, so it
        // is set second; equal to the memory limit it leaves no room for swap.
        const memsw = path.join(memory, 'memory.memsw.limit_in_bytes');
        if (existsSync(memsw)) await writeControl(memsw, String(limits.memoryBytes));
      })(),
      (async () => {
        await writeControl(path.join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
        await writeControl(path.join(cpu, 'cpu.cfs_quota_us'), String(quota));
      })(),
    ]);
  }

  /**
   * cgroup-v2.rst "Enabling and Disabling": a controller works in a cgroup
   * only when every ancestor lists it in cgroup.subtree_control.
   */
  private async enableV2Controllers(): Promise<void> {
    const mount = this.layout.mounts.pids;
    const levels = this.parent === '' ? [] : this.parent.split('/');
    let current = mount;
    for (let depth = 0; depth <= levels.length; depth += 1) {
      if (depth > 0) {
        current = path.join(current, levels[depth - 1] as string);
        await mkdir(current, { recursive: true });
      }
      const control = path.join(current, 'cgroup.subtree_control');
      const enabled = (await readFile(control, 'utf8')).trim().split(/\s+/);
      const missing = ['pids', 'memory', 'cpu'].filter((name) => !enabled.includes(name));
      if (missing.length > 0) await writeControl(control, missing.map((name) => `+${name}`).join(' '));
    }
  }

  /** Host pids of every task in the session's cgroups. */
  async pids(): Promise<number[]> {
    const all = new Set<number>();
    for (const dir of this.dirs)
      for (const pid of await readPids(path.join(dir, 'cgroup.procs'))) all.add(pid);
    return [...all];
  }

  /**
   * Kills every task and waits until the cgroup is empty. With a freezer,
   * the tasks are frozen first so that none can fork while the list is
   * read (cgroup-v1/freezer-subsystem.rst; cgroup-v2.rst cgroup.freeze);
   * v2's cgroup.kill does the same in one write.
   */
  async killAll(timeoutMs = 10_000): Promise<void> {
    if (!this.exists()) return;
    const deadline = performance.now() + timeoutMs;
    const v2 = this.layout.version === 'v2';
    const v2dir = this.dirs[0] as string;
    if (v2 && existsSync(path.join(v2dir, 'cgroup.kill'))) {
      await writeControl(path.join(v2dir, 'cgroup.kill'), '1').catch(() => undefined);
    }
    const freezer = this.dir('freezer');
    for (;;) {
      const pids = await this.pids();
      if (pids.length === 0) return;
      if (performance.now() > deadline) {
        throw new BwrapDriverError(
          'TEARDOWN_FAILED',
          `cgroup ${this.name} still holds pids ${pids.join(' ')} after ${timeoutMs} ms`,
        );
      }
      const frozen = freezer !== undefined && (await this.freeze(freezer, true));
      for (const pid of await this.pids()) killPid(pid);
      if (frozen) await this.freeze(freezer, false);
      await sleep(20);
    }
  }

  private async freeze(dir: string, on: boolean): Promise<boolean> {
    const v2 = this.layout.version === 'v2';
    const file = path.join(dir, v2 ? 'cgroup.freeze' : 'freezer.state');
    if (!existsSync(file)) return false;
    try {
      await writeFile(file, v2 ? (on ? '1' : '0') : on ? 'FROZEN' : 'THAWED');
    } catch {
      return false;
    }
    if (!on) return true;
    // Freezing is asynchronous; wait (briefly) until every task is frozen.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      try {
        const state = (await readFile(v2 ? path.join(dir, 'cgroup.events') : file, 'utf8')).trim();
        if (v2 ? /^frozen 1$/m.test(state) : state === 'FROZEN') return true;
      } catch {
        return true;
      }
      await sleep(10);
    }
    return true;
  }

  /** Removes the (empty) cgroup directories. */
  async remove(timeoutMs = 5_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (const dir of this.dirs) {
      for (;;) {
        try {
          await rmdir(dir);
          break;
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          // EBUSY for a moment after the last task exits.
          if (code === 'EBUSY' && performance.now() < deadline) {
            await sleep(20);
            continue;
          }
          throw new BwrapDriverError('TEARDOWN_FAILED', `could not remove cgroup ${dir}`, { cause: error });
        }
      }
    }
  }

  /** The number of OOM kills in this cgroup so far (v1 memory.oom_control, v2 memory.events). */
  async oomKills(): Promise<number> {
    const memory = this.dir('memory') as string;
    const file = path.join(memory, this.layout.version === 'v2' ? 'memory.events' : 'memory.oom_control');
    const match = /^oom_kill (\d+)$/m.exec(await readFile(file, 'utf8'));
    return match ? Number(match[1]) : 0;
  }
}
