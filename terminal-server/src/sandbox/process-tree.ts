/**
 * Finding and killing every process a shell started, without cgroups (the
 * `local` driver's teardown).
 *
 * A process belongs to the tree of `leader` (the pty's child, which
 * node-pty makes a session leader) when it is in the leader's session or
 * process group, or descends from such a process. Job control gives
 * background jobs process groups of their own, and orphans are re-parented
 * to init, so none of the three tests alone is enough. A process that calls
 * setsid() and is orphaned escapes all three: only a cgroup (the bwrap
 * driver) holds everything.
 *
 * Linux reads /proc; elsewhere (macOS) `ps`, which has no session id.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  /** Session id; undefined where `ps` cannot tell it. */
  readonly sid: number | undefined;
}

async function listProcesses(): Promise<ProcessEntry[]> {
  if (process.platform === 'linux') return listFromProc();
  return listFromPs();
}

async function listFromProc(): Promise<ProcessEntry[]> {
  const entries: ProcessEntry[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // proc(5): "pid (comm) state ppid pgrp session ..."; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') continue; // dead, waiting to be reaped
    entries.push({
      pid: Number(name),
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      sid: Number(fields[3]),
    });
  }
  return entries;
}

function listFromPs(): Promise<ProcessEntry[]> {
  return new Promise((resolve, reject) => {
    execFile('ps', ['-A', '-o', 'pid=,ppid=,pgid=,stat='], (error, stdout) => {
      if (error) return reject(error);
      const entries: ProcessEntry[] = [];
      for (const line of stdout.split('\n')) {
        const [pid, ppid, pgid, state] = line.trim().split(/\s+/);
        if (pid === undefined || state === undefined || state.startsWith('Z')) continue;
        entries.push({ pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), sid: undefined });
      }
      resolve(entries);
    });
  });
}

/** Pids of `leader` and everything that belongs to its tree (see above). */
export async function processTree(leader: number): Promise<number[]> {
  const processes = await listProcesses();
  const members = new Set<number>();
  // Not `pid === leader`: once the leader is gone its pid may be reused, while a reused pid cannot
  // carry the dead leader's session or group id (the leader has both, as a session leader).
  for (const entry of processes) {
    if (entry.sid === leader || entry.pgid === leader) members.add(entry.pid);
  }
  // Descendants of members, to a fixed point (parents may be listed after their children).
  for (let grew = true; grew;) {
    grew = false;
    for (const entry of processes) {
      if (!members.has(entry.pid) && members.has(entry.ppid)) {
        members.add(entry.pid);
        grew = true;
      }
    }
  }
  members.delete(process.pid); // never ourselves, whatever the process table says
  return [...members];
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Kills the tree of `leader`: SIGHUP first (bash saves its history, programs
 * may clean up), SIGKILL for whatever is left after `graceMs`, repeated
 * until nothing of the tree remains (a process may fork while we look).
 */
export async function killProcessTree(leader: number, graceMs = 500): Promise<void> {
  let members = await processTree(leader);
  for (const pid of members) signal(pid, 'SIGHUP');
  const deadline = Date.now() + graceMs;
  while (members.length > 0 && Date.now() < deadline) {
    await sleep(25);
    members = await processTree(leader);
  }
  for (let round = 0; members.length > 0 && round < 20; round++) {
    // Stop first, so none of them forks between our listing and the kill.
    for (const pid of members) signal(pid, 'SIGSTOP');
    members = await processTree(leader);
    for (const pid of members) signal(pid, 'SIGKILL');
    await sleep(10);
    members = await processTree(leader);
  }
}
