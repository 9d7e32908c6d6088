/**
 * The host facts and system programs the driver relies on: finding programs
 * on PATH, running one with a deadline, reading the mount table, finding
 * the loop devices of a file, and listing the processes that run as a uid.
 *
 * All of it runs beside live sessions, whose keystrokes the event loop
 * relays, so none of it may hold the loop for long: programs start from a
 * worker thread, and many small kernel files are read in short slices.
 */
import { closeSync, accessSync, constants, openSync, readSync, statSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

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
  const request = {
    kind: 'run',
    file,
    args: [...args],
    options: {
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
      timeout: options.timeoutMs ?? 30_000,
      killSignal: 'SIGKILL',
      maxBuffer: 1 << 20,
    },
  };
  return programThreads.request<ProgramResult>(request).catch((error: Error & { stderr?: string }) => {
    throw new BwrapDriverError(
      'COMMAND_FAILED',
      `${path.basename(file)} ${args.join(' ')} failed: ${error.stderr?.trim() || error.message}`,
      { cause: error },
    );
  });
}

/**
 * Host processes by uid, for the uids in [first, last]: a process counts
 * for each of its real, effective, saved and filesystem uids.
 *
 * Zombies are left out: they run nothing and hold nothing but a pid. bwrap
 * leaves one behind as a matter of course (its outer process exits on the
 * exit status its pid-1 child reports, before reaping that child, so the
 * child is re-parented to the host's init, which reaps it).
 *
 * Read in a background thread: /proc/<pid>/status is generated on every read,
 * some 35 µs apiece on a busy host, and with a few hundred sandboxed
 * processes a scan takes tens of milliseconds that the event loop, which
 * relays every session's keystrokes, cannot spare.
 */
export async function processesByUid(first: number, last: number): Promise<Map<number, number[]>> {
  const found = await scanThread.request<Array<[number, number[]]>>({ kind: 'uids', first, last });
  return new Map(found);
}

/**
 * The background threads' code, plain CommonJS so that it loads without the
 * TypeScript loader.
 *
 * - `run`: libuv forks and then waits in the calling thread until the child
 *   has exec'd; on a busy host that wait took 15-30 ms per program
 *   (measured), and on the main thread no session's output or keystrokes
 *   move meanwhile. In a background thread only that thread waits.
 * - `uids`: the scan of /proc behind processesByUid.
 */
const HOST_WORKER = `
const { parentPort } = require('node:worker_threads');
const { execFile } = require('node:child_process');
const fs = require('node:fs');

function scanUids(first, last) {
  const found = new Map();
  const buffer = Buffer.allocUnsafe(1024);
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    let status;
    try {
      const fd = fs.openSync('/proc/' + name + '/status', 'r');
      try {
        // Name, Umask, State, Tgid, Ngid, Pid, PPid, TracerPid, Uid: well within 1 KiB (proc(5)).
        status = buffer.toString('latin1', 0, fs.readSync(fd, buffer, 0, 1024, 0));
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      continue; // Exited while we looked.
    }
    if (/^State:\\s+Z/m.test(status)) continue;
    const line = /^Uid:\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)/m.exec(status);
    if (!line) continue;
    for (const uid of new Set(line.slice(1).map(Number))) {
      if (uid < first || uid > last) continue;
      if (!found.has(uid)) found.set(uid, []);
      found.get(uid).push(Number(name));
    }
  }
  return [...found];
}

parentPort.on('message', (request) => {
  if (request.kind === 'uids') {
    try {
      parentPort.postMessage({ id: request.id, result: scanUids(request.first, request.last) });
    } catch (error) {
      parentPort.postMessage({ id: request.id, error: { message: String(error && error.message) } });
    }
    return;
  }
  execFile(request.file, request.args, request.options, (error, stdout, stderr) => {
    const failure = error && { message: error.message, code: error.code, signal: error.signal, killed: error.killed };
    parentPort.postMessage({ id: request.id, result: { stdout, stderr }, error: failure || undefined, stderr });
  });
});
`;

interface HostWorkerReply {
  readonly id: number;
  readonly result?: unknown;
  readonly stderr?: string;
  readonly error?: { message: string; code?: unknown; signal?: unknown; killed?: boolean };
}

/**
 * Background threads, started on first use, each request going to the one with
 * less to do. They keep the process alive only while they work.
 */
class HostThreads {
  readonly #workers: Array<Worker | undefined>;
  readonly #pending = new Map<
    number,
    { worker: Worker; resolve: (result: unknown) => void; reject: (error: Error) => void }
  >();
  #nextId = 0;

  constructor(threads: number) {
    this.#workers = Array.from({ length: threads }, () => undefined);
  }

  request<T>(request: Record<string, unknown>): Promise<T> {
    const worker = this.#pick();
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { worker, resolve: resolve as (result: unknown) => void, reject });
      worker.ref();
      worker.postMessage({ ...request, id });
    });
  }

  #load(worker: Worker): number {
    let count = 0;
    for (const pending of this.#pending.values()) if (pending.worker === worker) count++;
    return count;
  }

  #pick(): Worker {
    const slot = this.#workers.findIndex((worker) => worker === undefined);
    if (slot >= 0 && this.#workers.some((worker) => worker !== undefined && this.#load(worker) > 0)) {
      return this.#start(slot);
    }
    const running = this.#workers.filter((worker): worker is Worker => worker !== undefined);
    if (running.length === 0) return this.#start(0);
    return running.reduce((best, worker) => (this.#load(worker) < this.#load(best) ? worker : best));
  }

  #start(slot: number): Worker {
    // No execArgv: the thread needs neither the TypeScript loader nor, say, --input-type=module,
    // under which its CommonJS source would not run. It holds nothing, so a small heap will do.
    const worker = new Worker(HOST_WORKER, {
      eval: true,
      env: {},
      execArgv: [],
      resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 32 },
    });
    worker.unref();
    worker.on('message', (reply: HostWorkerReply) => {
      const waiting = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (this.#load(worker) === 0) worker.unref();
      if (waiting === undefined) return;
      if (reply.error === undefined) waiting.resolve(reply.result);
      else
        waiting.reject(Object.assign(new Error(reply.error.message), reply.error, { stderr: reply.stderr }));
    });
    const fail = (error: Error) => {
      if (this.#workers[slot] === worker) this.#workers[slot] = undefined;
      for (const [id, waiting] of this.#pending) {
        if (waiting.worker !== worker) continue;
        this.#pending.delete(id);
        waiting.reject(error);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`a background thread exited with ${code}`)));
    this.#workers[slot] = worker;
    return worker;
  }
}

/**
 * Two threads for programs, so that a mount waiting for its exec does not
 * hold back the other mount of the same sandbox (or a teardown's umount),
 * and one for scans, which a sandbox's start waits for as well.
 */
const programThreads = new HostThreads(2);
const scanThread = new HostThreads(1);

/** Time a slice of synchronous reads may hold the event loop. */
const SLICE_MS = 2;

/**
 * Reads the first `maxBytes` of each file and hands them to `use` (the
 * bytes are valid only during the call; files that cannot be read are
 * skipped). For small files the kernel generates on read (sysfs, procfs):
 * they are read synchronously, in slices of about 2 ms with a turn of the
 * event loop in between, as an asynchronous read costs four or five
 * thread-pool round trips per file (measured on /proc: a scan of a busy
 * host's processes took 200 ms that way).
 */
export async function scanKernelFiles(
  files: readonly string[],
  maxBytes: number,
  use: (index: number, bytes: Buffer) => void,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(maxBytes);
  let sliceStart = performance.now();
  for (const [index, file] of files.entries()) {
    if (performance.now() - sliceStart > SLICE_MS) {
      await new Promise((resume) => setImmediate(resume));
      sliceStart = performance.now();
    }
    let count: number;
    try {
      const fd = openSync(file, 'r');
      try {
        count = readSync(fd, buffer, 0, maxBytes, 0);
      } finally {
        closeSync(fd);
      }
    } catch {
      continue;
    }
    use(index, buffer.subarray(0, count));
  }
}

/**
 * Loop devices whose backing file is `file` (what `losetup -j` reports),
 * read from sysfs without starting a program. Candidates are the devices
 * whose backing file has the same name; each is confirmed by device and
 * inode, as losetup does. Falls back to losetup where /sys/block cannot
 * be read.
 */
export async function loopDevicesOf(file: string, losetup: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir('/sys/block')).filter((name) => /^loop\d+$/.test(name));
  } catch {
    const listed = (await runProgram(losetup, ['-j', file])).stdout;
    return listed
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => line.slice(0, line.indexOf(':')));
  }
  const target = await stat(file);
  const candidates: Array<{ device: string; backingFile: string }> = [];
  const suffix = Buffer.from(`/${path.basename(file)}\n`);
  await scanKernelFiles(
    names.map((name) => `/sys/block/${name}/loop/backing_file`),
    4096,
    (index, bytes) => {
      if (bytes.subarray(-suffix.byteLength).equals(suffix)) {
        candidates.push({ device: `/dev/${names[index]}`, backingFile: bytes.toString('utf8').trim() });
      }
    },
  );
  const devices: string[] = [];
  for (const { device, backingFile } of candidates) {
    const info = await stat(backingFile).catch(() => undefined);
    if (info?.dev === target.dev && info.ino === target.ino) devices.push(device);
  }
  return devices;
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

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
