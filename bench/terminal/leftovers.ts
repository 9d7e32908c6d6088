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
import { rm } from 'node:fs/promises';
import { sweepLeftovers as sweepSandboxLeftovers, unmounted } from '../sandbox-leftovers.js';

/** The bwrap driver's settings that set the benchmark's sandboxes apart. */
export const BENCH_SANDBOX = {
  runtimeRoot: '/run/trustlab-bench',
  cgroupPrefix: 'trustlab-bench-',
  // The driver's default parent for that prefix (config.ts, cgroup.parent).
  cgroupParent: 'trustlab-bench',
  // Apart from the default pool (200000-200999) and the isolation tests' (231000-231059).
  uidPool: { first: 232000, last: 232999 },
} as const;

/** Removes what is left; returns a line per kind of leftover found (empty: nothing was left). */
export async function sweepLeftovers(dataDir: string | undefined): Promise<string[]> {
  const dirs = [BENCH_SANDBOX.runtimeRoot, dataDir].filter(
    (dir): dir is string => dir !== undefined && existsSync(dir),
  );
  const found = await sweepSandboxLeftovers({
    dirs,
    cgroupPrefix: BENCH_SANDBOX.cgroupPrefix,
    cgroupParent: BENCH_SANDBOX.cgroupParent,
  });
  for (const dir of dirs) {
    // Never delete through a mount: what is still mounted here would lose its files.
    if (await unmounted(dir)) await rm(dir, { recursive: true, force: true });
    else found.push(`${dir} kept: it still has mounts`);
  }
  return found;
}
