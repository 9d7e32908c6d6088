/**
 * Can this host run the bwrap driver? Checked once, synchronously, so the
 * terminal server can pick its default driver at start: Linux, running as
 * root (to mount homes and create cgroups), the programs, cgroup
 * controllers, a supported CPU for the seccomp filter, and a real trial run
 * of bwrap as an unprivileged uid (unprivileged user namespaces may be
 * switched off by the distribution or a sysctl).
 */
import { spawnSync } from 'node:child_process';

import type { CgroupLayout } from './cgroup.js';
import { detectCgroups } from './cgroup.js';
import type { SeccompArch } from './seccomp.js';
import { seccompArchForHost } from './seccomp.js';
import { findProgram, isRoot } from './host.js';

export interface HostPrograms {
  readonly bash: string;
  readonly bwrap: string;
  readonly setpriv: string;
  readonly mount: string;
  readonly umount: string;
  readonly mkfs: string;
  readonly losetup: string;
  /** Optional (coreutils): background work runs at a low priority when it is there. */
  readonly nice?: string;
}

export type ProbeResult =
  | {
      readonly available: true;
      readonly programs: HostPrograms;
      readonly cgroups: CgroupLayout;
      readonly arch: SeccompArch;
    }
  | { readonly available: false; readonly reason: string };

/** Debian packages that ship the programs, for the message when one is missing. */
const PACKAGES: Readonly<Record<string, string>> = {
  bash: 'bash',
  bwrap: 'bubblewrap',
  setpriv: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  'mkfs.ext4': 'e2fsprogs',
  losetup: 'mount',
};

export interface ProbeOptions {
  /** Where cgroup filesystems are mounted (default /sys/fs/cgroup). */
  readonly cgroupRoot?: string;
  /** The unprivileged uid the trial run uses (default: the first uid of the default pool). */
  readonly trialUid?: number;
}

export function probeBwrap(options: ProbeOptions = {}): ProbeResult {
  if (process.platform !== 'linux') return { available: false, reason: 'not Linux' };
  if (!isRoot()) {
    return {
      available: false,
      reason:
        'the terminal server is not running as root (needed to mount homes, create cgroups and switch uids)',
    };
  }
  try {
    seccompArchForHost();
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
  const found: Record<string, string | undefined> = {
    bash: findProgram('bash', ['/bin/bash']),
    bwrap: findProgram('bwrap'),
    setpriv: findProgram('setpriv'),
    mount: findProgram('mount'),
    umount: findProgram('umount'),
    mkfs: findProgram('mkfs.ext4'),
    losetup: findProgram('losetup'),
  };
  const missing = Object.entries(found)
    .filter(([, file]) => file === undefined)
    .map(([name]) => (name === 'mkfs' ? 'mkfs.ext4' : name));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map((name) => PACKAGES[name] ?? name))];
    return {
      available: false,
      reason: `missing ${missing.join(', ')} (apt-get install ${packages.join(' ')})`,
    };
  }
  const nice = findProgram('nice');
  const programs = { ...(found as unknown as HostPrograms), ...(nice ? { nice } : {}) };
  const cgroups = detectCgroups(options.cgroupRoot ?? '/sys/fs/cgroup');
  if ('reason' in cgroups) return { available: false, reason: cgroups.reason };
  const uid = String(options.trialUid ?? 200000);
  const trial = spawnSync(
    programs.setpriv,
    [
      `--reuid=${uid}`,
      `--regid=${uid}`,
      '--clear-groups',
      '--no-new-privs',
      '--',
      programs.bwrap,
      '--unshare-all',
      '--unshare-user',
      '--disable-userns',
      '--ro-bind',
      '/',
      '/',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--',
      '/bin/sh',
      '-c',
      'exit 0',
    ],
    { env: { PATH: '/usr/bin:/bin' }, timeout: 10_000, encoding: 'utf8', cwd: '/' },
  );
  if (trial.status !== 0) {
    return {
      available: false,
      reason: `bwrap cannot create namespaces as an unprivileged uid: ${(trial.stderr || trial.error?.message || `exit ${trial.status}`).trim()}`,
    };
  }
  return { available: true, programs, cgroups: cgroups.layout, arch: seccompArchForHost() };
}

let cached: boolean | undefined;

/** True when the bwrap driver can run here (probed once per process). */
export function isBwrapAvailable(): boolean {
  cached ??= probeBwrap().available;
  return cached;
}
