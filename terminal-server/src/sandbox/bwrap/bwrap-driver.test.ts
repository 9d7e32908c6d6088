import { existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { BwrapDriver } from './bwrap-driver.js';
import { createBwrapDriver } from './bwrap-driver.js';
import { mountsUnder, readMounts } from './host.js';
import { probeBwrap } from './probe.js';

// The whole driver as root, without a shell: tests/terminal/isolation.test.ts runs shells in it.
const canRun = process.platform === 'linux' && probeBwrap({ trialUid: 233100 }).available;

describe.skipIf(!canRun)('bwrap driver (as root)', () => {
  const prefix = `trustlab-unit${process.pid}-`;
  let dataDir: string;
  let runtimeRoot: string;
  let clientDir: string;
  let driver: BwrapDriver;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-driver-data-'));
    runtimeRoot = await mkdtemp(path.join(os.tmpdir(), 'trustlab-driver-run-'));
    clientDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-driver-client-'));
    await chmod(clientDir, 0o755);
    for (const command of ['docker', 'notary']) await writeFile(path.join(clientDir, `${command}.mjs`), '');
    driver = createBwrapDriver({
      dataDir,
      runtimeRoot,
      clientDir,
      uidPool: { first: 233100, last: 233109 },
      cgroup: { prefix },
      spareHomeImages: 0,
      limits: { homeBytes: 8 * 1024 * 1024, homeInodes: 128 },
    });
  });

  afterAll(async () => {
    await driver?.close().catch((error: unknown) => console.error('driver close failed', error));
    for (const dir of [runtimeRoot, dataDir, clientDir]) {
      // Never delete through a mount.
      if (dir && mountsUnder(await readMounts(), dir).length === 0)
        await rm(dir, { recursive: true, force: true });
    }
  });

  it('creates sandboxes side by side, in cgroups under a parent of their own, and times each step', async () => {
    const [a, b] = await Promise.all([
      driver.create({ sessionId: 'unit-a', homeKey: 'ann', env: {} }),
      driver.create({ sessionId: 'unit-b', homeKey: 'ben', env: {} }),
    ]);
    expect(a.owner.uid).not.toBe(b.owner.uid);
    const parent = prefix.replace(/-$/, '');
    for (const sandbox of [a, b]) {
      for (const dir of sandbox.cgroup.dirs) {
        expect(path.basename(path.dirname(dir))).toBe(parent);
        expect(path.basename(dir)).toBe(`${prefix}${sandbox.sessionId}`);
      }
      expect(Object.keys(sandbox.timings).sort()).toEqual(
        ['cgroup', 'command', 'home', 'prepare', 'sessionDir', 'total', 'uid'].sort(),
      );
      // /tmp is mounted as root's and then given to the attendee.
      const tmp = (await readMounts()).find((entry) => entry.mountPoint === sandbox.tmpDir);
      expect(tmp?.fsType).toBe('tmpfs');
      expect(statSync(sandbox.tmpDir).uid).toBe(sandbox.owner.uid);
      expect(await readFile(path.join(sandbox.sessionDir, 'etc', 'hosts'), 'utf8')).toContain('localhost');
    }
    const parentDirs = a.cgroup.dirs.map((dir) => path.dirname(dir));
    await Promise.all([a.destroy(), b.destroy()]);
    expect([...a.cgroup.dirs, ...b.cgroup.dirs].filter((dir) => existsSync(dir))).toEqual([]);
    expect(mountsUnder(await readMounts(), runtimeRoot)).toEqual([]);
    await driver.close();
    // The parent group goes with the driver.
    expect(parentDirs.filter((dir) => existsSync(dir))).toEqual([]);
  }, 60_000);

  it('resets a home only between sessions; the next one starts blank, with the same uid', async () => {
    const resetting = createBwrapDriver({
      dataDir,
      runtimeRoot,
      clientDir,
      uidPool: { first: 233110, last: 233119 },
      cgroup: { prefix },
      spareHomeImages: 0,
      limits: { homeBytes: 8 * 1024 * 1024, homeInodes: 128 },
    });
    try {
      const first = await resetting.create({ sessionId: 'unit-r1', homeKey: 'cleo', env: {} });
      await writeFile(path.join(first.homeDir, 'notes.txt'), 'old work');
      await expect(resetting.resetHome('cleo')).rejects.toMatchObject({ code: 'HOME_BUSY' });
      await first.destroy();
      await resetting.resetHome('cleo');
      const second = await resetting.create({ sessionId: 'unit-r2', homeKey: 'cleo', env: {} });
      expect(second.owner.uid).toBe(first.owner.uid);
      expect(existsSync(path.join(second.homeDir, 'notes.txt'))).toBe(false);
      expect(statSync(second.homeDir).uid).toBe(second.owner.uid);
      await second.destroy();
    } finally {
      await resetting.close();
    }
  }, 60_000);
});
