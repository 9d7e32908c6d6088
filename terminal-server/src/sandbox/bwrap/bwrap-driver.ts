/**
 * The bwrap sandbox driver: each attendee's shell runs as an unprivileged
 * host uid of their own, in their own namespaces (bubblewrap), inside a
 * cgroup with pids, memory and CPU limits, under a seccomp deny list, with
 * a persistent ext4 home and a size-limited /tmp. See ../driver.ts for the
 * contract with sessions.
 *
 * Host layout (root owns everything but the attendee's own files):
 *
 *   <dataDir>/homes/             0700  <homeKey>.img, uids.json
 *   <runtimeRoot>/               0711  driver.pid, seccomp.bpf (0600)
 *     lab/                       0755  bin/ (launchers), etc/ (passwd, group, bashrc...)
 *     homes/<homeKey>/           0711  mounted home image; home/ is the attendee's (0700)
 *     sessions/<sessionId>/      0750 root:<attendee gid>
 *       bwrap.args               0600  bwrap's arguments (read by the root wrapper)
 *       etc/                           hosts, hub-ca.crt
 *       run/                     0750  the session's sockets (bound at /run/trustlab)
 *       tmp/                           tmpfs (size, nr_inodes), the attendee's (0700)
 *
 * "0711"/group-only directories let bwrap, which runs as the attendee,
 * reach exactly its own session's paths; another attendee's uid cannot list
 * or enter them even outside the namespaces.
 */
import {
  copyFile,
  chmod,
  chown,
  mkdir,
  readFile,
  readdir,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';

import type {
  Sandbox,
  SandboxDriver,
  SandboxDriverInfo,
  SandboxOwner,
  SandboxSpec,
  SpawnCommand,
} from '../driver.js';
import { RUNTIME_SOCKETS, SANDBOX_ENV, SANDBOX_ID_PATTERN } from '../driver.js';
import { SessionCgroup } from './cgroup.js';
import type { CgroupLayout } from './cgroup.js';
import type { CommandPlan } from './command.js';
import { buildCommand, bwrapArgsFile } from './command.js';
import type { BwrapDriverConfig, ResolvedBwrapConfig } from './config.js';
import { INSIDE, bwrapConfigSchema } from './config.js';
import { BwrapDriverError } from './errors.js';
import { HomeStore, unmountAll } from './home.js';
import { mountsUnder, readMounts, runProgram } from './host.js';
import { findClientEntries, hostsFile, writeLabDir } from './lab-environment.js';
import type { HostPrograms } from './probe.js';
import { probeBwrap } from './probe.js';
import type { SeccompArch } from './seccomp.js';
import { buildDenyFilter, encodeFilter } from './seccomp.js';
import { UidPool } from './uid-pool.js';

/** A sandbox of this driver, with what tests and operators may inspect besides the contract. */
export interface BwrapSandbox extends Sandbox {
  readonly homeKey: string;
  readonly owner: SandboxOwner;
  /** The session's cgroup (its directories, pids and OOM count). */
  readonly cgroup: SessionCgroup;
  /** Host directory of the session's /tmp (a tmpfs mount while alive). */
  readonly tmpDir: string;
  /** `<runtimeRoot>/sessions/<sessionId>`. */
  readonly sessionDir: string;
}

export interface BwrapDriver extends SandboxDriver {
  readonly info: SandboxDriverInfo & { readonly name: 'bwrap'; readonly cgroup: 'v1' | 'v2' };
  readonly config: ResolvedBwrapConfig;
  create(spec: SandboxSpec): Promise<BwrapSandbox>;
}

/** Runtime roots owned by a live driver of this process. */
const ownedRuntimeRoots = new Set<string>();

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** PATH inside: the lab's commands first. */
const INSIDE_PATH = `${INSIDE.binDir}:/usr/local/bin:/usr/bin:/bin`;

/**
 * Creates the driver. Checks the host now (throws UNAVAILABLE with the
 * reason); prepares the runtime root on the first `create`.
 */
export function createBwrapDriver(config: BwrapDriverConfig): BwrapDriver {
  const parsed = bwrapConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new BwrapDriverError(
      'INVALID_CONFIG',
      `invalid bwrap driver configuration: ${parsed.error.message}`,
      {
        cause: parsed.error,
      },
    );
  }
  const resolved = parsed.data;
  const probe = probeBwrap({ cgroupRoot: resolved.cgroup.root, trialUid: resolved.uidPool.first });
  if (!probe.available) {
    throw new BwrapDriverError('UNAVAILABLE', `the bwrap sandbox cannot run here: ${probe.reason}`, {
      suggestion:
        'Run the terminal server as root on Linux with bubblewrap, util-linux and e2fsprogs installed, or choose the local driver for a single learner.',
    });
  }
  return new Driver(resolved, probe.programs, probe.cgroups, probe.arch);
}

interface LiveSession {
  readonly homeKey: string;
  sandbox?: BwrapSandbox;
  teardown?: Promise<void>;
}

class Driver implements BwrapDriver {
  readonly info: BwrapDriver['info'];
  private readonly live = new Map<string, LiveSession>();
  private readonly uids: UidPool;
  private readonly homes: HomeStore;
  private ready: Promise<{ entries: Record<string, string> }> | undefined;
  private closed = false;
  private ownsRuntimeRoot = false;

  constructor(
    readonly config: ResolvedBwrapConfig,
    private readonly programs: HostPrograms,
    private readonly cgroups: CgroupLayout,
    private readonly arch: SeccompArch,
  ) {
    this.info = { name: 'bwrap', isolated: true, cgroup: cgroups.version };
    const homesData = path.join(config.dataDir, 'homes');
    this.uids = new UidPool({
      file: path.join(homesData, 'uids.json'),
      first: config.uidPool.first,
      last: config.uidPool.last,
    });
    this.homes = new HomeStore({
      imagesDir: homesData,
      mountRoot: this.path('homes'),
      sizeBytes: config.limits.homeBytes,
      inodes: config.limits.homeInodes,
      programs: programs,
    });
  }

  private path(...parts: string[]): string {
    return path.join(this.config.runtimeRoot, ...parts);
  }

  private cgroupFor(sessionId: string): SessionCgroup {
    return new SessionCgroup(
      this.cgroups,
      this.config.cgroup.parent,
      `${this.config.cgroup.prefix}${sessionId}`,
    );
  }

  /** Takes the runtime root, clears what a crashed run left, writes the shared files. */
  private prepare(): Promise<{ entries: Record<string, string> }> {
    this.ready ??= (async () => {
      const entries = findClientEntries(this.config.clientDir, this.config.clientCommands);
      // Bound by descriptor, so their parents need not be reachable; they themselves must be
      // readable by the attendee's uid (bind mounts keep their modes).
      await assertWorldReadable(this.config.nodePath, 0o005, 'nodePath');
      await assertWorldReadable(this.config.clientDir, 0o005, 'clientDir');
      for (const entry of Object.values(entries)) {
        await assertWorldReadable(path.join(this.config.clientDir, entry), 0o004, 'client bundle');
      }
      const root = this.config.runtimeRoot;
      await mkdir(root, { recursive: true, mode: 0o711 });
      await chmod(root, 0o711);
      await assertTraversable(root);
      await this.takeRuntimeRoot();
      await this.clearLeftovers();
      await mkdir(this.path('sessions'), { recursive: true, mode: 0o711 });
      await mkdir(this.path('homes'), { recursive: true, mode: 0o711 });
      await chmod(this.path('sessions'), 0o711);
      await chmod(this.path('homes'), 0o711);
      await writeFile(this.path('seccomp.bpf'), encodeFilter(buildDenyFilter(this.arch)), { mode: 0o600 });
      await chmod(this.path('seccomp.bpf'), 0o600);
      await writeLabDir(this.path('lab'), { user: this.config.user, entries });
      return { entries };
    })();
    // A failed start may be retried by the next create().
    this.ready.catch(() => {
      this.ready = undefined;
    });
    return this.ready;
  }

  private async takeRuntimeRoot(): Promise<void> {
    const root = this.config.runtimeRoot;
    const pidFile = this.path('driver.pid');
    if (this.ownsRuntimeRoot) return;
    if (ownedRuntimeRoots.has(root)) {
      throw new BwrapDriverError('RUNTIME_ROOT_IN_USE', `another bwrap driver of this process uses ${root}`);
    }
    const previous = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (Number.isInteger(previous) && previous > 0 && previous !== process.pid && isAlive(previous)) {
      throw new BwrapDriverError(
        'RUNTIME_ROOT_IN_USE',
        `process ${previous} runs a bwrap driver on ${root}`,
        {
          suggestion: 'Give each lab server its own runtimeRoot (and uid pool).',
        },
      );
    }
    await writeFile(pidFile, `${process.pid}\n`, { mode: 0o644 });
    ownedRuntimeRoots.add(root);
    this.ownsRuntimeRoot = true;
  }

  /** Sessions and mounts left by a driver that did not close (a crash): kill, unmount, remove. */
  private async clearLeftovers(): Promise<void> {
    const sessions = await readdir(this.path('sessions')).catch(() => [] as string[]);
    for (const sessionId of sessions) {
      if (!SANDBOX_ID_PATTERN.test(sessionId)) continue;
      const cgroup = this.cgroupFor(sessionId);
      await cgroup.killAll();
      await cgroup.remove();
      await this.removeSessionDir(this.path('sessions', sessionId));
    }
    const homes = await readdir(this.path('homes')).catch(() => [] as string[]);
    for (const homeKey of homes) {
      await unmountAll(this.path('homes', homeKey), this.programs.umount);
      await rmdir(this.path('homes', homeKey)).catch(() => undefined);
    }
  }

  async create(spec: SandboxSpec): Promise<BwrapSandbox> {
    if (this.closed) throw new BwrapDriverError('CLOSED', 'the bwrap driver is closed');
    const env = validateSpec(spec);
    // unix(7): sun_path holds 108 bytes with the terminating NUL.
    const longestSocket = path.join(this.path('sessions', spec.sessionId, 'run'), RUNTIME_SOCKETS.events);
    if (Buffer.byteLength(longestSocket) > 107) {
      throw new BwrapDriverError(
        'INVALID_SPEC',
        `socket path ${longestSocket} is longer than a unix socket allows`,
        {
          suggestion: 'Use a shorter runtimeRoot (the default is /run/trustlab) or shorter session ids.',
        },
      );
    }
    if (this.live.has(spec.sessionId)) {
      throw new BwrapDriverError('SESSION_EXISTS', `session ${spec.sessionId} already has a sandbox`);
    }
    const session: LiveSession = { homeKey: spec.homeKey };
    this.live.set(spec.sessionId, session);
    const undo: Array<() => Promise<void>> = [];
    try {
      await this.prepare();
      const uid = await this.uids.acquire(spec.homeKey, (key) => this.homes.isAttached(key));
      const owner = { uid, gid: uid };
      const homeDir = await this.homes.attach(spec.homeKey, owner);
      undo.push(() => this.homes.detach(spec.homeKey));

      const sessionDir = this.path('sessions', spec.sessionId);
      undo.push(() => this.removeSessionDir(sessionDir));
      const stale = this.cgroupFor(spec.sessionId);
      if (stale.exists()) {
        await stale.killAll();
        await stale.remove();
      }
      await this.removeSessionDir(sessionDir);
      await this.makeSessionDir(sessionDir, owner, spec);

      const cgroup = this.cgroupFor(spec.sessionId);
      undo.push(async () => {
        await cgroup.killAll();
        await cgroup.remove();
      });
      await cgroup.create(this.config.limits);

      const command = await this.commandFor(spec, env, { uid, sessionDir, homeDir, cgroup });
      const sandbox: BwrapSandbox = {
        sessionId: spec.sessionId,
        homeKey: spec.homeKey,
        command,
        runtimeDir: path.join(sessionDir, 'run'),
        runtimeDirInside: INSIDE.runtimeDir,
        owner,
        homeDir,
        cgroup,
        tmpDir: path.join(sessionDir, 'tmp'),
        sessionDir,
        destroy: () => this.destroy(spec.sessionId),
      };
      session.sandbox = sandbox;
      return sandbox;
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      this.live.delete(spec.sessionId);
      throw error;
    }
  }

  private async makeSessionDir(dir: string, owner: SandboxOwner, spec: SandboxSpec): Promise<void> {
    await mkdir(dir, { mode: 0o750 });
    await chown(dir, 0, owner.gid);
    await chmod(dir, 0o750);
    await mkdir(path.join(dir, 'etc'), { mode: 0o755 });
    await writeFile(path.join(dir, 'etc', 'hosts'), hostsFile(this.config.hostname, spec.env.TRUSTLAB_HUB), {
      mode: 0o644,
    });
    if (spec.hubCaFile !== undefined) {
      // A copy: the original sits under the data dir, which the attendee's uid cannot (and must not) reach.
      await copyFile(spec.hubCaFile, path.join(dir, 'etc', 'hub-ca.crt'));
      await chmod(path.join(dir, 'etc', 'hub-ca.crt'), 0o644);
    }
    const run = path.join(dir, 'run');
    await mkdir(run, { mode: 0o750 });
    await chown(run, 0, owner.gid);
    await chmod(run, 0o750);
    const tmp = path.join(dir, 'tmp');
    await mkdir(tmp, { mode: 0o700 });
    // tmpfs(5): size and nr_inodes bound the attendee's /tmp (bwrap 0.8 has --size but no inode limit).
    const { tmpBytes, tmpInodes } = this.config.limits;
    await runProgram(this.programs.mount, [
      '-t',
      'tmpfs',
      '-o',
      `size=${tmpBytes},nr_inodes=${tmpInodes},mode=0700,uid=${owner.uid},gid=${owner.gid},nosuid,nodev`,
      'tmpfs',
      tmp,
    ]);
  }

  private async commandFor(
    spec: SandboxSpec,
    specEnv: Record<string, string>,
    session: { uid: number; sessionDir: string; homeDir: string; cgroup: SessionCgroup },
  ): Promise<SpawnCommand> {
    const { user } = this.config;
    const home = `/home/${user.name}`;
    const env: Record<string, string> = {
      LANG: 'C.UTF-8',
      TERM: 'xterm-256color',
      ...specEnv,
      // The driver's own variables win: they describe the sandbox as it is.
      HOME: home,
      USER: user.name,
      LOGNAME: user.name,
      SHELL: '/bin/bash',
      PATH: INSIDE_PATH,
      [SANDBOX_ENV.hubSocket]: `${INSIDE.runtimeDir}/${RUNTIME_SOCKETS.hub}`,
      [SANDBOX_ENV.events]: `${INSIDE.runtimeDir}/${RUNTIME_SOCKETS.events}`,
    };
    if (spec.hubCaFile !== undefined) env.TRUSTLAB_HUB_CA = INSIDE.hubCa;
    const plan: CommandPlan = {
      programs: this.programs,
      seccompFile: this.path('seccomp.bpf'),
      nodePath: this.config.nodePath,
      clientDir: this.config.clientDir,
      argsFile: path.join(session.sessionDir, 'bwrap.args'),
      procsFiles: session.cgroup.procsFiles,
      hostUid: session.uid,
      user,
      hostname: this.config.hostname,
      labDir: this.path('lab'),
      sessionDir: session.sessionDir,
      homeDir: session.homeDir,
      hasHubCa: spec.hubCaFile !== undefined,
      env,
    };
    await writeFile(plan.argsFile, bwrapArgsFile(plan), { mode: 0o600 });
    return buildCommand(plan);
  }

  private destroy(sessionId: string): Promise<void> {
    const session = this.live.get(sessionId);
    if (!session?.sandbox) return Promise.resolve();
    const sandbox = session.sandbox;
    session.teardown ??= (async () => {
      // Processes first: nothing may hold the mounts, and nothing may fork while we look.
      await sandbox.cgroup.killAll();
      await sandbox.cgroup.remove();
      await this.removeSessionDir(sandbox.sessionDir);
      await this.homes.detach(sandbox.homeKey);
      this.live.delete(sessionId);
    })();
    // A failed teardown can be tried again.
    session.teardown.catch(() => {
      session.teardown = undefined;
    });
    return session.teardown;
  }

  /** Unmounts /tmp and removes the session directory; refuses to delete through a mount. */
  private async removeSessionDir(dir: string): Promise<void> {
    await unmountAll(dir, this.programs.umount);
    if (mountsUnder(await readMounts(), dir).length > 0) {
      throw new BwrapDriverError('TEARDOWN_FAILED', `${dir} still has mounts; not removing it`);
    }
    await rm(dir, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    const failures: unknown[] = [];
    for (const sessionId of [...this.live.keys()]) {
      await this.destroy(sessionId).catch((error: unknown) => failures.push(error));
    }
    if (failures.length > 0) {
      // The runtime root stays taken: what is left there still needs this driver (or a restart).
      throw new BwrapDriverError('TEARDOWN_FAILED', `${failures.length} sandbox(es) could not be torn down`, {
        cause: failures[0],
      });
    }
    if (this.ownsRuntimeRoot) {
      await rm(this.path('lab'), { recursive: true, force: true });
      await rm(this.path('seccomp.bpf'), { force: true });
      await rm(this.path('driver.pid'), { force: true });
      ownedRuntimeRoots.delete(this.config.runtimeRoot);
      this.ownsRuntimeRoot = false;
    }
  }
}

function validateSpec(spec: SandboxSpec): Record<string, string> {
  for (const [field, value] of [
    ['sessionId', spec.sessionId],
    ['homeKey', spec.homeKey],
  ] as const) {
    if (!SANDBOX_ID_PATTERN.test(value)) {
      throw new BwrapDriverError('INVALID_SPEC', `invalid ${field} ${JSON.stringify(value)}`);
    }
  }
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.env)) {
    if (!ENV_NAME.test(name) || value.includes('\0')) {
      throw new BwrapDriverError('INVALID_SPEC', `invalid environment variable ${JSON.stringify(name)}`);
    }
    env[name] = value;
  }
  return env;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function assertWorldReadable(file: string, bits: number, what: string): Promise<void> {
  let mode: number;
  try {
    mode = (await stat(file)).mode;
  } catch (error) {
    throw new BwrapDriverError('INVALID_CONFIG', `${what} ${file} not found`, { cause: error });
  }
  if ((mode & bits) !== bits) {
    throw new BwrapDriverError(
      'INVALID_CONFIG',
      `${what} ${file} (mode ${(mode & 0o777).toString(8)}) is not readable by the sandbox's uid`,
      { suggestion: `chmod o+${bits & 0o001 ? 'rx' : 'r'} ${file}` },
    );
  }
}

/** bwrap runs as the attendee's uid and must be able to walk down to the runtime root. */
async function assertTraversable(dir: string): Promise<void> {
  for (let current = path.dirname(dir); ; current = path.dirname(current)) {
    const info = await stat(current);
    if ((info.mode & 0o001) === 0) {
      throw new BwrapDriverError(
        'INVALID_CONFIG',
        `runtimeRoot ${dir}: ${current} is not searchable by other users (mode ${(info.mode & 0o777).toString(8)})`,
        { suggestion: 'Put the runtime root under a directory such as /run that every user may traverse.' },
      );
    }
    if (current === path.dirname(current)) return;
  }
}
