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
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
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
          if (leader !== undefined) await killProcessTree(leader, options.killGraceMs);
          await rm(runtimeDir, { recursive: true, force: true });
          live.delete(sandbox);
        })();
        return destroyed;
      },
    };
    live.add(sandbox);
    return sandbox;
  }

  return {
    info: { name: 'local', isolated: false },
    create,
    async close() {
      await Promise.allSettled([...live].map((sandbox) => sandbox.destroy()));
    },
  };
}

/** mkdir -p with 0700, and 0700 again when it already existed (mkdir's mode is subject to umask). */
async function makePrivateDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: 0o700 });
  await chmod(path, 0o700);
}
