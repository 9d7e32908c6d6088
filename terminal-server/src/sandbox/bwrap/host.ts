/**
 * The host facts and system programs the driver relies on: finding programs
 * on PATH, running one with a deadline, reading the mount table, and
 * listing the processes that run as a uid.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

import { BwrapDriverError } from './errors.js';

/** Absolute path of `name` on PATH, or of the first fallback that exists. */
export function findProgram(name: string, fallbacks: readonly string[] = []): string | undefined {
  // The sbin directories are searched as well: a server started from a user
  // shell may not have them on PATH, but mkfs.ext4 and losetup live there.
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/sbin', '/sbin'];
  for (const candidate of [...dirs.filter(Boolean).map((dir) => path.join(dir, name)), ...fallbacks]) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here; keep looking.
    }
  }
  return undefined;
}

export interface ProgramResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a system program with an empty environment (besides PATH and a C
 * locale, so its messages are predictable) and a deadline. A non-zero exit
 * becomes a COMMAND_FAILED error that quotes its stderr.
 */
export function runProgram(
  file: string,
  args: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
        timeout: options.timeoutMs ?? 30_000,
        killSignal: 'SIGKILL',
        maxBuffer: 1 << 20,
      },
      (error, stdout, stderr) => {
        if (error) {
          reject(
            new BwrapDriverError(
              'COMMAND_FAILED',
              `${path.basename(file)} ${args.join(' ')} failed: ${stderr.trim() || error.message}`,
              { cause: error },
            ),
          );
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

export interface MountEntry {
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  /** Per-mount options (field 6) and superblock options (after the separator). */
  readonly options: readonly string[];
  readonly superOptions: readonly string[];
}

/** Parses /proc/self/mountinfo (proc(5)); mount points are returned with their octal escapes decoded. */
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator < 0 || fields.length < separator + 4) continue;
    entries.push({
      mountPoint: decodeMountField(fields[4] ?? ''),
      options: (fields[5] ?? '').split(','),
      fsType: fields[separator + 1] ?? '',
      source: decodeMountField(fields[separator + 2] ?? ''),
      superOptions: (fields[separator + 3] ?? '').split(','),
    });
  }
  return entries;
}

function decodeMountField(value: string): string {
  return value.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export async function readMounts(): Promise<MountEntry[]> {
  return parseMountInfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

/** Mount points at `dir` or below it, deepest first (the order to unmount them in). */
export function mountsUnder(mounts: readonly MountEntry[], dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mounts
    .map((entry) => entry.mountPoint)
    .filter((point) => point === dir || point.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/**
 * Host processes by uid, for the uids in [first, last]: a process counts
 * for each of its real, effective, saved and filesystem uids.
 *
 * Zombies are left out: they run nothing and hold nothing but a pid. bwrap
 * leaves one behind as a matter of course (its outer process exits on the
 * exit status its pid-1 child reports, before reaping that child, so the
 * child is re-parented to the host's init, which reaps it).
 */
export async function processesByUid(first: number, last: number): Promise<Map<number, number[]>> {
  const found = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let status: string;
    try {
      status = await readFile(`/proc/${name}/status`, 'utf8');
    } catch {
      continue; // Exited while we looked.
    }
    if (/^State:\s+Z/m.test(status)) continue;
    const line = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
    if (!line) continue;
    for (const uid of new Set(line.slice(1).map(Number))) {
      if (uid < first || uid > last) continue;
      const pids = found.get(uid) ?? [];
      pids.push(Number(name));
      found.set(uid, pids);
    }
  }
  return found;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
