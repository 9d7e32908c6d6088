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
 *   one mount (reference counted), and an existing image already attached
 *   to a loop device is refused, since two ext4 mounts of one image corrupt
 *   it. (An image that becomes a home now, a spare or a new one, has never
 *   been attached.)
 * - The home directory belongs to the home's uid; when the uid changed
 *   since the last mount (the pool reclaimed it), the tree is re-owned
 *   before any sandbox can run in it.
 *
 * Making an image (mkfs.ext4) is the slowest step of a new attendee's
 * first prompt, so a few blank images are made ahead, in the background,
 * under `<dataDir>/homes/spare/` (named by size and inode count, so a
 * changed configuration never uses an old one); a new home takes one by a
 * rename and the store makes the next. Without a spare, the image is made
 * on the spot as before.
 *
 * Resetting a home removes its image: the next attach makes a new one (from
 * a spare), so the attendee starts on a new, empty file system, nothing of
 * the old one left, not even in its free blocks. The image is only removed
 * while nothing mounts it, in the same per-home queue as attach and detach.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';

import { BwrapDriverError } from './errors.js';
import { loopDevicesOf, mountsUnder, readMounts, runProgram, sleep } from './host.js';

export interface HomeStoreOptions {
  /** `<dataDir>/homes`: images (root only). */
  readonly imagesDir: string;
  /** `<runtimeRoot>/homes`: mount points. */
  readonly mountRoot: string;
  readonly sizeBytes: number;
  readonly inodes: number;
  /** Blank images kept ready for new homes (0: make each when needed). */
  readonly spareImages?: number;
  readonly programs: {
    readonly mount: string;
    readonly umount: string;
    readonly mkfs: string;
    readonly losetup: string;
    /** Optional: lowers the priority of the background mkfs. */
    readonly nice?: string;
  };
}

/** How long after a spare is taken its replacement starts being made. */
const REFILL_DELAY_MS = 1000;

export interface HomeOwner {
  readonly uid: number;
  readonly gid: number;
}

export class HomeStore {
  private readonly refs = new Map<string, number>();
  private readonly queues = new Map<string, Promise<unknown>>();
  private imagesDirReady: Promise<void> | undefined;
  /** Blank images ready to become homes. */
  private readonly spares: string[] = [];
  private sparesLoaded = false;
  /** The background work making spares, while it runs, and the timer that will start it. */
  private refill: Promise<void> | undefined;
  private refillTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly options: HomeStoreOptions) {}

  private get spareDir(): string {
    return path.join(this.options.imagesDir, 'spare');
  }

  /** Spare images of this size and inode count are named `<prefix><random>.img`. */
  private get sparePrefix(): string {
    return `blank-${this.options.sizeBytes}-${this.options.inodes}-`;
  }

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

  /**
   * Mounts the home (making it on first use) for one more session; returns
   * the home directory. `owner` may still be on its way (the uid is looked
   * up meanwhile): the image is made and mounted first, and the home is
   * given to the owner before this resolves.
   */
  attach(homeKey: string, owner: HomeOwner | Promise<HomeOwner>): Promise<string> {
    return this.serialize(homeKey, async () => {
      const count = this.refs.get(homeKey) ?? 0;
      if (count === 0) await this.mount(homeKey, owner);
      else await owner; // The mounted home already belongs to it: a live home keeps its uid.
      this.refs.set(homeKey, count + 1);
      return this.homeDir(homeKey);
    });
  }

  /**
   * Finds the spare images left by an earlier run (removing unfinished ones
   * and those of another size) and starts making the missing ones.
   */
  async prepareSpares(): Promise<void> {
    await this.ensureImagesDir();
    if ((this.options.spareImages ?? 0) === 0 || this.sparesLoaded) return;
    this.sparesLoaded = true;
    await mkdir(this.spareDir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.spareDir)) {
      const file = path.join(this.spareDir, name);
      if (name.startsWith(this.sparePrefix) && name.endsWith('.img')) this.spares.push(file);
      else await rm(file, { force: true });
    }
    this.startRefill();
  }

  /** Stops making spares (waiting for one in the making); the ready ones stay for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refillTimer);
    await this.refill;
  }

  /**
   * Forgets the home's content: removes its image, so that the next attach
   * makes a blank one. Refuses (HOME_BUSY) while the home is mounted or its
   * image attached to a loop device. The uid the home had is not this
   * store's: the next attach gives the new home to whichever owner it gets.
   */
  reset(homeKey: string): Promise<void> {
    return this.serialize(homeKey, async () => {
      const image = this.imagePath(homeKey);
      if (this.isAttached(homeKey)) {
        throw new BwrapDriverError('HOME_BUSY', `the home ${homeKey} is mounted for a session`);
      }
      if (!(await exists(image))) return;
      const attached = await loopDevicesOf(image, this.options.programs.losetup);
      if (attached.length > 0) {
        throw new BwrapDriverError(
          'HOME_BUSY',
          `the home image ${image} is attached: ${attached.join(', ')}`,
          { suggestion: 'Another process (or lab server) uses this data directory; stop it first.' },
        );
      }
      // One unlink: the home is either all there or gone, never half emptied.
      await rm(image);
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

  private ensureImagesDir(): Promise<void> {
    this.imagesDirReady ??= (async () => {
      await mkdir(this.options.imagesDir, { recursive: true, mode: 0o700 });
      await chmod(this.options.imagesDir, 0o700);
    })();
    this.imagesDirReady.catch(() => {
      this.imagesDirReady = undefined;
    });
    return this.imagesDirReady;
  }

  private async mount(homeKey: string, ownerOnItsWay: HomeOwner | Promise<HomeOwner>): Promise<void> {
    const image = this.imagePath(homeKey);
    const point = this.mountPoint(homeKey);
    // Settled here, so that a failure before it is awaited below is never reported as unhandled.
    const owner = Promise.resolve(ownerOnItsWay);
    owner.catch(() => undefined);
    await this.ensureImagesDir();
    // An image that becomes this home now (a spare renamed, or one made on the spot) has never
    // been mounted: it needs no look at the loop devices, which cost tens of milliseconds of a
    // new attendee's first prompt on a busy host (a sysfs read per device, beside the uid scan).
    const fresh = !(await exists(image));
    if (fresh && !(await this.takeSpare(image))) await this.makeImage(image);

    // A mount left by a crashed server is ours to clear: nothing of this driver uses it. The
    // mount point is removed with the last detach, so only a leftover directory needs a look
    // at the mount table (which grows by two entries per live session).
    if ((await exists(point)) && mountsUnder(await readMounts(), point).length > 0)
      await this.unmount(homeKey);
    const attached = fresh ? [] : await loopDevicesOf(image, this.options.programs.losetup);
    if (attached.length > 0) {
      throw new BwrapDriverError(
        'HOME_BUSY',
        `the home image ${image} is already attached: ${attached.join(', ')}`,
        {
          suggestion: 'Another process (or lab server) uses this data directory; stop it first.',
        },
      );
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
      const { uid, gid } = await owner;
      if (info.uid !== uid || info.gid !== gid) await chownTree(home, uid, gid);
      await chmod(home, 0o700);
    } catch (error) {
      await this.unmount(homeKey).catch(() => undefined);
      throw error;
    }
  }

  /** Makes `image` from a spare, if one is ready (and starts making its replacement). */
  private async takeSpare(image: string): Promise<boolean> {
    const spare = this.spares.shift();
    if (spare === undefined) return false;
    try {
      await rename(spare, image);
    } catch {
      // Removed behind our back: make the image the slow way.
      return false;
    } finally {
      // Not at once: mkfs.ext4 would compete for the CPU with the start of the attendee who took
      // the spare. Attendees arriving together still find the other spares.
      this.refillTimer ??= setTimeout(() => {
        this.refillTimer = undefined;
        this.startRefill();
      }, REFILL_DELAY_MS);
      this.refillTimer.unref();
    }
    return true;
  }

  private startRefill(): void {
    const wanted = this.options.spareImages ?? 0;
    if (this.refill !== undefined || this.closed || this.spares.length >= wanted) return;
    this.refill = (async () => {
      try {
        while (!this.closed && this.spares.length < wanted) {
          const spare = path.join(this.spareDir, `${this.sparePrefix}${randomBytes(6).toString('hex')}.img`);
          await this.makeImage(spare, { background: true });
          this.spares.push(spare);
        }
      } catch {
        // No spare this time; new homes are made on the spot, which reports any error to its session.
      } finally {
        this.refill = undefined;
      }
    })();
  }

  /**
   * Makes a blank image at `image`. In the background (a spare), mkfs runs
   * at the lowest CPU priority, when `nice` is there: it then takes only
   * the CPU that starting attendees' sandboxes leave.
   */
  private async makeImage(image: string, { background = false } = {}): Promise<void> {
    const partial = `${image}.partial`;
    await rm(partial, { force: true });
    // A sparse file: blocks are allocated as the attendee writes.
    const handle = await open(partial, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    try {
      await handle.truncate(this.options.sizeBytes);
    } finally {
      await handle.close();
    }
    const mkfs = [
      this.options.programs.mkfs,
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
      // The file is new and sparse, so its unwritten blocks already read as zeros: writing
      // zeros over the journal (16 MiB for the default size) would add nothing but disk I/O.
      'root_owner=0:0,lazy_journal_init=1',
      partial,
    ];
    const nice = background ? this.options.programs.nice : undefined;
    try {
      if (nice !== undefined) await runProgram(nice, ['-n', '19', ...mkfs]);
      else await runProgram(mkfs[0]!, mkfs.slice(1));
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
