/**
 * What a benchmark's bwrap platform or terminal server could leave on the
 * host when its shutdown does not finish: session cgroups (with their
 * processes), mounts under its runtime root or data directory, and the
 * loop devices behind them. The benchmarks look for them once the server
 * has closed or exited; anything found is reported, then removed. Every
 * name swept is the run's own: its cgroup prefix, its directories.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { mountsUnder, readMounts } from '../terminal-server/src/sandbox/bwrap/host.js';

const run = promisify(execFile);
const CGROUP_ROOT = '/sys/fs/cgroup';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Session cgroup directories with `prefix`, at a hierarchy's root or under `parent`, and the parents. */
async function cgroupsOf(prefix: string, parent: string): Promise<{ sessions: string[]; parents: string[] }> {
  const sessions: string[] = [];
  const parents: string[] = [];
  const hierarchies = [
    CGROUP_ROOT,
    ...(await readdir(CGROUP_ROOT).catch(() => [] as string[])).map((name) => path.join(CGROUP_ROOT, name)),
  ];
  for (const hierarchy of hierarchies) {
    const under = path.join(hierarchy, parent);
    if (existsSync(under)) parents.push(under);
    for (const base of [hierarchy, under]) {
      for (const name of await readdir(base).catch(() => [] as string[]))
        if (name.startsWith(prefix)) sessions.push(path.join(base, name));
    }
  }
  return { sessions, parents };
}

async function removeCgroup(dir: string): Promise<void> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    const pids = (await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map(Number);
    if (pids.length === 0 || performance.now() > deadline) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
    await sleep(50);
  }
  // EBUSY for a moment after the last task exits.
  for (let attempt = 0; attempt < 50; attempt++) {
    const removed = await rmdir(dir).then(
      () => true,
      (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
    );
    if (removed) return;
    await sleep(50);
  }
}

/** Loop devices whose backing file lies in `dir`. */
async function loopDevicesUnder(dir: string): Promise<string[]> {
  const names = (await readdir('/sys/block').catch(() => [] as string[])).filter((name) =>
    /^loop\d+$/.test(name),
  );
  const found: string[] = [];
  for (const name of names) {
    const backing = (await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8').catch(() => '')).trim();
    if (backing.startsWith(`${dir}/`)) found.push(`/dev/${name}`);
  }
  return found;
}

/**
 * Looks for what the run left and removes it; returns one line per kind of
 * leftover found (empty: the platform's own shutdown cleaned up).
 */
export async function sweepLeftovers(options: {
  dirs: readonly string[];
  cgroupPrefix: string;
  cgroupParent: string;
}): Promise<string[]> {
  const found: string[] = [];
  const { sessions, parents } = await cgroupsOf(options.cgroupPrefix, options.cgroupParent);
  if (sessions.length > 0) found.push(`${sessions.length} session cgroups left (${options.cgroupPrefix}*)`);
  for (const dir of sessions) await removeCgroup(dir);
  if (parents.length > 0) found.push(`${parents.length} parent cgroups left (${options.cgroupParent})`);
  for (const dir of parents) await rmdir(dir).catch(() => undefined);
  for (const dir of options.dirs) {
    const points = mountsUnder(await readMounts(), dir);
    if (points.length > 0) found.push(`${points.length} mounts left under ${dir}`);
    for (const point of points) await run('umount', [point]).catch(() => undefined);
    const loops = await loopDevicesUnder(dir);
    if (loops.length > 0) found.push(`${loops.length} loop devices left on images under ${dir}`);
    for (const loop of loops) await run('losetup', ['-d', loop]).catch(() => undefined);
  }
  return found;
}

/** True when nothing is mounted at or under `dir` (it may then be removed). */
export async function unmounted(dir: string): Promise<boolean> {
  return mountsUnder(await readMounts(), dir).length === 0;
}
