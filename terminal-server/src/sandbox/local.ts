/**
 * The `local` sandbox driver: the shell runs as the server's own user, with
 * no isolation at all. It exists for one learner running TrustLab on their
 * own machine (Linux or macOS, where bubblewrap is not available); the
 * server refuses it in workshop mode (config.ts).
 *
 * Layout under the data directory:
 *   homes/<homeKey>/     0700  the learner's lab home, kept across sessions
 *   run/<sessionId>/     0700  this session's sockets, rcfile and bin/
 *                              (symlinks to the lab's docker and notary);
 *                              removed when the session ends
 *
 * The shell is bash with a prompt of its own, an environment built from an
 * allowlist (nothing of the server's environment leaks in), and the lab's
 * `docker` and `notary` first on PATH. Teardown kills the shell's whole
 * process tree (process-tree.ts).
 *
 * `resetHome` moves the home aside (one rename, so the next session finds
 * an empty home even if removal is slow), makes a new empty one, and
 * removes the old tree without following any symbolic link and without
 * leaving its file system. A home is reset only while no sandbox of this
 * driver uses it; a `create` for it waits for the reset.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  readdir,
  rename,
  rm,
  rmdir,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxError } from '../errors.js';
import {
  RUNTIME_SOCKETS,
  SANDBOX_ENV,
  SANDBOX_ID_PATTERN,
  type Sandbox,
  type SandboxDriver,
  type SandboxSpec,
} from './driver.js';
import { killProcessTree } from './process-tree.js';

export interface LocalDriverOptions {
  /** TrustLab's data directory (`./data` by default at the top level). */
  readonly dataDir: string;
  /** Where the lab's `docker` and `notary` are; the checkout's bin/ by default. */
  readonly binDir?: string;
  /** Receives the no-isolation warning, once per driver (default: console.warn). */
  readonly warn?: (message: string) => void;
  /** Time between SIGHUP and SIGKILL when a session ends. */
  readonly killGraceMs?: number;
}

export const LOCAL_DRIVER_WARNING =
  'terminal-server: the "local" sandbox driver runs each shell as this user, with no isolation. ' +
  'It is meant for one learner on their own machine; a shared server must use the bwrap driver.';

const DEFAULT_BIN_DIR = fileURLToPath(new URL('../../../bin/', import.meta.url));
const BASH_CANDIDATES = ['/bin/bash', '/usr/bin/bash', '/usr/local/bin/bash', '/opt/homebrew/bin/bash'];
const LAB_COMMANDS = ['docker', 'notary'];

const RCFILE = `# TrustLab terminal (local driver): written for this session, removed with it.
PS1='\\[\\e[1;36m\\]trustlab\\[\\e[0m\\]:\\[\\e[1;34m\\]\\w\\[\\e[0m\\]\\$ '
# The learner's own settings, kept in their lab home, come last so they win.
if [ -r "$HOME/.bashrc" ]; then . "$HOME/.bashrc"; fi
`;

export function createLocalDriver(options: LocalDriverOptions): SandboxDriver {
  const homesDir = join(options.dataDir, 'homes');
  const runDir = join(options.dataDir, 'run');
  const binDir = options.binDir ?? DEFAULT_BIN_DIR;
  const bash = BASH_CANDIDATES.find((candidate) => existsSync(candidate));
  const live = new Set<Sandbox>();
  /** Sandboxes per home, from the start of `create` until `destroy` is done (or `create` failed). */
  const homesInUse = new Map<string, number>();
  /** Resets under way, by home; each settles (never rejects) when done. */
  const resets = new Map<string, Promise<void>>();
  let trashRemoved: Promise<void> | undefined;
  const useHome = (homeKey: string, delta: number) => {
    const count = (homesInUse.get(homeKey) ?? 0) + delta;
    if (count > 0) homesInUse.set(homeKey, count);
    else homesInUse.delete(homeKey);
  };
  (options.warn ?? ((message: string) => console.warn(message)))(LOCAL_DRIVER_WARNING);

  async function create(spec: SandboxSpec): Promise<Sandbox> {
    for (const [what, value] of [
      ['session id', spec.sessionId],
      ['home key', spec.homeKey],
    ] as const) {
      if (!SANDBOX_ID_PATTERN.test(value))
        throw new SandboxError('SANDBOX_FAILED', `invalid ${what} "${value}"`);
    }
    if (bash === undefined) {
      throw new SandboxError('SANDBOX_FAILED', 'bash was not found', {
        suggestion: `Install bash (looked in ${BASH_CANDIDATES.join(', ')}).`,
      });
    }
    const homeDir = join(homesDir, spec.homeKey);
    const runtimeDir = join(runDir, spec.sessionId);
    // Checked again after each wait: another reset may have begun meanwhile. The home counts as in
    // use from the moment no reset is under way, in the same turn, so none can begin in between.
    for (let reset = resets.get(spec.homeKey); reset !== undefined; reset = resets.get(spec.homeKey)) {
      await reset;
    }
    useHome(spec.homeKey, 1);
    try {
      await mkdir(options.dataDir, { recursive: true });
      await makePrivateDir(homesDir);
      await makePrivateDir(runDir);
      await makePrivateDir(homeDir);
      // A directory left by a crash under the same (random) id would hold stale sockets.
      await rm(runtimeDir, { recursive: true, force: true });
      await makePrivateDir(runtimeDir);
      await mkdir(join(runtimeDir, 'bin'), { mode: 0o700 });
      for (const command of LAB_COMMANDS)
        await symlink(join(binDir, command), join(runtimeDir, 'bin', command));
      await writeFile(join(runtimeDir, 'bashrc'), RCFILE, { mode: 0o600 });
    } catch (cause) {
      await rm(runtimeDir, { recursive: true, force: true }).catch(() => undefined);
      useHome(spec.homeKey, -1);
      throw new SandboxError('SANDBOX_FAILED', `cannot prepare the local sandbox under ${options.dataDir}`, {
        cause,
        suggestion: 'Check that the data directory is writable.',
      });
    }

    const user = userInfo().username;
    const env: Record<string, string> = {
      LANG: process.platform === 'darwin' ? 'en_US.UTF-8' : 'C.UTF-8',
      ...spec.env,
      HOME: homeDir,
      USER: user,
      LOGNAME: user,
      SHELL: bash,
      TERM: 'xterm-256color',
      PATH: [
        join(runtimeDir, 'bin'),
        dirname(process.execPath),
        '/usr/local/bin',
        '/usr/bin',
        '/bin',
        '/usr/sbin',
        '/sbin',
      ].join(':'),
      [SANDBOX_ENV.hubSocket]: join(runtimeDir, RUNTIME_SOCKETS.hub),
      [SANDBOX_ENV.events]: join(runtimeDir, RUNTIME_SOCKETS.events),
      [SANDBOX_ENV.token]: join(runtimeDir, RUNTIME_SOCKETS.token),
    };
    if (spec.hubCaFile !== undefined) env.TRUSTLAB_HUB_CA = spec.hubCaFile;

    let leader: number | undefined;
    let destroyed: Promise<void> | undefined;
    const sandbox: Sandbox = {
      sessionId: spec.sessionId,
      command: {
        file: bash,
        args: ['--noprofile', '--rcfile', join(runtimeDir, 'bashrc'), '-i'],
        env,
        cwd: homeDir,
      },
      runtimeDir,
      runtimeDirInside: runtimeDir,
      owner: undefined,
      homeDir,
      onSpawn(pid) {
        leader = pid;
      },
      destroy() {
        destroyed ??= (async () => {
          try {
            if (leader !== undefined) await killProcessTree(leader, options.killGraceMs);
            await rm(runtimeDir, { recursive: true, force: true });
          } finally {
            live.delete(sandbox);
            useHome(spec.homeKey, -1);
          }
        })();
        return destroyed;
      },
    };
    live.add(sandbox);
    return sandbox;
  }

  function resetHome(homeKey: string): Promise<void> {
    if (!SANDBOX_ID_PATTERN.test(homeKey)) {
      return Promise.reject(new SandboxError('SANDBOX_FAILED', `invalid home key "${homeKey}"`));
    }
    if (homesInUse.has(homeKey)) {
      return Promise.reject(
        new SandboxError('HOME_BUSY', `the home "${homeKey}" is in use by a sandbox`, {
          suggestion: 'End the attendee’s session first (the server’s resetAttendee does).',
        }),
      );
    }
    const earlier = resets.get(homeKey);
    const work = (async () => {
      await earlier;
      trashRemoved ??= removeTrash(homesDir).catch((error: unknown) => {
        trashRemoved = undefined;
        throw error;
      });
      await trashRemoved;
      await emptyHome(homesDir, homeKey);
    })();
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    resets.set(homeKey, settled);
    void settled.then(() => {
      if (resets.get(homeKey) === settled) resets.delete(homeKey);
    });
    return work;
  }

  return {
    info: { name: 'local', isolated: false },
    create,
    resetHome,
    async close() {
      await Promise.allSettled([...live].map((sandbox) => sandbox.destroy()));
    },
  };
}

/**
 * Replaces `homes/<homeKey>` with an empty directory: the old one is renamed
 * to `homes/.reset-<random>` (a name no home key can have), then removed. A
 * removal left unfinished by a crash is finished by the driver's first reset.
 */
async function emptyHome(homesDir: string, homeKey: string): Promise<void> {
  const homeDir = join(homesDir, homeKey);
  await makePrivateDir(homesDir);
  const trash = join(homesDir, `${TRASH_PREFIX}${randomBytes(8).toString('hex')}`);
  try {
    // rename(2) moves a symbolic link itself, never what it points to.
    await rename(homeDir, trash);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new SandboxError('SANDBOX_FAILED', `cannot move the home "${homeKey}" aside`, { cause: error });
    }
  }
  await makePrivateDir(homeDir);
  await removeTree(trash);
}

/** Finishes the removals a crash interrupted (called before this driver's first reset moves anything). */
async function removeTrash(homesDir: string): Promise<void> {
  const names = await readdir(homesDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  for (const name of names) if (name.startsWith(TRASH_PREFIX)) await removeTree(join(homesDir, name));
}

const TRASH_PREFIX = '.reset-';

/**
 * Removes `path` and everything under it. A symbolic link is removed
 * itself, never followed; a directory on another file system (a mount
 * point) is refused rather than emptied. Directories the learner made
 * unwritable are made writable first (they are the learner's own).
 */
export async function removeTree(path: string): Promise<void> {
  let top;
  try {
    top = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!top.isDirectory()) return void (await unlink(path));
  const device = top.dev;
  const walk = async (dir: string): Promise<void> => {
    await chmod(dir, 0o700);
    for (const name of await readdir(dir)) {
      const entry = join(dir, name);
      const info = await lstat(entry);
      if (info.isDirectory()) {
        if (info.dev !== device) {
          throw new SandboxError('SANDBOX_FAILED', `${entry} is another file system; not removing it`);
        }
        await walk(entry);
      } else {
        await unlink(entry);
      }
    }
    await rmdir(dir);
  };
  await walk(path);
}

/** mkdir -p with 0700, and 0700 again when it already existed (mkdir's mode is subject to umask). */
async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}
