/**
 * What one attendee can do to another, and to the host, from the bwrap
 * sandbox: real sandboxes, real shells in ptys, real attempts. Each check
 * pairs the refusal with a positive control where one exists (the same
 * attempt succeeding where it should), so that a check cannot pass for a
 * reason that has nothing to do with isolation.
 *
 * Needs root, bubblewrap, util-linux (setpriv, losetup), e2fsprogs and perl
 * (perl-base: essential on Debian). Locally, without them, the suite is
 * skipped with a note; under CI=true that is a failure.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFile,
  chmod,
  chown,
  mkdtemp,
  readFile,
  readdir,
  rm,
  rmdir,
  stat,
  writeFile,
} from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { BwrapDriver, BwrapSandbox } from '../../terminal-server/src/sandbox/bwrap/index.js';
import { createBwrapDriver, probeBwrap } from '../../terminal-server/src/sandbox/bwrap/index.js';
import {
  findProgram,
  mountsUnder,
  readMounts,
  runProgram,
} from '../../terminal-server/src/sandbox/bwrap/host.js';
import { SYSCALL_TABLES, TIOCLINUX, TIOCSTI } from '../../terminal-server/src/sandbox/bwrap/seccomp.js';
import { isCi, requireBinariesForSuite } from '../support/index.js';
import type { ProbeResult } from './sandbox-support.js';
import {
  SandboxShell,
  installProbe,
  probeAsUid,
  requireProgramsForSuite,
  requireRootForSuite,
} from './sandbox-support.js';

const MiB = 1024 * 1024;
const LIMITS = {
  memoryBytes: 128 * MiB,
  pids: 48,
  cpus: 1,
  homeBytes: 16 * MiB,
  homeInodes: 256,
  tmpBytes: 8 * MiB,
  tmpInodes: 64,
};

function suiteCanRun(): boolean {
  const binaries = requireBinariesForSuite(['bwrap']);
  const programs = requireProgramsForSuite({
    setpriv: 'util-linux',
    losetup: 'mount',
    'mkfs.ext4': 'e2fsprogs',
    perl: 'perl-base',
  });
  if (!binaries || !programs || !requireRootForSuite('the sandbox isolation suite')) return false;
  const probe = probeBwrap();
  if (probe.available) return true;
  const message = `the bwrap sandbox cannot run on this host: ${probe.reason}`;
  if (isCi()) throw new Error(message);
  console.warn(`[sandbox] SKIPPED, not passed: ${message}`);
  return false;
}

const canRun = suiteCanRun();
const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
const table = SYSCALL_TABLES[arch];

/** Unique per run, so that parallel runs and leftovers never collide. */
const tag = `iso${process.pid}`;
const cgroupPrefix = `trustlab-${tag}-`;
const persistencePrefix = `trustlab-${tag}p-`;

interface Attendee {
  sandbox: BwrapSandbox;
  shell: SandboxShell;
  probe: { inside: string; host: string };
}

async function startAttendee(
  driver: BwrapDriver,
  sessionId: string,
  homeKey: string,
  hubCaFile?: string,
): Promise<Attendee> {
  const sandbox = await driver.create({
    sessionId,
    homeKey,
    env: { TRUSTLAB_HUB: 'hub.trustlab.test:4443' },
    ...(hubCaFile ? { hubCaFile } : {}),
  });
  const probe = await installProbe(sandbox);
  const shell = await SandboxShell.start(sandbox);
  return { sandbox, shell, probe };
}

async function probe(attendee: Attendee, ...args: string[]): Promise<ProbeResult & { code: string }> {
  return attendee.shell.probe(attendee.probe.inside, args);
}

function readStatus(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/status`, 'utf8');
}

function statusField(status: string, field: string): string {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
}

/**
 * Everything on the host that still carries the session: processes of its
 * uid, cgroup dirs, mounts, loop devices. A zombie counts only if its parent
 * is this test process (ours to reap); bwrap's own zombie goes to the host's
 * init (see processesByUid in host.ts), and runs nothing.
 */
async function leftovers(sandbox: BwrapSandbox, imagePath: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const status = await readStatus(Number(name)).catch(() => '');
    const uids = statusField(status, 'Uid').split(/\s+/).map(Number);
    if (!uids.includes(sandbox.owner.uid)) continue;
    const zombie = statusField(status, 'State').startsWith('Z');
    if (zombie && Number(statusField(status, 'PPid')) !== process.pid) continue;
    found.push(`process ${name} of uid ${sandbox.owner.uid} (${statusField(status, 'State')})`);
  }
  for (const dir of sandbox.cgroup.dirs) if (existsSync(dir)) found.push(`cgroup ${dir}`);
  const mounts = await readMounts();
  for (const point of [
    ...mountsUnder(mounts, sandbox.sessionDir),
    ...mountsUnder(mounts, path.dirname(sandbox.homeDir)),
  ]) {
    found.push(`mount ${point}`);
  }
  const loops = (await runProgram(findProgram('losetup') ?? 'losetup', ['-j', imagePath])).stdout.trim();
  if (loops !== '') found.push(`loop device ${loops}`);
  if (existsSync(sandbox.sessionDir)) found.push(`directory ${sandbox.sessionDir}`);
  return found;
}

/** Last-resort cleanup by name: cgroups with this run's prefix, mounts under this run's dirs. */
async function sweep(prefix: string, dirs: readonly string[]): Promise<void> {
  for (const controller of ['pids', 'memory', 'cpu', 'freezer', '']) {
    const base = path.join('/sys/fs/cgroup', controller);
    const names = await readdir(base).catch(() => [] as string[]);
    for (const name of names.filter((entry) => entry.startsWith(prefix))) {
      const procs = await readFile(path.join(base, name, 'cgroup.procs'), 'utf8').catch(() => '');
      for (const pid of procs.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await new Promise((done) => setTimeout(done, 100));
      await rmdir(path.join(base, name)).catch(() => undefined);
    }
  }
  for (const dir of dirs) {
    for (const point of mountsUnder(await readMounts(), dir)) {
      await runProgram(findProgram('umount') ?? 'umount', [point]).catch(() => undefined);
    }
    // Never delete through a mount: a home still mounted here would lose its files.
    if (mountsUnder(await readMounts(), dir).length === 0) await rm(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!canRun)('bwrap sandbox isolation', () => {
  const canary = `canary-${randomBytes(12).toString('hex')}`;
  let dataDir: string;
  let runtimeRoot: string;
  let clientDir: string;
  let caDir: string;
  let driver: BwrapDriver;
  let alice: Attendee;
  let bob: Attendee;

  beforeAll(async () => {
    // The server's own secret: nothing of it may reach a sandbox.
    process.env.TRUSTLAB_ISOLATION_CANARY = canary;
    dataDir = await mkdtemp(path.join(os.tmpdir(), `trustlab-${tag}-data-`));
    runtimeRoot = await mkdtemp(path.join(os.tmpdir(), `trustlab-${tag}-run-`));
    clientDir = await mkdtemp(path.join(os.tmpdir(), `trustlab-${tag}-client-`));
    // A CA file in a root-only directory, as the hub's is under the data dir.
    caDir = await mkdtemp(path.join(os.tmpdir(), `trustlab-${tag}-ca-`));
    await writeFile(
      path.join(caDir, 'ca.crt'),
      '-----BEGIN CERTIFICATE-----\nisolation test\n-----END CERTIFICATE-----\n',
    );
    // The bundles must be readable by the attendee's uid (dist/client is, with a default umask).
    await chmod(clientDir, 0o755);
    for (const command of ['docker', 'notary']) {
      await writeFile(
        path.join(clientDir, `${command}.mjs`),
        `console.log('${command} bundle', process.argv.slice(2).join(' '), process.env.TRUSTLAB_ISOLATION_CANARY ?? 'no-canary');\n`,
      );
    }
    driver = createBwrapDriver({
      dataDir,
      runtimeRoot,
      uidPool: { first: 231000, last: 231049 },
      cgroup: { prefix: cgroupPrefix },
      clientDir,
      limits: LIMITS,
    });
    alice = await startAttendee(driver, 's-alice', 'alice', path.join(caDir, 'ca.crt'));
    bob = await startAttendee(driver, 's-bob', 'bob');
  }, 60_000);

  afterAll(async () => {
    delete process.env.TRUSTLAB_ISOLATION_CANARY;
    alice?.shell.kill();
    bob?.shell.kill();
    await driver?.close().catch((error: unknown) => console.error('driver close failed', error));
    await sweep(cgroupPrefix, [runtimeRoot, dataDir, clientDir, caDir].filter(Boolean));
  }, 60_000);

  it('runs the attendee as an unprivileged host uid of their own, never root (seen from the host)', async () => {
    expect(alice.sandbox.owner.uid).toBeGreaterThanOrEqual(231000);
    expect(bob.sandbox.owner.uid).not.toBe(alice.sandbox.owner.uid);
    const pids = await alice.sandbox.cgroup.pids();
    // bwrap outside, bwrap's init and bash inside, at least.
    expect(pids.length).toBeGreaterThanOrEqual(3);
    expect(pids).toContain(alice.shell.pid);
    for (const pid of pids) {
      const status = await readStatus(pid);
      const uid = alice.sandbox.owner.uid;
      expect(statusField(status, 'Uid').split(/\s+/).map(Number), `uid of pid ${pid}`).toEqual([
        uid,
        uid,
        uid,
        uid,
      ]);
      expect(statusField(status, 'Gid').split(/\s+/).map(Number), `gid of pid ${pid}`).toEqual([
        uid,
        uid,
        uid,
        uid,
      ]);
      expect(statusField(status, 'CapEff')).toBe('0000000000000000');
    }
  });

  it('applies the configured limits to the session cgroup', async () => {
    const read = async (controller: string, file: string) => {
      const dir =
        alice.sandbox.cgroup.dirs.find((candidate) => candidate.includes(`/${controller}/`)) ??
        alice.sandbox.cgroup.dirs[0];
      return (await readFile(path.join(dir as string, file), 'utf8')).trim();
    };
    if (driver.info.cgroup === 'v1') {
      expect(await read('pids', 'pids.max')).toBe(String(LIMITS.pids));
      expect(await read('memory', 'memory.limit_in_bytes')).toBe(String(LIMITS.memoryBytes));
      expect(await read('cpu', 'cpu.cfs_quota_us')).toBe('100000');
    } else {
      expect(await read('', 'pids.max')).toBe(String(LIMITS.pids));
      expect(await read('', 'memory.max')).toBe(String(LIMITS.memoryBytes));
      expect(await read('', 'cpu.max')).toBe('100000 100000');
    }
  });

  it("cannot read another session's home, /tmp or /proc/<pid>/root", async () => {
    const written = await bob.shell.run('echo bob-home > ~/secret.txt && echo bob-tmp > /tmp/secret.txt');
    expect(written.code).toBe(0);
    // Positive controls: the files exist where the attempts look, and their owner reads them.
    expect(await readFile(path.join(bob.sandbox.homeDir, 'secret.txt'), 'utf8')).toBe('bob-home\n');
    expect(await readFile(path.join(bob.sandbox.tmpDir, 'secret.txt'), 'utf8')).toBe('bob-tmp\n');
    expect((await probe(bob, 'read', '/tmp/secret.txt')).result).toBe('ok');

    const bobPid = bob.shell.pid;
    // Inside alice's namespaces, bob's paths do not exist at all.
    expect((await probe(alice, 'read', path.join(bob.sandbox.homeDir, 'secret.txt'))).result).toBe('ENOENT');
    expect((await probe(alice, 'read', path.join(bob.sandbox.tmpDir, 'secret.txt'))).result).toBe('ENOENT');
    expect((await probe(alice, 'read', '/tmp/secret.txt')).result).toBe('ENOENT');
    expect((await probe(alice, 'read', `/proc/${bobPid}/root/`)).result).toBe('ENOENT');
    expect((await alice.shell.run('ls -A /home')).output).toMatch(/^\s*learner\s*$/m);

    // Even as alice's uid on the host (outside every namespace), bob's files are closed to her.
    const uid = alice.sandbox.owner.uid;
    expect(
      (await probeAsUid(uid, alice.probe.host, ['read', path.join(bob.sandbox.homeDir, 'secret.txt')]))
        .result,
    ).toBe('EACCES');
    expect(
      (await probeAsUid(uid, alice.probe.host, ['read', path.join(bob.sandbox.tmpDir, 'secret.txt')])).result,
    ).toBe('EACCES');
    expect((await probeAsUid(uid, alice.probe.host, ['read', `/proc/${bobPid}/root/`])).result).toBe(
      'EACCES',
    );
    expect((await probeAsUid(uid, alice.probe.host, ['read', bob.sandbox.runtimeDir])).result).toBe('EACCES');
    // Control: the same uid reads its own home.
    await alice.shell.run('echo alice-home > ~/mine.txt');
    expect(
      (await probeAsUid(uid, alice.probe.host, ['read', path.join(alice.sandbox.homeDir, 'mine.txt')]))
        .result,
    ).toBe('ok');
  });

  it("cannot see or signal another session's processes", async () => {
    await bob.shell.run('sleep 600 & echo started');
    const sleepers: number[] = [];
    for (const pid of await bob.sandbox.cgroup.pids()) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline === 'sleep\u0000600\u0000') sleepers.push(pid);
    }
    expect(sleepers).toHaveLength(1);
    const bobSleep = sleepers[0] as number;

    const seen = await probe(alice, 'processes');
    expect(seen.result).toBe('ok');
    expect(seen.list).toContain('bash');
    expect(seen.list).not.toContain('sleep 600');
    // Her own pid namespace: bwrap's init, bash, the probe (perl), and little else.
    expect(Number(seen.count)).toBeLessThan(8);

    expect((await probe(alice, 'kill', '9', String(bobSleep))).result).toBe('ESRCH');
    expect(
      (await probeAsUid(alice.sandbox.owner.uid, alice.probe.host, ['kill', '9', String(bobSleep)])).result,
    ).toBe('EPERM');
    // Control: she can signal her own processes.
    const own = await alice.shell.run('sleep 600 & kill -9 $!; wait $! 2>/dev/null; echo "status=$?"');
    expect(own.output).toContain('status=137');
    expect(statusField(await readStatus(bobSleep), 'State')).toMatch(/^S/);
    await bob.shell.run('kill %1; wait 2>/dev/null');
  });

  it('holds a bounded fork bomb (200 forks at most) at the pids limit', async () => {
    const result = await probe(alice, 'forks', '200', '5');
    expect(result.error).toBe('EAGAIN');
    expect(Number(result.forks)).toBeGreaterThan(0);
    expect(Number(result.forks)).toBeLessThan(LIMITS.pids);
    const pidsDir =
      driver.info.cgroup === 'v1'
        ? (alice.sandbox.cgroup.dirs.find((dir) => dir.includes('/pids/')) as string)
        : (alice.sandbox.cgroup.dirs[0] as string);
    const events = await readFile(path.join(pidsDir, 'pids.events'), 'utf8');
    expect(Number(/^max (\d+)$/m.exec(events)?.[1])).toBeGreaterThan(0);
    if (existsSync(path.join(pidsDir, 'pids.peak'))) {
      expect(Number(await readFile(path.join(pidsDir, 'pids.peak'), 'utf8'))).toBeLessThanOrEqual(
        LIMITS.pids,
      );
    }
    // The shell, and the other session, go on.
    expect((await alice.shell.run('echo alive')).output).toContain('alive');
    expect((await bob.shell.run('echo alive')).output).toContain('alive');
  });

  it('OOM-kills a memory hog inside its own cgroup while the shell and other sessions live', async () => {
    const before = await alice.sandbox.cgroup.oomKills();
    const hog = await alice.shell.run(`perl ${alice.probe.inside} hog 1024`, 60_000);
    expect(hog.code).toBe(137); // SIGKILL from the OOM killer
    expect(hog.output).not.toContain('allocated');
    expect(await alice.sandbox.cgroup.oomKills()).toBeGreaterThan(before);
    expect(await bob.sandbox.cgroup.oomKills()).toBe(0);
    expect((await alice.shell.run('echo alive')).output).toContain('alive');
    expect((await bob.shell.run('echo alive')).output).toContain('alive');
  }, 90_000);

  it('gives ENOSPC at the disk and inode limits of the home and of /tmp', async () => {
    const homeFill = await probe(alice, 'fill', '/home/learner/fill', '64');
    expect(homeFill.result).toBe('ENOSPC');
    expect(Number(homeFill.mib)).toBeLessThanOrEqual(16);
    expect(Number(homeFill.mib)).toBeGreaterThanOrEqual(8);
    const homeInodes = await probe(alice, 'inodes', '/home/learner/many', '1000');
    expect(homeInodes.result).toBe('ENOSPC');
    expect(Number(homeInodes.files)).toBeLessThan(LIMITS.homeInodes);
    expect(Number(homeInodes.files)).toBeGreaterThan(LIMITS.homeInodes / 2);
    const tmpFill = await probe(alice, 'fill', '/tmp/fill', '64');
    expect(tmpFill.result).toBe('ENOSPC');
    expect(Number(tmpFill.mib)).toBeLessThanOrEqual(8);
    const tmpInodes = await probe(alice, 'inodes', '/tmp/many', '1000');
    expect(tmpInodes.result).toBe('ENOSPC');
    expect(Number(tmpInodes.files)).toBeLessThan(LIMITS.tmpInodes);
    // The probe removed what it wrote: there is room again.
    expect((await alice.shell.run('echo ok > ~/after-fill && rm ~/after-fill')).code).toBe(0);
  }, 60_000);

  it('reaches no network (host loopback, other addresses, DNS) but does reach a unix socket in its runtime dir', async () => {
    let connections = 0;
    const tcp = net.createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((done) => tcp.listen(0, '0.0.0.0', done));
    const port = (tcp.address() as net.AddressInfo).port;
    const echoPath = path.join(alice.sandbox.runtimeDir, 'echo.sock');
    const echo = net.createServer((socket) =>
      socket.once('data', (data) => socket.end(`pong:${data.toString().trim()}\n`)),
    );
    await new Promise<void>((done) => echo.listen(echoPath, done));
    try {
      await chown(echoPath, alice.sandbox.owner.uid, alice.sandbox.owner.gid);
      await chmod(echoPath, 0o600);
      // Control: the server answers on the host.
      await new Promise<void>((done, fail) => net.connect(port, '127.0.0.1', done).once('error', fail));
      await new Promise((done) => setTimeout(done, 50));
      expect(connections).toBe(1);

      expect((await probe(alice, 'tcp', '127.0.0.1', String(port))).result).toBe('ECONNREFUSED');
      const external = Object.values(os.networkInterfaces())
        .flat()
        .find((address) => address && address.family === 'IPv4' && !address.internal);
      if (external) {
        expect((await probe(alice, 'tcp', external.address, String(port))).result).toBe('ENETUNREACH');
      } else {
        console.warn('[sandbox] no non-loopback IPv4 address on this host: that case is not checked');
      }
      expect((await probe(alice, 'tcp', '1.1.1.1', '53')).result).toBe('ENETUNREACH');
      expect((await probe(alice, 'dns', 'example.com')).result).toBe('failed');
      expect(connections).toBe(1);

      const reply = await probe(alice, 'unix', `${alice.sandbox.runtimeDirInside}/echo.sock`);
      expect(reply).toMatchObject({ result: 'ok', reply: 'pongping' });
      // Bob has no such path, and his uid may not connect on the host either.
      expect((await probe(bob, 'unix', `${alice.sandbox.runtimeDirInside}/echo.sock`)).result).toBe('ENOENT');
      expect((await probeAsUid(bob.sandbox.owner.uid, bob.probe.host, ['unix', echoPath])).result).toBe(
        'EACCES',
      );
    } finally {
      tcp.close();
      echo.close();
    }
  });

  it('has no capability, no new privileges, no su, no new namespaces, no io_uring, keyctl or terminal injection', async () => {
    const status = await alice.shell.run('grep -E "^(CapEff|CapPrm|NoNewPrivs|Seccomp):" /proc/self/status');
    expect(status.output).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status.output).toMatch(/^CapPrm:\s+0000000000000000$/m);
    expect(status.output).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status.output).toMatch(/^Seccomp:\s+2$/m);

    const su = await alice.shell.run('timeout 10 su -c "id -u" root </dev/null');
    expect(su.code).not.toBe(0);
    expect(su.code).not.toBe(124); // failed, rather than hung at a prompt
    expect(su.output).not.toMatch(/^0\s*$/m);
    for (const flags of ['-U', '-r', '-n', '-m']) {
      const unshare = await alice.shell.run(`unshare ${flags} true`);
      expect(unshare.code, `unshare ${flags}`).not.toBe(0);
    }

    const uid = alice.sandbox.owner.uid;
    const ioUringSetup = ['syscall', String(table.denied.io_uring_setup), '1', 'buf:120'];
    const keyctl = ['syscall', String(table.denied.keyctl), '0', '-3', '0']; // KEYCTL_GET_KEYRING_ID of the session keyring
    expect((await probe(alice, ...ioUringSetup)).result).toBe('EPERM');
    expect((await probe(alice, ...keyctl)).result).toBe('EPERM');
    // Controls: the same calls, as the same uid but outside the sandbox, are not refused with EPERM
    // (io_uring only when the host allows it: kernel.io_uring_disabled = 0).
    const ioUringDisabled = (
      await readFile('/proc/sys/kernel/io_uring_disabled', 'utf8').catch(() => '0')
    ).trim();
    if (ioUringDisabled === '0')
      expect((await probeAsUid(uid, alice.probe.host, ioUringSetup)).result).toBe('ok');
    else
      console.warn(`[sandbox] kernel.io_uring_disabled=${ioUringDisabled}: no outside control for io_uring`);
    expect((await probeAsUid(uid, alice.probe.host, keyctl)).result).toBe('ok');
    if (arch === 'x64') {
      const x32Getpid = ['syscall', String(0x40000000 | 39)];
      expect((await probe(alice, ...x32Getpid)).result).toBe('EPERM');
      expect((await probeAsUid(uid, alice.probe.host, x32Getpid)).result).not.toBe('EPERM');
    }

    const ioctl = (request: bigint) => probe(alice, 'ioctl', String(table.ioctl), request.toString());
    expect((await ioctl(BigInt(TIOCSTI))).result).toBe('EPERM');
    // The kernel reads the command as 32 bits; high bits must not slip past the filter.
    expect((await ioctl((1n << 32n) | BigInt(TIOCSTI))).result).toBe('EPERM');
    expect((await ioctl(BigInt(TIOCLINUX))).result).toBe('EPERM');
    // Control: an ordinary terminal ioctl (TIOCGWINSZ) works on the same descriptor.
    expect((await ioctl(0x5413n)).result).toBe('ok');
  }, 60_000);

  it('gives no root to a setuid-root file planted in the home, and the attendee cannot make one', async () => {
    const planted = path.join(alice.sandbox.homeDir, 'suid-id');
    await copyFile('/usr/bin/id', planted);
    await chown(planted, 0, 0);
    await chmod(planted, 0o4755);
    expect((await stat(planted)).mode & 0o4000).toBe(0o4000);
    const run = await alice.shell.run('~/suid-id -u; ~/suid-id -ru');
    expect(run.code).toBe(0);
    expect(run.output.trim().split(/\s+/)).toEqual(['1000', '1000']);
    const mount = (await readMounts()).find(
      (entry) => entry.mountPoint === path.dirname(alice.sandbox.homeDir),
    );
    expect(mount?.options).toEqual(expect.arrayContaining(['nosuid', 'nodev']));

    const own = await alice.shell.run(
      'cp /usr/bin/id ~/my-id && chmod u+s ~/my-id && ~/my-id -u && chown 0 ~/my-id',
    );
    expect(own.output).toMatch(/^1000\s*$/m);
    expect(own.code).not.toBe(0); // chown to root is refused
    expect((await stat(path.join(alice.sandbox.homeDir, 'my-id'))).uid).toBe(alice.sandbox.owner.uid);
    await alice.shell.run('rm -f ~/suid-id ~/my-id');
  });

  it("keeps the server's secrets out of the sandbox's argv and environment", async () => {
    const inside = await alice.shell.run(
      'cat /proc/1/cmdline /proc/1/environ /proc/*/cmdline /proc/*/environ 2>/dev/null | tr "\\0" "\\n"',
    );
    // Control: the files were readable (the shell's own environment is in there).
    expect(inside.output).toContain('TRUSTLAB_HUB_SOCKET=/run/trustlab/hub.sock');
    expect(inside.output).not.toContain(canary);
    // bwrap reads its options from a descriptor: pid 1's command line names no host path.
    const init = await alice.shell.run('tr "\\0" " " </proc/1/cmdline');
    expect(init.output.trim()).toBe('/usr/bin/bwrap --args 6 -- /bin/bash --rcfile /etc/trustlab/bashrc -i');
    // No descriptor crosses into the sandbox besides the terminal (and bwrap's own eventfd).
    const fds = await alice.shell.run('for fd in /proc/1/fd/* /proc/$$/fd/*; do readlink "$fd"; done');
    const targets = new Set(
      fds.output
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean),
    );
    for (const target of targets) expect(target).toMatch(/^(\/dev\/pts\/\d+|anon_inode:\[eventfd\])$/);
    const docker = await alice.shell.run('docker --version');
    expect(docker.output).toContain('docker bundle --version no-canary');
    // From the host: every process of the session, the outer bwrap included.
    for (const pid of await alice.sandbox.cgroup.pids()) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
      expect(cmdline).not.toContain(canary);
      expect(environ).not.toContain(canary);
      expect(environ).not.toContain(dataDir);
    }
    expect(process.env.TRUSTLAB_ISOLATION_CANARY).toBe(canary);
  });

  it('shows a lab environment: docker, notary and node on PATH, the hub CA, no data dir, no repository', async () => {
    const tools = await alice.shell.run(
      'command -v docker notary node && notary version && node -e "console.log(6*7)"',
    );
    expect(tools.code).toBe(0);
    expect(tools.output).toContain('/opt/trustlab/bin/docker');
    expect(tools.output).toContain('notary bundle version');
    expect(tools.output).toMatch(/^42\s*$/m);
    const ca = await alice.shell.run('cat "$TRUSTLAB_HUB_CA"');
    expect(ca.output).toContain('isolation test');
    const env = await alice.shell.run('echo "$HOME $USER $TRUSTLAB_HUB_SOCKET $TRUSTLAB_EVENTS"');
    expect(env.output).toContain('/home/learner learner /run/trustlab/hub.sock /run/trustlab/events.sock');
    expect((await probe(alice, 'read', dataDir)).result).toBe('ENOENT');
    expect((await probe(alice, 'read', process.cwd())).result).toBe('ENOENT');
    expect((await probe(alice, 'read', '/etc/shadow')).result).toBe('ENOENT');
    expect(
      (await alice.shell.run('touch /etc/x /usr/x /opt/trustlab/bin/x 2>&1')).output.match(
        /Read-only file system/g,
      ),
    ).toHaveLength(3);
    expect((await alice.shell.run('getent hosts hub.trustlab.test')).output).toContain('127.0.0.1');
  });

  it('leaves no process, cgroup, mount or loop device of a session after teardown', async () => {
    const image = path.join(dataDir, 'homes', 'bob.img');
    expect(await leftovers(bob.sandbox, image)).not.toEqual([]); // control: alive, it is all there
    await bob.sandbox.destroy();
    await bob.shell.exited;
    expect(await leftovers(bob.sandbox, image)).toEqual([]);
    await bob.sandbox.destroy(); // idempotent
    // The home's content stays on disk.
    expect((await stat(image)).size).toBe(LIMITS.homeBytes);
    // And alice's session is untouched.
    expect((await alice.shell.run('echo alive')).output).toContain('alive');

    await alice.sandbox.destroy();
    await alice.shell.exited;
    expect(await leftovers(alice.sandbox, path.join(dataDir, 'homes', 'alice.img'))).toEqual([]);
  });
});

describe.skipIf(!canRun)('bwrap sandbox persistence', () => {
  let dataDir: string;
  let runtimeRoot: string;
  let clientDir: string;
  const config = () => ({
    dataDir,
    runtimeRoot,
    uidPool: { first: 231050, last: 231059 },
    cgroup: { prefix: persistencePrefix },
    clientDir,
    limits: LIMITS,
  });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), `trustlab-${tag}p-data-`));
    runtimeRoot = await mkdtemp(path.join(os.tmpdir(), `trustlab-${tag}p-run-`));
    clientDir = await mkdtemp(path.join(os.tmpdir(), `trustlab-${tag}p-client-`));
    await chmod(clientDir, 0o755);
    for (const command of ['docker', 'notary']) await writeFile(path.join(clientDir, `${command}.mjs`), '');
  });

  afterAll(async () => {
    await sweep(persistencePrefix, [runtimeRoot, dataDir, clientDir].filter(Boolean));
  }, 60_000);

  it('keeps the home across sessions and across a new driver instance (a server restart)', async () => {
    const first = createBwrapDriver(config());
    let owner: number;
    try {
      const one = await startAttendee(first, 's-p1', 'carol');
      owner = one.sandbox.owner.uid;
      expect(
        (
          await one.shell.run(
            'echo kept > ~/notes.txt && mkdir -p ~/.docker/trust && echo "{}" > ~/.docker/config.json',
          )
        ).code,
      ).toBe(0);
      await one.sandbox.destroy();
      await one.shell.exited;

      const two = await startAttendee(first, 's-p2', 'carol');
      expect(two.sandbox.owner.uid).toBe(owner);
      const again = await two.shell.run('cat ~/notes.txt ~/.docker/config.json && stat -c %u ~/notes.txt');
      expect(again.output).toMatch(/kept\s+\{\}\s+1000/);
      await two.sandbox.destroy();
      await two.shell.exited;
    } finally {
      await first.close();
    }

    const restarted = createBwrapDriver(config());
    try {
      const three = await startAttendee(restarted, 's-p3', 'carol');
      expect(three.sandbox.owner.uid).toBe(owner);
      expect((await stat(path.join(three.sandbox.homeDir, 'notes.txt'))).uid).toBe(owner);
      const after = await three.shell.run('cat ~/notes.txt && echo more >> ~/notes.txt');
      expect(after.output).toContain('kept');
      expect(after.code).toBe(0);
      await three.sandbox.destroy();
      await three.shell.exited;
    } finally {
      await restarted.close();
    }
  }, 60_000);

  it('clears what a crashed server left (processes, mounts, cgroup) when the next driver starts, keeping the home', async () => {
    const driverModule = path.resolve(
      path.dirname(fileURLToPath(import.meta.url)),
      '../../terminal-server/src/sandbox/bwrap/index.ts',
    );
    const ptyModule = createRequire(import.meta.url).resolve('node-pty');
    // A server in a process of its own: it starts a sandbox, writes to the home, and is killed.
    const code = `
      const { createBwrapDriver } = await import(${JSON.stringify(pathToFileURL(driverModule).href)});
      const { default: pty } = await import(${JSON.stringify(pathToFileURL(ptyModule).href)});
      const driver = createBwrapDriver(JSON.parse(process.env.SANDBOX_CONFIG));
      const sandbox = await driver.create({ sessionId: 's-crash', homeKey: 'dave', env: {} });
      const shell = pty.spawn(sandbox.command.file, sandbox.command.args, { cwd: '/', env: sandbox.command.env });
      let seen = '';
      shell.onData((data) => {
        seen += data;
        if (seen.includes('@@WROTE@@')) {
          seen = '';
          console.log('READY ' + JSON.stringify({ uid: sandbox.owner.uid, sessionDir: sandbox.sessionDir, cgroups: sandbox.cgroup.dirs, home: sandbox.homeDir }));
        }
      });
      shell.write('echo before-crash > ~/crash.txt; sync; echo "@@WROTE""@@"\\r');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: process.cwd(),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SANDBOX_CONFIG: JSON.stringify(config()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const deadline = performance.now() + 30_000;
    while (!/READY (\{.*\})/.test(out)) {
      if (performance.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`the crashing server did not start its sandbox:\n${out}\n${err}`);
      }
      await new Promise((done) => setTimeout(done, 50));
    }
    const left = JSON.parse(/READY (\{.*\})/.exec(out)?.[1] as string) as {
      uid: number;
      sessionDir: string;
      cgroups: string[];
      home: string;
    };
    child.kill('SIGKILL');
    await new Promise((done) => child.once('close', done));
    // Control: the crash did leave the mounts and the cgroup behind.
    const mounts = await readMounts();
    expect(
      mountsUnder(mounts, left.sessionDir).length + mountsUnder(mounts, path.dirname(left.home)).length,
    ).toBe(2);
    expect(left.cgroups.some((dir) => existsSync(dir))).toBe(true);

    const next = createBwrapDriver(config());
    try {
      const after = await startAttendee(next, 's-after', 'dave');
      expect(left.cgroups.filter((dir) => existsSync(dir))).toEqual([]);
      expect(existsSync(left.sessionDir)).toBe(false);
      expect(after.sandbox.owner.uid).toBe(left.uid);
      expect((await after.shell.run('cat ~/crash.txt')).output).toContain('before-crash');
      // No process of the crashed session survived: those of the uid now are all the new session's.
      const current = new Set(await after.sandbox.cgroup.pids());
      for (const name of await readdir('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        const status = await readStatus(Number(name)).catch(() => '');
        if (statusField(status, 'State').startsWith('Z')) continue;
        if (statusField(status, 'Uid').split(/\s+/).map(Number).includes(left.uid)) {
          expect(current.has(Number(name)), `pid ${name} of uid ${left.uid}`).toBe(true);
        }
      }
      await after.sandbox.destroy();
      await after.shell.exited;
    } finally {
      await next.close();
    }
  }, 60_000);
});
