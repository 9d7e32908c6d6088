/**
 * What the benchmark's TrustLab server (bwrap driver, as root) may leave on
 * the host when it does not finish its own teardown (a crash, or SIGKILL
 * after a slow shutdown): session cgroups and their processes, mounts under
 * its runtime root and data directory and the loop devices behind them, and
 * those directories. The benchmark sweeps them once the server has exited,
 * whatever happened before.
 *
 * Everything swept is the benchmark's own: cgroups carry its prefix, the
 * runtime root is its own, the data directory was made for this run. A lab
 * server on the same machine uses other names, and other uids.
 */
import { existsSync } from 'node:fs';
import { readFile, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import {
  findProgram,
  mountsUnder,
  readMounts,
  runProgram,
} from '../../terminal-server/src/sandbox/bwrap/host.js';

/** The bwrap driver's settings that set the benchmark's sandboxes apart. */
export const BENCH_SANDBOX = {
  runtimeRoot: '/run/trustlab-bench',
  cgroupPrefix: 'trustlab-bench-',
  // The driver's default parent for that prefix (config.ts, cgroup.parent).
  cgroupParent: 'trustlab-bench',
  // Apart from the default pool (200000-200999) and the isolation tests' (231000-231059).
  uidPool: { first: 232000, last: 232999 },
} as const;

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Removes what is left; returns a line per kind of leftover found (empty: nothing was left). */
export async function sweepLeftovers(dataDir: string | undefined): Promise<string[]> {
  const found: string[] = [];
  const cgroups = await sweepCgroups();
  if (cgroups > 0) found.push(`${cgroups} cgroup directories`);
  for (const dir of [BENCH_SANDBOX.runtimeRoot, dataDir]) {
    if (dir === undefined || !existsSync(dir)) continue;
    const points = mountsUnder(await readMounts(), dir);
    for (const point of points) {
      await runProgram(findProgram('umount') ?? 'umount', [point]).catch(() => undefined);
    }
    if (points.length > 0) found.push(`${points.length} mounts under ${dir}`);
    if (dataDir !== undefined) {
      const loops = await detachLoopDevices(dataDir);
      if (loops > 0) found.push(`${loops} loop devices`);
    }
    // Never delete through a mount: what is still mounted here would lose its files.
    if (mountsUnder(await readMounts(), dir).length === 0) await rm(dir, { recursive: true, force: true });
    else found.push(`${dir} kept: it still has mounts`);
  }
  return found;
}

/**
 * Kills the processes of every cgroup with the benchmark's prefix, in every
 * hierarchy, at its root or under the benchmark's parent group, and removes
 * them, then the parent.
 */
async function sweepCgroups(): Promise<number> {
  const dirs: string[] = [];
  const parents: string[] = [];
  const hierarchies = [
    CGROUP_ROOT,
    ...(await readdir(CGROUP_ROOT).catch(() => [])).map((name) => path.join(CGROUP_ROOT, name)),
  ];
  for (const hierarchy of hierarchies) {
    const parent = path.join(hierarchy, BENCH_SANDBOX.cgroupParent);
    if (existsSync(parent)) parents.push(parent);
    for (const base of [hierarchy, parent]) {
      const names = await readdir(base).catch(() => [] as string[]);
      for (const name of names) {
        if (name.startsWith(BENCH_SANDBOX.cgroupPrefix)) dirs.push(path.join(base, name));
      }
    }
  }
  for (const dir of dirs) {
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
          // Already gone.
        }
      }
      await new Promise((done) => setTimeout(done, 50));
    }
    // EBUSY for a moment after the last task exits.
    for (let attempt = 0; attempt < 50; attempt++) {
      const removed = await rmdir(dir).then(
        () => true,
        (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
      );
      if (removed) break;
      await new Promise((done) => setTimeout(done, 50));
    }
  }
  for (const parent of parents) await rmdir(parent).catch(() => undefined);
  return dirs.length + parents.length;
}

/** Detaches loop devices whose backing file lies in `dir` (unmounting normally releases them already). */
async function detachLoopDevices(dir: string): Promise<number> {
  const names = (await readdir('/sys/block').catch(() => [] as string[])).filter((name) =>
    /^loop\d+$/.test(name),
  );
  let detached = 0;
  for (const name of names) {
    const backing = (await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8').catch(() => '')).trim();
    if (backing === '' || !backing.startsWith(`${dir}/`)) continue;
    await runProgram(findProgram('losetup') ?? 'losetup', ['-d', `/dev/${name}`]).catch(() => undefined);
    detached++;
  }
  return detached;
}
