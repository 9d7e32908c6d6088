/**
 * CPU of this process and everything it starts, through a cgroup v1
 * `cpuacct` group of the run's own: this process moves into it, so every
 * process forked afterwards (the sandboxes' shells, the docker clients,
 * mount and mkfs) is counted there, whatever its parent or however it
 * ends. The bwrap driver moves a session's processes into its own pids,
 * memory, cpu and freezer groups, never cpuacct, so they stay counted.
 *
 * Only where it is easy: root, and a v1 `cpuacct` hierarchy. Elsewhere
 * `start()` answers undefined and the figure is reported as not available.
 * (The rusage of waited-for children would not do: a session's processes
 * are killed through their cgroup and partly reaped by the pid
 * namespace's init, so their CPU never reaches this process.)
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const CPUACCT = '/sys/fs/cgroup/cpuacct';

export interface CpuAccount {
  /** CPU seconds of the group since `start` (this process included). */
  usedSeconds(): Promise<number>;
  /** Moves this process back where it was and removes the group. */
  stop(): Promise<void>;
}

export async function startCpuAccount(name: string): Promise<CpuAccount | undefined> {
  if (process.getuid?.() !== 0 || !existsSync(path.join(CPUACCT, 'cpuacct.usage'))) return undefined;
  const own = await readFile('/proc/self/cgroup', 'utf8');
  const line = own.split('\n').find((entry) => /^\d+:([^:]*,)?cpuacct(,[^:]*)?:/.test(entry));
  if (line === undefined) return undefined;
  const home = path.join(CPUACCT, line.slice(line.lastIndexOf(':') + 1));
  const group = path.join(CPUACCT, name);
  try {
    await mkdir(group);
    await writeFile(path.join(group, 'cgroup.procs'), String(process.pid));
  } catch {
    await rmdir(group).catch(() => undefined);
    return undefined;
  }
  const usage = async () => Number((await readFile(path.join(group, 'cpuacct.usage'), 'utf8')).trim());
  const first = await usage();
  return {
    async usedSeconds() {
      return ((await usage()) - first) / 1e9;
    },
    async stop() {
      // Whatever is left in the group (this process, a helper it started) goes back with it.
      const pids = (await readFile(path.join(group, 'cgroup.procs'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean);
      for (const pid of new Set([String(process.pid), ...pids]))
        await writeFile(path.join(home, 'cgroup.procs'), pid).catch(() => undefined);
      for (let attempt = 0; attempt < 50; attempt++) {
        if (
          await rmdir(group).then(
            () => true,
            (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
          )
        )
          return;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}
