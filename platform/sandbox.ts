/**
 * The sandbox driver the platform runs learners' shells in, and what the
 * platform adds around it.
 *
 * Choice (TRUSTLAB_SANDBOX): `bwrap` when asked, or by default when this
 * host can run it (Linux, root, bubblewrap and friends, a trial run that
 * works); otherwise `local`, which isolates nothing and says so. A workshop
 * (TRUSTLAB_MODE=workshop) puts strangers on one machine and refuses `local`
 * outright rather than falling back to it.
 *
 * The wrapper (`trackHomes`) sees every sandbox the terminal server
 * creates, before the shell starts in it: that is where the lab's files are
 * written into the home (the bwrap home is an image mounted only while a
 * session lives, so there is no earlier moment), and where the platform
 * learns which homes are mounted, for checks that read files. It forwards
 * the driver's `resetHome` too, and tells the platform once a home is empty.
 */
import type { BwrapDriverConfig } from '../terminal-server/src/sandbox/bwrap/index.js';
import { createBwrapDriver, probeBwrap } from '../terminal-server/src/sandbox/bwrap/index.js';
import type { Sandbox, SandboxDriver, SandboxOwner, SandboxSpec } from '../terminal-server/src/index.js';
import { createLocalDriver } from '../terminal-server/src/index.js';
import { PlatformError } from './errors.js';
import type { PlatformMode, SandboxChoice } from './settings.js';

export interface DriverChoice {
  sandbox: SandboxChoice | undefined;
  mode: PlatformMode;
  dataDir: string;
  /** The bwrap driver's runtime root (default /run/trustlab). */
  runtimeDir?: string | undefined;
  /** Extra bwrap settings (tests give their own uid pool and cgroup prefix). */
  bwrap?: Partial<Omit<BwrapDriverConfig, 'dataDir'>>;
  warn: (message: string) => void;
}

export function chooseDriver(choice: DriverChoice): SandboxDriver {
  const bwrap = () =>
    createBwrapDriver({
      dataDir: choice.dataDir,
      ...(choice.runtimeDir ? { runtimeRoot: choice.runtimeDir } : {}),
      ...choice.bwrap,
    });
  if (choice.sandbox === 'bwrap') {
    try {
      return bwrap();
    } catch (cause) {
      throw new PlatformError('SANDBOX_UNAVAILABLE', `TRUSTLAB_SANDBOX=bwrap: ${(cause as Error).message}`, {
        cause,
        suggestion:
          'Run as root on Linux with bubblewrap, util-linux and e2fsprogs installed, or set TRUSTLAB_SANDBOX=local for a single learner on their own machine.',
      });
    }
  }
  if (choice.sandbox === 'local' && choice.mode === 'workshop') {
    throw new PlatformError(
      'UNSAFE_SANDBOX',
      'a workshop cannot use the local sandbox: it isolates nothing between attendees',
      {
        suggestion:
          'Use TRUSTLAB_SANDBOX=bwrap (Linux, as root, with bubblewrap), or TRUSTLAB_MODE=self-paced for one learner.',
      },
    );
  }
  if (choice.sandbox === undefined) {
    const probe = probeBwrap();
    if (probe.available) return bwrap();
    if (choice.mode === 'workshop') {
      throw new PlatformError(
        'SANDBOX_UNAVAILABLE',
        `a workshop needs the bwrap sandbox, which cannot run here: ${probe.reason}`,
        {
          suggestion: 'Run as root on Linux with bubblewrap, util-linux and e2fsprogs installed.',
        },
      );
    }
    choice.warn(`The bwrap sandbox cannot run here (${probe.reason}); using the local driver.`);
  }
  return createLocalDriver({ dataDir: choice.dataDir, warn: choice.warn });
}

/** A home the platform knows to be readable now. */
export interface MountedHome {
  readonly homeDir: string;
  readonly owner: SandboxOwner | undefined;
}

export interface HomeHooks {
  /** The sandbox exists and its shell has not started: prepare the home. */
  prepare(homeKey: string, home: MountedHome): Promise<void>;
  /** Called after `prepare`, and before the home is unmounted by a teardown. */
  mounted(homeKey: string, home: MountedHome): void;
  unmounting(homeKey: string): void;
  /** `prepare` failed; the session goes on. */
  failed(homeKey: string, error: unknown): void;
  /** The driver emptied the home (an instructor's reset); no session of it lives meanwhile. */
  emptied(homeKey: string): Promise<void>;
}

/**
 * `driver`, reporting each sandbox's home to `hooks`. Two sessions of one
 * home may overlap (a new one starting while the old one tears down); the
 * home counts as mounted while any of them lives.
 */
export function trackHomes(driver: SandboxDriver, hooks: HomeHooks): SandboxDriver {
  const live = new Map<string, number>();
  const resetHome = driver.resetHome?.bind(driver);
  return {
    info: driver.info,
    close: () => driver.close(),
    // Forwarded, or the terminal server could not empty a home (its resetAttendee refuses without it).
    ...(resetHome
      ? {
          async resetHome(homeKey: string): Promise<void> {
            await resetHome(homeKey);
            await hooks.emptied(homeKey);
          },
        }
      : {}),
    async create(spec: SandboxSpec): Promise<Sandbox> {
      const sandbox = await driver.create(spec);
      const home: MountedHome = { homeDir: sandbox.homeDir, owner: sandbox.owner };
      live.set(spec.homeKey, (live.get(spec.homeKey) ?? 0) + 1);
      try {
        await hooks.prepare(spec.homeKey, home);
      } catch (error) {
        // The shell is more use with a home short of a lab file than no shell at all.
        hooks.failed(spec.homeKey, error);
      }
      hooks.mounted(spec.homeKey, home);
      let destroyed: Promise<void> | undefined;
      const release = () => {
        const left = (live.get(spec.homeKey) ?? 1) - 1;
        if (left > 0) live.set(spec.homeKey, left);
        else {
          live.delete(spec.homeKey);
          hooks.unmounting(spec.homeKey);
        }
      };
      return {
        sessionId: sandbox.sessionId,
        command: sandbox.command,
        runtimeDir: sandbox.runtimeDir,
        runtimeDirInside: sandbox.runtimeDirInside,
        owner: sandbox.owner,
        homeDir: sandbox.homeDir,
        ...(sandbox.onSpawn ? { onSpawn: (pid: number) => sandbox.onSpawn!(pid) } : {}),
        destroy() {
          destroyed ??= (async () => {
            // Before the unmount: no check may start reading a home that is going away.
            release();
            await sandbox.destroy();
          })();
          return destroyed;
        },
      };
    },
  };
}
