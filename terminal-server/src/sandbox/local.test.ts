import { existsSync, readFileSync } from 'node:fs';
import {
  chmod,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnNodePty } from '../session/pty.js';
import { RUNTIME_SOCKETS, SANDBOX_ENV, type SandboxDriver } from './driver.js';
import { createLocalDriver, LOCAL_DRIVER_WARNING, removeTree } from './local.js';

let dataDir: string;
let driver: SandboxDriver | undefined;
let warnings: string[];

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'trustlab-local-'));
  warnings = [];
});

afterEach(async () => {
  await driver?.close();
  driver = undefined;
  await rm(dataDir, { recursive: true, force: true });
});

function makeDriver() {
  driver = createLocalDriver({
    dataDir,
    binDir: '/opt/lab/bin',
    warn: (message) => warnings.push(message),
    killGraceMs: 200,
  });
  return driver;
}

const spec = {
  sessionId: '00aa11bb22cc33dd',
  homeKey: 'h-alice',
  env: { LANG: 'C.UTF-8', LAB: 'content-trust' },
};

/** Alive and not a zombie waiting to be reaped (by init or by nobody, in a container). */
function alive(pid: number): boolean {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(fields.slice(fields.lastIndexOf(')') + 2, fields.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
}

describe('local sandbox driver', () => {
  it('says once, when created, that it isolates nothing', async () => {
    const local = makeDriver();
    expect(local.info).toEqual({ name: 'local', isolated: false });
    await local.create(spec);
    await local.create({ ...spec, sessionId: '00aa11bb22cc33de' });
    expect(warnings).toEqual([LOCAL_DRIVER_WARNING]);
  });

  it('prepares a private home and runtime directory', async () => {
    const sandbox = await makeDriver().create(spec);
    expect(sandbox.homeDir).toBe(join(dataDir, 'homes', 'h-alice'));
    expect(sandbox.runtimeDir).toBe(join(dataDir, 'run', spec.sessionId));
    expect(sandbox.runtimeDirInside).toBe(sandbox.runtimeDir);
    expect(sandbox.owner).toBeUndefined();
    for (const dir of [sandbox.homeDir, sandbox.runtimeDir, join(dataDir, 'homes'), join(dataDir, 'run')]) {
      expect((await stat(dir)).mode & 0o777).toBe(0o700);
    }
    expect(await readlink(join(sandbox.runtimeDir, 'bin', 'docker'))).toBe('/opt/lab/bin/docker');
    expect(await readlink(join(sandbox.runtimeDir, 'bin', 'notary'))).toBe('/opt/lab/bin/notary');
    expect(await readFile(join(sandbox.runtimeDir, 'bashrc'), 'utf8')).toContain('PS1=');
  });

  it('builds the shell environment from an allowlist', async () => {
    process.env.TRUSTLAB_TEST_SERVER_SECRET = 'must-not-leak';
    try {
      const sandbox = await makeDriver().create({ ...spec, hubCaFile: '/data/hub/ca.crt' });
      const { command } = sandbox;
      expect(command.args).toEqual(['--noprofile', '--rcfile', join(sandbox.runtimeDir, 'bashrc'), '-i']);
      expect(command.cwd).toBe(sandbox.homeDir);
      expect(command.env).toMatchObject({
        HOME: sandbox.homeDir,
        TERM: 'xterm-256color',
        LANG: 'C.UTF-8',
        LAB: 'content-trust',
        [SANDBOX_ENV.hubSocket]: join(sandbox.runtimeDir, RUNTIME_SOCKETS.hub),
        [SANDBOX_ENV.events]: join(sandbox.runtimeDir, RUNTIME_SOCKETS.events),
        TRUSTLAB_HUB_CA: '/data/hub/ca.crt',
      });
      expect(command.env.PATH!.split(':')[0]).toBe(join(sandbox.runtimeDir, 'bin'));
      expect(Object.keys(command.env).sort()).toEqual(
        [
          'HOME',
          'LAB',
          'LANG',
          'LOGNAME',
          'PATH',
          'SHELL',
          'TERM',
          'TRUSTLAB_EVENTS',
          'TRUSTLAB_HUB_CA',
          'TRUSTLAB_HUB_SOCKET',
          'TRUSTLAB_TOKEN',
          'USER',
        ].sort(),
      );
    } finally {
      delete process.env.TRUSTLAB_TEST_SERVER_SECRET;
    }
  });

  it('refuses ids that are not safe in paths', async () => {
    await expect(makeDriver().create({ ...spec, homeKey: '../etc' })).rejects.toMatchObject({
      code: 'SANDBOX_FAILED',
    });
    await expect(makeDriver().create({ ...spec, sessionId: 'A/B' })).rejects.toMatchObject({
      code: 'SANDBOX_FAILED',
    });
  });

  it('kills the whole tree on destroy, background jobs and orphans included, and keeps the home', async () => {
    const sandbox = await makeDriver().create(spec);
    const pty = spawnNodePty(sandbox.command, { cols: 80, rows: 24 });
    sandbox.onSpawn!(pty.pid);
    let output = '';
    pty.onData((data) => (output += Buffer.from(data).toString()));
    const exited = new Promise<void>((resolve) => pty.onExit(() => resolve()));
    // A job-control job (its own process group), an orphan re-parented to init, and a nohup.
    const script =
      'sleep 300 & echo $! > pids; (sleep 301 & echo $! >> pids); nohup sleep 302 >/dev/null 2>&1 & echo $! >> pids; echo STARTED-$((40+2))\r';
    let written = 0;
    const input = new TextEncoder().encode(script);
    while (written < input.byteLength) written += pty.writeSome(input.subarray(written));
    await expect.poll(() => output, { timeout: 10_000 }).toContain('STARTED-42');
    const pids = (await readFile(join(sandbox.homeDir, 'pids'), 'utf8')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(3);
    for (const pid of [pty.pid, ...pids]) expect(alive(pid)).toBe(true);

    await sandbox.destroy();
    await exited;
    for (const pid of [pty.pid, ...pids]) expect(alive(pid)).toBe(false);
    expect(existsSync(sandbox.runtimeDir)).toBe(false);
    expect(existsSync(join(sandbox.homeDir, 'pids'))).toBe(true);
    await sandbox.destroy(); // idempotent
  });

  it('empties a home on reset without following links out of it, and refuses a home in use', async () => {
    const local = makeDriver();
    const sandbox = await local.create(spec);
    const home = sandbox.homeDir;
    // Outside the home: must survive whatever links point at it.
    const outside = join(dataDir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'keep.txt'), 'keep');
    await mkdir(join(home, '.docker', 'trust'), { recursive: true });
    await writeFile(join(home, '.docker', 'config.json'), '{}');
    await writeFile(join(home, 'notes.txt'), 'notes');
    await symlink(outside, join(home, 'link-to-dir'));
    await symlink(join(outside, 'keep.txt'), join(home, '.docker', 'link-to-file'));
    await mkdir(join(home, 'locked', 'inner'), { recursive: true });
    await writeFile(join(home, 'locked', 'inner', 'f'), 'f');
    await chmod(join(home, 'locked', 'inner'), 0o500);
    await chmod(join(home, 'locked'), 0o500);

    await expect(local.resetHome!(spec.homeKey)).rejects.toMatchObject({ code: 'HOME_BUSY' });
    expect(existsSync(join(home, 'notes.txt'))).toBe(true);

    await sandbox.destroy();
    await local.resetHome!(spec.homeKey);
    expect(await readdir(home)).toEqual([]);
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    expect(await readFile(join(outside, 'keep.txt'), 'utf8')).toBe('keep');
    expect((await readdir(join(dataDir, 'homes'))).sort()).toEqual([spec.homeKey]);
    // A home never made is already empty.
    await local.resetHome!('h-nobody');
    // The next sandbox starts in the empty home.
    const next = await local.create({ ...spec, sessionId: '00aa11bb22cc33df' });
    expect(next.homeDir).toBe(home);
    expect(await readdir(home)).toEqual([]);
  });

  it('refuses to reset a home whose sandbox is still being created', async () => {
    const local = makeDriver();
    const creating = local.create(spec);
    await expect(local.resetHome!(spec.homeKey)).rejects.toMatchObject({ code: 'HOME_BUSY' });
    await (await creating).destroy();
    await expect(local.resetHome!(spec.homeKey)).resolves.toBeUndefined();
  });

  it('removes a tree without leaving it through a link', async () => {
    const target = join(dataDir, 'target');
    await mkdir(target);
    await writeFile(join(target, 'precious'), 'x');
    const tree = join(dataDir, 'tree');
    await mkdir(join(tree, 'a'), { recursive: true });
    await symlink(target, join(tree, 'a', 'escape'));
    await symlink(target, join(dataDir, 'top-link'));
    await removeTree(tree);
    await removeTree(join(dataDir, 'top-link'));
    await removeTree(join(dataDir, 'never-there'));
    expect(existsSync(tree)).toBe(false);
    expect(existsSync(join(dataDir, 'top-link'))).toBe(false);
    expect(await readFile(join(target, 'precious'), 'utf8')).toBe('x');
  });
});
