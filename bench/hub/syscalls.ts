/**
 * Counts the fsync/fdatasync calls a process makes while a piece of work runs, and their mean wall
 * time, with `strace -c -w` attached to it (and its threads). Used only by the hub benchmark's profile pass, never while
 * throughput is measured (ptrace slows every system call of the traced process), to turn "the hub
 * spends its time in SQLite" into "the hub makes N fsyncs per request".
 */
import { spawn } from 'node:child_process';

import { findBinary } from '../../tests/support/index.js';

export interface SyscallCount {
  fsync: number;
  fdatasync: number;
  /** Mean wall time of one call (strace -w), µs, over both kinds. */
  meanUs: number;
}

/** Runs `work` with strace attached to `pid`; undefined when strace is missing or cannot attach. */
export async function countSyncCalls(
  pid: number,
  work: () => Promise<void>,
): Promise<SyscallCount | undefined> {
  const strace = findBinary('strace');
  if (strace === undefined) {
    await work();
    return undefined;
  }
  const child = spawn(strace, ['-f', '-c', '-w', '-e', 'trace=fsync,fdatasync', '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!spawned) {
    await work();
    return undefined;
  }
  // strace reports "Process N attached" once it has stopped the tracee; wait for that (bounded).
  const deadline = performance.now() + 5_000;
  while (!/attached/.test(stderr) && performance.now() < deadline && child.exitCode === null) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (!/attached/.test(stderr)) {
    child.kill('SIGKILL');
    await closed;
    await work();
    return undefined;
  }
  try {
    await work();
  } finally {
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(timer);
  }
  const row = (name: string) => {
    // strace -c table row: % time, seconds, usecs/call, calls, [errors], syscall
    const line = stderr.split('\n').find((l) => l.trim().endsWith(` ${name}`));
    const fields = line?.trim().split(/\s+/) ?? [];
    return fields.length >= 5
      ? { seconds: Number(fields[1]), calls: Number(fields[3]) }
      : { seconds: 0, calls: 0 };
  };
  const fsync = row('fsync');
  const fdatasync = row('fdatasync');
  const calls = fsync.calls + fdatasync.calls;
  return {
    fsync: fsync.calls,
    fdatasync: fdatasync.calls,
    meanUs: calls > 0 ? (1e6 * (fsync.seconds + fdatasync.seconds)) / calls : 0,
  };
}
