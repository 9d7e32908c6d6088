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
  /**
   * Milliseconds each step of `create` took: `prepare` (the runtime root,
   * once per driver), then `uid`, `home`, `sessionDir` and `cgroup`, which
   * run side by side, then `command`; `total` is the whole call. For
   * benchmarks and operators asking where a slow start went.
   */
  readonly timings: Readonly<Record<string, number>>;
}

export interface BwrapDriver extends SandboxDriver {
  readonly info: SandboxDriverInfo & { readonly name: 'bwrap'; readonly cgroup: 'v1' | 'v2' };
  readonly config: ResolvedBwrapConfig;
  create(spec: SandboxSpec): Promise<BwrapSandbox>;
  resetHome(homeKey: string): Promise<void>;
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
  /** Set once teardown has released the home, so that a retried teardown does not release it twice. */
  homeReleased?: boolean;
}

/** Runs steps while recording how long each took. */
class StepTimes {
  readonly times: Record<string, number> = {};
  readonly #started = performance.now();

  async time<T>(step: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.times[step] = performance.now() - started;
    }
  }

  done(): Record<string, number> {
    this.times.total = performance.now() - this.#started;
    return this.times;
  }
}

class Driver implements BwrapDriver {
  readonly info: BwrapDriver['info'];
  private readonly live = new Map<string, LiveSession>();
  /** Sessions of `live` per home (from the start of `create` to the end of teardown). */
  private readonly liveHomes = new Map<string, number>();
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
      spareImages: config.spareHomeImages,
      programs: programs,
    });
  }

  private track(sessionId: string, session: LiveSession): void {
    this.live.set(sessionId, session);
    this.liveHomes.set(session.homeKey, (this.liveHomes.get(session.homeKey) ?? 0) + 1);
  }

  private untrack(sessionId: string): void {
    const session = this.live.get(sessionId);
    if (session === undefined) return;
    this.live.delete(sessionId);
    const count = (this.liveHomes.get(session.homeKey) ?? 1) - 1;
    if (count > 0) this.liveHomes.set(session.homeKey, count);
    else this.liveHomes.delete(session.homeKey);
  }

  /** Whether a session of this driver other than `sessionId` uses the home (its uid is then taken). */
  private homeInUse(homeKey: string, sessionId: string): boolean {
    const count = this.liveHomes.get(homeKey) ?? 0;
    return count > (this.live.get(sessionId)?.homeKey === homeKey ? 1 : 0);
  }

  private path(...parts: string[]): string {
    return path.join(this.config.runtimeRoot, ...parts);
  }

  /** The session cgroups' parent inside each hierarchy (see `cgroup.parent` in config.ts). */
  private get cgroupParent(): string {
    return this.config.cgroup.parent ?? this.config.cgroup.prefix.replace(/-+$/, '');
  }

  private cgroupFor(sessionId: string): SessionCgroup {
    return new SessionCgroup(this.cgroups, this.cgroupParent, `${this.config.cgroup.prefix}${sessionId}`);
  }

  /** Removes the default parent cgroup once no session is left in it (another driver's may be). */
  private async removeCgroupParent(): Promise<void> {
    if (this.config.cgroup.parent !== undefined) return;
    for (const mount of new Set(Object.values(this.cgroups.mounts))) {
      await rmdir(path.join(mount, this.cgroupParent)).catch((error: NodeJS.ErrnoException) => {
        if (!['ENOENT', 'EBUSY', 'ENOTEMPTY'].includes(error.code ?? '')) throw error;
      });
    }
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
      await this.homes.prepareSpares();
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
    // A few at a time: after a crash with hundreds of sessions, one by one would hold the
    // first attendee back for minutes.
    const sessions = await readdir(this.path('sessions')).catch(() => [] as string[]);
    await inBatches(
      sessions.filter((sessionId) => SANDBOX_ID_PATTERN.test(sessionId)),
      async (sessionId) => {
        const cgroup = this.cgroupFor(sessionId);
        await cgroup.killAll();
        await cgroup.remove();
        await this.removeSessionDir(this.path('sessions', sessionId));
      },
    );
    const homes = await readdir(this.path('homes')).catch(() => [] as string[]);
    await inBatches(homes, async (homeKey) => {
      await unmountAll(this.path('homes', homeKey), this.programs.umount);
      await rmdir(this.path('homes', homeKey)).catch(() => undefined);
    });
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
    this.track(spec.sessionId, session);
    const steps = new StepTimes();
    const undo: Array<() => Promise<void>> = [];
    try {
      await steps.time('prepare', () => this.prepare());
      const sessionDir = this.path('sessions', spec.sessionId);
      const cgroup = this.cgroupFor(spec.sessionId);
      // The uid, the home, the session directory and the cgroup do not wait for one another
      // (each is mostly a system program or a kernel round trip): only what needs the uid
      // (chown, the tmpfs owner) waits for it. Every step settles before anything is undone.
      const uid = steps.time('uid', () =>
        this.uids.acquire(spec.homeKey, (key) => this.homeInUse(key, spec.sessionId)),
      );
      const owner = uid.then((id): SandboxOwner => ({ uid: id, gid: id }));
      // Its failure is reported through `uid` below; the steps waiting on it fail with it.
      owner.catch(() => undefined);
      undo.push(async () => {
        await cgroup.killAll();
        await cgroup.remove();
      });
      undo.push(() => this.removeSessionDir(sessionDir));
      const [uidResult, homeResult, ...others] = await Promise.allSettled([
        uid,
        steps.time('home', async () => {
          const dir = await this.homes.attach(spec.homeKey, owner);
          undo.push(() => this.homes.detach(spec.homeKey));
          return dir;
        }),
        steps.time('sessionDir', () => this.makeSessionDir(sessionDir, owner, spec)),
        steps.time('cgroup', async () => {
          // A leftover of the same name (ids are random: only after a crash) goes first.
          if (cgroup.exists()) {
            await cgroup.killAll();
            await cgroup.remove();
          }
          await cgroup.create(this.config.limits);
        }),
      ]);
      for (const result of [uidResult, homeResult, ...others]) {
        if (result.status === 'rejected') throw result.reason;
      }
      const hostUid = (uidResult as PromiseFulfilledResult<number>).value;
      const homeDir = (homeResult as PromiseFulfilledResult<string>).value;

      const command = await steps.time('command', () =>
        this.commandFor(spec, env, { uid: hostUid, sessionDir, homeDir, cgroup }),
      );
      const sandbox: BwrapSandbox = {
        sessionId: spec.sessionId,
        homeKey: spec.homeKey,
        command,
        runtimeDir: path.join(sessionDir, 'run'),
        runtimeDirInside: INSIDE.runtimeDir,
        owner: { uid: hostUid, gid: hostUid },
        homeDir,
        cgroup,
        tmpDir: path.join(sessionDir, 'tmp'),
        sessionDir,
        timings: steps.done(),
        destroy: () => this.destroy(spec.sessionId),
      };
      session.sandbox = sandbox;
      return sandbox;
    } catch (error) {
      for (const step of undo.reverse()) await step().catch(() => undefined);
      this.untrack(spec.sessionId);
      throw error;
    }
  }

  /**
   * The session's directory (see the layout above). A leftover of the same
   * name is cleared first; the parts that need the owner wait for it.
   */
  private async makeSessionDir(dir: string, owner: Promise<SandboxOwner>, spec: SandboxSpec): Promise<void> {
    if (await pathExists(dir)) await this.removeSessionDir(dir);
    await mkdir(dir, { mode: 0o750 });
    const etc = path.join(dir, 'etc');
    const run = path.join(dir, 'run');
    const tmp = path.join(dir, 'tmp');
    const parts = await Promise.allSettled([
      (async () => {
        await mkdir(etc, { mode: 0o755 });
        await writeFile(path.join(etc, 'hosts'), hostsFile(this.config.hostname, spec.env.TRUSTLAB_HUB), {
          mode: 0o644,
        });
        if (spec.hubCaFile !== undefined) {
          // A copy: the original sits under the data dir, which the attendee's uid cannot (and must not) reach.
          await copyFile(spec.hubCaFile, path.join(etc, 'hub-ca.crt'));
          await chmod(path.join(etc, 'hub-ca.crt'), 0o644);
        }
      })(),
      (async () => {
        await mkdir(tmp, { mode: 0o700 });
        // tmpfs(5): size and nr_inodes bound the attendee's /tmp (bwrap 0.8 has --size but no inode limit).
        // Mounted as root's and given to the attendee after: the mount need not wait for the uid.
        const { tmpBytes, tmpInodes } = this.config.limits;
        await runProgram(this.programs.mount, [
          '-t',
          'tmpfs',
          '-o',
          `size=${tmpBytes},nr_inodes=${tmpInodes},mode=0700,uid=0,gid=0,nosuid,nodev`,
          'tmpfs',
          tmp,
        ]);
        const { uid, gid } = await owner;
        await chown(tmp, uid, gid);
      })(),
      (async () => {
        await mkdir(run, { mode: 0o750 });
        const { gid } = await owner;
        for (const target of [dir, run]) {
          await chown(target, 0, gid);
          await chmod(target, 0o750);
        }
      })(),
    ]);
    for (const part of parts) if (part.status === 'rejected') throw part.reason;
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
      [SANDBOX_ENV.token]: `${INSIDE.runtimeDir}/${RUNTIME_SOCKETS.token}`,
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

  /**
   * Removes the home's image; the next session of the home gets a blank
   * one (and keeps the home's uid, if the pool still has it for the home).
   * Refuses while a session of this driver uses the home, from the start of
   * its `create` to the end of its teardown; a `create` after this call
   * queues its mount behind the removal (HomeStore serialises per home).
   */
  async resetHome(homeKey: string): Promise<void> {
    if (this.closed) throw new BwrapDriverError('CLOSED', 'the bwrap driver is closed');
    if (!SANDBOX_ID_PATTERN.test(homeKey)) {
      throw new BwrapDriverError('INVALID_SPEC', `invalid homeKey ${JSON.stringify(homeKey)}`);
    }
    // Checked and queued in the same turn as a create() would track its session: no overlap.
    if (this.liveHomes.has(homeKey)) {
      throw new BwrapDriverError('HOME_BUSY', `the home ${homeKey} is in use by a session`, {
        suggestion: 'End the attendee’s session first (the terminal server’s resetAttendee does).',
      });
    }
    await this.homes.reset(homeKey);
  }

  private destroy(sessionId: string): Promise<void> {
    const session = this.live.get(sessionId);
    if (!session?.sandbox) return Promise.resolve();
    const sandbox = session.sandbox;
    session.teardown ??= (async () => {
      // Processes first: nothing may hold the mounts, and nothing may fork while we look.
      await sandbox.cgroup.killAll();
      // Then the rest, side by side: none of it depends on another part.
      const results = await Promise.allSettled([
        sandbox.cgroup.remove(),
        this.removeSessionDir(sandbox.sessionDir),
        (async () => {
          if (session.homeReleased) return;
          await this.homes.detach(sandbox.homeKey);
          session.homeReleased = true;
        })(),
      ]);
      for (const result of results) if (result.status === 'rejected') throw result.reason;
      this.untrack(sessionId);
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
    await Promise.all(
      [...this.live.keys()].map((sessionId) =>
        this.destroy(sessionId).catch((error: unknown) => failures.push(error)),
      ),
    );
    await this.homes.close();
    await this.uids.flush();
    if (failures.length > 0) {
      // The runtime root stays taken: what is left there still needs this driver (or a restart).
      throw new BwrapDriverError('TEARDOWN_FAILED', `${failures.length} sandbox(es) could not be torn down`, {
        cause: failures[0],
      });
    }
    await this.removeCgroupParent();
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

/** Runs `work` on every item, `size` at a time; rejects with the first failure once all have settled. */
async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>, size = 8): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (let at = 0; at < items.length; at += size) {
    for (const result of await Promise.allSettled(items.slice(at, at + size).map(work))) {
      if (result.status === 'rejected') failure ??= { error: result.reason };
    }
  }
  if (failure !== undefined) throw failure.error;
}

async function pathExists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
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
