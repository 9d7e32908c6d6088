import { existsSync } from 'node:fs';
import { lstat, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { HomeStore } from './home.js';
import { findProgram, isRoot, mountsUnder, readMounts, runProgram } from './host.js';

const programs = {
  mount: findProgram('mount'),
  umount: findProgram('umount'),
  mkfs: findProgram('mkfs.ext4'),
  losetup: findProgram('losetup'),
};
// Mounting needs root and the programs; tests/terminal/isolation.test.ts covers the whole driver.
const canMount = process.platform === 'linux' && isRoot() && Object.values(programs).every(Boolean);

describe.skipIf(!canMount)('HomeStore (as root)', () => {
  let imagesDir: string;
  let mountRoot: string;
  let store: HomeStore;
  const owner = { uid: 233001, gid: 233001 };

  beforeAll(async () => {
    imagesDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-home-images-'));
    mountRoot = await mkdtemp(path.join(os.tmpdir(), 'trustlab-home-mounts-'));
    store = new HomeStore({
      imagesDir,
      mountRoot,
      sizeBytes: 8 * 1024 * 1024,
      inodes: 128,
      spareImages: 1,
      programs: programs as Record<keyof typeof programs, string>,
    });
  });

  afterAll(async () => {
    await store?.close();
    for (const dir of [mountRoot, imagesDir]) {
      for (const point of mountsUnder(await readMounts(), dir)) {
        await runProgram(programs.umount!, [point]).catch(() => undefined);
      }
      // Never delete through a mount.
      if (mountsUnder(await readMounts(), dir).length === 0) await rm(dir, { recursive: true, force: true });
    }
  });

  const spares = async () =>
    (await readdir(path.join(imagesDir, 'spare')).catch(() => [] as string[])).filter((name) =>
      name.endsWith('.img'),
    );

  it('makes a blank image ahead, gives it to the next new home, and makes another', async () => {
    await store.prepareSpares();
    const deadline = performance.now() + 20_000;
    while ((await spares()).length === 0 && performance.now() < deadline) {
      await new Promise((done) => setTimeout(done, 50));
    }
    const [spare] = await spares();
    expect(spare).toMatch(/^blank-8388608-128-[0-9a-f]+\.img$/);
    const spareInode = (await stat(path.join(imagesDir, 'spare', spare!))).ino;

    // Two new homes at once, the owner still on its way: one takes the spare, one is made on the spot.
    const later = new Promise<typeof owner>((resolve) => setTimeout(() => resolve(owner), 100));
    const [alice, bob] = await Promise.all([store.attach('alice', later), store.attach('bob', owner)]);
    const inodes = await Promise.all(
      ['alice', 'bob'].map(async (key) => (await stat(store.imagePath(key))).ino),
    );
    expect(inodes).toContain(spareInode);
    for (const home of [alice, bob]) {
      const info = await lstat(home);
      expect([info.uid, info.gid, info.mode & 0o777]).toEqual([owner.uid, owner.gid, 0o700]);
      expect(mountsUnder(await readMounts(), path.dirname(home))).toEqual([path.dirname(home)]);
    }

    await Promise.all([store.detach('alice'), store.detach('bob')]);
    expect(mountsUnder(await readMounts(), mountRoot)).toEqual([]);
    // The spare taken is replaced.
    while ((await spares()).length === 0 && performance.now() < deadline + 20_000) {
      await new Promise((done) => setTimeout(done, 50));
    }
    expect(await spares()).toHaveLength(1);
  }, 60_000);

  it('fails the attach, and leaves nothing mounted, when the owner cannot be found', async () => {
    const failed = await store.attach('carol', Promise.reject(new Error('no uid'))).catch((error) => error);
    expect((failed as Error).message).toBe('no uid');
    expect(store.isAttached('carol')).toBe(false);
    expect(mountsUnder(await readMounts(), mountRoot)).toEqual([]);
  }, 30_000);

  it('refuses a home whose image another process has attached, since two mounts would corrupt it', async () => {
    // A new home's image is new (a spare or made now), so only a returning home is looked for.
    await store.attach('fay', owner);
    await store.detach('fay');
    const device = (
      await runProgram(programs.losetup!, ['-f', '--show', store.imagePath('fay')])
    ).stdout.trim();
    try {
      await expect(store.attach('fay', owner)).rejects.toMatchObject({
        code: 'HOME_BUSY',
        message: expect.stringContaining(device),
      });
      expect(store.isAttached('fay')).toBe(false);
      expect(mountsUnder(await readMounts(), mountRoot)).toEqual([]);
    } finally {
      await runProgram(programs.losetup!, ['-d', device]);
    }
    await store.attach('fay', owner);
    await store.detach('fay');
  }, 60_000);

  it('resets a home to a blank file system, only while nothing mounts it', async () => {
    const home = await store.attach('dave', owner);
    await writeFile(path.join(home, 'notes.txt'), 'old work');
    await expect(store.reset('dave')).rejects.toMatchObject({ code: 'HOME_BUSY' });
    expect(existsSync(path.join(home, 'notes.txt'))).toBe(true);
    await store.detach('dave');

    await store.reset('dave');
    expect(existsSync(store.imagePath('dave'))).toBe(false);
    const again = await store.attach('dave', owner);
    expect(await readdir(again)).toEqual([]);
    const info = await lstat(again);
    expect([info.uid, info.gid, info.mode & 0o777]).toEqual([owner.uid, owner.gid, 0o700]);
    await store.detach('dave');
    // A home never made is already blank.
    await expect(store.reset('erin')).resolves.toBeUndefined();
    expect(mountsUnder(await readMounts(), mountRoot)).toEqual([]);
  }, 60_000);
});
