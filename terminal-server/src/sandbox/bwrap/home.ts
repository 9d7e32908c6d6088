/**
 * Persistent homes: one ext4 image per attendee under `<dataDir>/homes/`,
 * loop-mounted by the server while the attendee has a live session.
 *
 * A file system of its own gives the home hard limits that the attendee
 * meets as ENOSPC: its size and inode count are fixed by mkfs.ext4 (no
 * blocks reserved for root, `-m 0`). It is mounted nosuid and nodev, so a
 * planted setuid file or device node means nothing (mount(8)).
 *
 * Layout of an image: the file system's root belongs to root (mode 0711)
 * and holds `lost+found` and `home/`, the attendee's directory (their uid,
 * 0700), which is what the sandbox binds at /home/<user>. Mounted at
 * `<runtimeRoot>/homes/<homeKey>`.
 *
 * Invariants:
 * - An image is attached at most once: two sessions of the same home share
 *   one mount (reference counted), and an image already attached to a loop
 *   device is refused, since two ext4 mounts of one image corrupt it.
 * - The home directory belongs to the home's uid; when the uid changed
 *   since the last mount (the pool reclaimed it), the tree is re-owned
 *   before any sandbox can run in it.
 */
import { constants } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { BwrapDriverError } from './errors.js';
import { mountsUnder, readMounts, runProgram, sleep } from './host.js';

export interface HomeStoreOptions {
  /** `<dataDir>/homes`: images (root only). */
  readonly imagesDir: string;
  /** `<runtimeRoot>/homes`: mount points. */
  readonly mountRoot: string;
  readonly sizeBytes: number;
  readonly inodes: number;
  readonly programs: {
    readonly mount: string;
    readonly umount: string;
    readonly mkfs: string;
    readonly losetup: string;
  };
}

export class HomeStore {
  private readonly refs = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: HomeStoreOptions) {}

  imagePath(homeKey: string): string {
    return path.join(this.options.imagesDir, `${homeKey}.img`);
  }

  mountPoint(homeKey: string): string {
    return path.join(this.options.mountRoot, homeKey);
  }

  /** The attendee's directory on the host while mounted. */
  homeDir(homeKey: string): string {
    return path.join(this.mountPoint(homeKey), 'home');
  }

  isAttached(homeKey: string): boolean {
    return (this.refs.get(homeKey) ?? 0) > 0;
  }

  /** Mounts the home (making it on first use) for one more session; returns the home directory. */
  attach(homeKey: string, owner: { uid: number; gid: number }): Promise<string> {
    return this.serialize(homeKey, async () => {
      const count = this.refs.get(homeKey) ?? 0;
      if (count === 0) await this.mount(homeKey, owner);
      this.refs.set(homeKey, count + 1);
      return this.homeDir(homeKey);
    });
  }

  /** Drops one session's use; the last one unmounts. */
  detach(homeKey: string): Promise<void> {
    return this.serialize(homeKey, async () => {
      const count = this.refs.get(homeKey) ?? 0;
      if (count > 1) {
        this.refs.set(homeKey, count - 1);
        return;
      }
      await this.unmount(homeKey);
      this.refs.delete(homeKey);
    });
  }

  private serialize<T>(homeKey: string, task: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(homeKey) ?? Promise.resolve()).then(task);
    const settled = run.catch(() => undefined);
    this.queues.set(homeKey, settled);
    void settled.then(() => {
      if (this.queues.get(homeKey) === settled) this.queues.delete(homeKey);
    });
    return run;
  }

  private async mount(homeKey: string, owner: { uid: number; gid: number }): Promise<void> {
    const image = this.imagePath(homeKey);
    const point = this.mountPoint(homeKey);
    await mkdir(this.options.imagesDir, { recursive: true, mode: 0o700 });
    await chmod(this.options.imagesDir, 0o700);
    if (!(await exists(image))) await this.makeImage(image);

    // A mount left by a crashed server is ours to clear: nothing of this driver uses it.
    if (mountsUnder(await readMounts(), point).length > 0) await this.unmount(homeKey);
    const attached = (await runProgram(this.options.programs.losetup, ['-j', image])).stdout.trim();
    if (attached !== '') {
      throw new BwrapDriverError('HOME_BUSY', `the home image ${image} is already attached: ${attached}`, {
        suggestion: 'Another process (or lab server) uses this data directory; stop it first.',
      });
    }
    await mkdir(point, { recursive: true, mode: 0o700 });
    await runProgram(this.options.programs.mount, [
      '-t',
      'ext4',
      '-o',
      'loop,nosuid,nodev,noatime',
      image,
      point,
    ]);
    try {
      // Traversable so that the sandbox (running as the attendee) can reach home/; not listable.
      await chown(point, 0, 0);
      await chmod(point, 0o711);
      const home = this.homeDir(homeKey);
      await mkdir(home, { recursive: true, mode: 0o700 });
      const info = await lstat(home);
      if (!info.isDirectory()) throw new BwrapDriverError('HOME_BUSY', `${home} is not a directory`);
      if (info.uid !== owner.uid || info.gid !== owner.gid) await chownTree(home, owner.uid, owner.gid);
      await chmod(home, 0o700);
    } catch (error) {
      await this.unmount(homeKey).catch(() => undefined);
      throw error;
    }
  }

  private async makeImage(image: string): Promise<void> {
    const partial = `${image}.partial`;
    await rm(partial, { force: true });
    // A sparse file: blocks are allocated as the attendee writes.
    const handle = await open(partial, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      await handle.truncate(this.options.sizeBytes);
    } finally {
      await handle.close();
    }
    try {
      await runProgram(this.options.programs.mkfs, [
        '-q',
        '-F',
        '-t',
        'ext4',
        '-m',
        '0',
        '-N',
        String(this.options.inodes),
        '-L',
        'trustlab-home',
        '-E',
        'root_owner=0:0',
        partial,
      ]);
      await rename(partial, image);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  }

  private async unmount(homeKey: string): Promise<void> {
    const point = this.mountPoint(homeKey);
    await unmountAll(point, this.options.programs.umount);
    await rmdir(point).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
}

/**
 * Unmounts everything at or below `dir`, deepest first. Retries while a
 * dying process still holds the file system; never detaches lazily, since a
 * lazily detached home would stay attached to its loop device.
 */
export async function unmountAll(dir: string, umount: string, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const points = mountsUnder(await readMounts(), dir);
    if (points.length === 0) return;
    try {
      for (const point of points) await runProgram(umount, [point]);
    } catch (error) {
      if (performance.now() > deadline) {
        throw new BwrapDriverError('TEARDOWN_FAILED', `could not unmount ${points.join(', ')}`, {
          cause: error,
        });
      }
      await sleep(50);
    }
  }
}

/** lchown of a whole tree; symbolic links are re-owned, never followed. */
async function chownTree(root: string, uid: number, gid: number): Promise<void> {
  const rootDevice = (await lstat(root)).dev;
  const stack = [root];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    await lchown(dir, uid, gid);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if ((await lstat(full)).dev === rootDevice) stack.push(full);
      } else {
        // A link is re-owned itself; a regular file loses any setuid/setgid bit (chown(2)).
        await lchown(full, uid, gid);
      }
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
