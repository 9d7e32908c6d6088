/**
 * Writes the lab's files into a learner's home, each only if absent: a file
 * the learner already has (changed, or deleted and replaced by something of
 * their own) is theirs and stays as it is.
 *
 * The home belongs to the learner, who may have planted symlinks in it, and
 * with the bwrap driver this runs as root on a home the learner's processes
 * may be changing at the same moment. So nothing here follows a symlink or
 * trusts a path checked earlier: on Linux every step is taken relative to a
 * directory already opened (`/proc/self/fd/<fd>/<name>`, the way openat(2)
 * works), with O_NOFOLLOW on the name, and a file is created with O_EXCL.
 * A symlink or a non-directory on the way skips the file. Elsewhere (macOS,
 * the local driver, where the shell runs as this very user and there is no
 * privilege to abuse) plain paths are used with the same flags.
 */
import { constants } from 'node:fs';
import { open, mkdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface HomeFile {
  /** Relative to the home, plain components (the lab definition's schema checks it). */
  readonly path: string;
  readonly content: string;
  readonly mode: number;
}

export interface HomeOwner {
  readonly uid: number;
  readonly gid: number;
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;
const USE_PROC = process.platform === 'linux';

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

interface Dir {
  handle: FileHandle | undefined;
  path: string;
}

function child(dir: Dir, name: string): string {
  return USE_PROC && dir.handle ? `/proc/self/fd/${dir.handle.fd}/${name}` : path.join(dir.path, name);
}

async function openDir(at: string, display: string): Promise<Dir> {
  if (!USE_PROC) return { handle: undefined, path: display };
  return { handle: await open(at, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), path: display };
}

/** Writes `file` under `home` unless something is already there; true when written. */
async function writeOne(home: string, file: HomeFile, owner: HomeOwner | undefined): Promise<boolean> {
  const parts = file.path.split('/').filter((part) => part !== '' && part !== '.');
  const name = parts.pop();
  if (name === undefined || parts.includes('..') || name === '..') return false;
  let dir = await openDir(home, home);
  try {
    for (const part of parts) {
      const at = child(dir, part);
      let created = false;
      try {
        await mkdir(at, { mode: 0o700 });
        created = true;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      let next: Dir;
      try {
        next = await openDir(at, path.join(dir.path, part));
      } catch (error) {
        // A symlink (ELOOP) or a file (ENOTDIR) where a directory should be: not ours to replace.
        if (errorCode(error) === 'ELOOP' || errorCode(error) === 'ENOTDIR') return false;
        throw error;
      }
      if (created && owner && next.handle) await next.handle.chown(owner.uid, owner.gid);
      await dir.handle?.close();
      dir = next;
    }
    let handle: FileHandle;
    try {
      handle = await open(child(dir, name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, file.mode);
    } catch (error) {
      if (errorCode(error) === 'EEXIST' || errorCode(error) === 'ELOOP') return false;
      throw error;
    }
    try {
      await handle.writeFile(file.content, 'utf8');
      // The umask may have taken bits off the requested mode.
      await handle.chmod(file.mode);
      if (owner) await handle.chown(owner.uid, owner.gid);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return true;
  } finally {
    await dir.handle?.close();
  }
}

/** Writes each absent file; returns the paths written. A file that cannot be written is skipped, and reported. */
export async function writeHomeFilesIfAbsent(
  home: string,
  files: readonly HomeFile[],
  owner: HomeOwner | undefined,
  onError: (file: HomeFile, error: unknown) => void = () => undefined,
): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    try {
      if (await writeOne(home, file, owner)) written.push(file.path);
    } catch (error) {
      onError(file, error);
    }
  }
  return written;
}
