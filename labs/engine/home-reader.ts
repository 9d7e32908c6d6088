/**
 * Reads files in an attendee's home from the host, for checks. The home
 * belongs to the attendee, who can plant symlinks, FIFOs, huge files or
 * hard links in it, so every read:
 *
 * - takes a relative path of plain components (no `..`, no absolute path,
 *   no NUL), checked before touching the disk;
 * - walks the components with lstat and refuses any symlink on the way;
 * - opens the last component with O_NOFOLLOW (and O_NONBLOCK, so a FIFO
 *   cannot stall the server), then checks the opened file: a regular file
 *   (or a directory for listings), one link only, within the size cap;
 * - on Linux, confirms through /proc/self/fd that what was opened really
 *   lies inside the home, which also closes the window where a directory
 *   on the way is swapped for a symlink between the walk and the open.
 *
 * Anything refused reads as absent: a check then simply does not see it.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { LabError } from './errors.js';
import type { HomeEntry, HomeFile } from './facts.js';

export interface HomeReaderLimits {
  /** Largest file read (bytes); larger files read as absent. */
  maxFileBytes: number;
  /** Most entries returned by a listing (the rest are left out). */
  maxEntries: number;
  /** Deepest path accepted, in components. */
  maxDepth: number;
}

export const DEFAULT_HOME_LIMITS: HomeReaderLimits = {
  maxFileBytes: 64 * 1024,
  maxEntries: 256,
  maxDepth: 16,
};

export interface HomeReader {
  readFile(rel: string): Promise<HomeFile | undefined>;
  listDir(rel: string): Promise<HomeEntry[] | undefined>;
}

const COMPONENT = /^[^/\0]{1,255}$/;

/** The components of a home-relative path; throws on anything that could leave the home. */
export function homePathComponents(rel: string, maxDepth = DEFAULT_HOME_LIMITS.maxDepth): string[] {
  const invalid = (why: string) =>
    new LabError('HOME_PATH_INVALID', `home path ${JSON.stringify(rel)} ${why}`, { field: 'rel' });
  if (rel.includes('\0')) throw invalid('contains a NUL byte');
  if (rel.startsWith('/') || path.isAbsolute(rel)) throw invalid('must be relative to the home');
  const parts = rel.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.length > maxDepth) throw invalid(`is deeper than ${maxDepth} components`);
  for (const part of parts) {
    if (part === '..') throw invalid('must not contain ..');
    if (!COMPONENT.test(part)) throw invalid('has an invalid component');
  }
  return parts;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'EACCES' || code === 'EPERM';
}

async function procPathOf(fd: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  try {
    return await fs.readlink(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

export function createHomeReader(homeDir: string, limits: Partial<HomeReaderLimits> = {}): HomeReader {
  const options = { ...DEFAULT_HOME_LIMITS, ...limits };
  let realHome: Promise<string> | undefined;
  const home = () => (realHome ??= fs.realpath(homeDir));

  /** lstat every directory on the way; false when one is missing, not a directory, or a symlink. */
  async function walk(parts: readonly string[]): Promise<string | undefined> {
    let current = await home();
    for (const part of parts) {
      current = path.join(current, part);
      const info = await fs.lstat(current);
      if (!info.isDirectory()) return undefined;
    }
    return current;
  }

  async function inside(fd: number): Promise<boolean> {
    const opened = await procPathOf(fd);
    if (opened === undefined) return process.platform !== 'linux';
    const root = await home();
    return opened === root || opened.startsWith(root.endsWith('/') ? root : `${root}/`);
  }

  return {
    async readFile(rel) {
      const parts = homePathComponents(rel, options.maxDepth);
      if (parts.length === 0) return undefined;
      try {
        const dir = await walk(parts.slice(0, -1));
        if (dir === undefined) return undefined;
        const file = await fs.open(
          path.join(dir, parts[parts.length - 1]!),
          constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
        );
        try {
          const info = await file.stat();
          // A second link could be a planted hard link to a file the attendee cannot read.
          if (!info.isFile() || info.nlink !== 1 || info.size > options.maxFileBytes) return undefined;
          if (!(await inside(file.fd))) return undefined;
          const buffer = Buffer.alloc(options.maxFileBytes + 1);
          let length = 0;
          while (length < buffer.length) {
            const { bytesRead } = await file.read(buffer, length, buffer.length - length, length);
            if (bytesRead === 0) break;
            length += bytesRead;
          }
          // It grew while being read: treat like any file over the cap.
          if (length > options.maxFileBytes) return undefined;
          return {
            size: length,
            mode: info.mode & 0o7777,
            bytes: new Uint8Array(buffer.subarray(0, length)),
          };
        } finally {
          await file.close();
        }
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },

    async listDir(rel) {
      const parts = homePathComponents(rel, options.maxDepth);
      try {
        const dir = await walk(parts);
        if (dir === undefined) return undefined;
        const handle = await fs.open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
        try {
          if (!(await inside(handle.fd))) return undefined;
          // Read the directory that was opened, not whatever the name points at by now.
          const opened = process.platform === 'linux' ? `/proc/self/fd/${handle.fd}` : dir;
          const entries: HomeEntry[] = [];
          const listing = await fs.opendir(opened);
          for await (const entry of listing) {
            entries.push({
              name: entry.name,
              kind: entry.isFile()
                ? 'file'
                : entry.isDirectory()
                  ? 'directory'
                  : entry.isSymbolicLink()
                    ? 'symlink'
                    : 'other',
            });
            if (entries.length >= options.maxEntries) break;
          }
          return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        } finally {
          await handle.close();
        }
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
  };
}
