/**
 * Child-process plumbing shared by the interop harness: bounded one-shot commands, long-running
 * daemons that die with their whole process group, free loopback ports and throwaway temp dirs.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface RunOptions {
  /** The complete environment of the child; nothing from this process is added to it. */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the child's stdin, which is then closed so that a prompt sees EOF instead of hanging. */
  stdin?: string | Buffer;
  timeoutMs: number;
}

export interface RunResult {
  /** Exit code, or null when the child died from a signal it did not get from us. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** A command that outlived its deadline. Not an exit status, so it is thrown rather than returned. */
export class CommandTimeoutError extends Error {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(
      `${command} did not finish within ${timeoutMs} ms and was killed.\nstderr so far:\n${tail(stderr)}`,
    );
    this.name = 'CommandTimeoutError';
  }
}

// Process groups still alive. If the test process exits without a teardown (crash, Ctrl-C of the
// runner), the exit hook still kills them so no server is left listening.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

function trackGroup(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const pgid of liveGroups) killGroup(pgid, 'SIGKILL');
    });
  }
  liveGroups.add(pid);
}

/** Signals the child's whole process group (the child leads one because it is spawned detached). */
function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (error) {
    // ESRCH: the group is already gone, which is what we wanted.
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function spawnInGroup(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string) {
  const child = spawn(command, args, { env, cwd, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  return child;
}

function describeCommand(command: string, args: readonly string[]): string {
  return [path.basename(command), ...args].join(' ');
}

/** Runs a command to completion; a non-zero exit is a normal result, a timeout or spawn failure throws. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<RunResult> {
  const started = performance.now();
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawnInGroup(command, args, options.env, options.cwd);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    // EPIPE when the child exits without reading stdin is harmless; the exit status tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin ?? '');

    const pid = child.pid;
    if (pid !== undefined) trackGroup(pid);
    const timer = setTimeout(() => {
      timedOut = true;
      if (pid !== undefined) killGroup(pid, 'SIGKILL');
    }, options.timeoutMs);

    child.once('error', (error) => {
      clearTimeout(timer);
      if (pid !== undefined) liveGroups.delete(pid);
      reject(new Error(`could not start ${command}: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (pid !== undefined) {
        // The leader is gone; anything it left behind in its group goes with it.
        killGroup(pid, 'SIGKILL');
        liveGroups.delete(pid);
      }
      const out = Buffer.concat(stdout).toString('utf8');
      const err = Buffer.concat(stderr).toString('utf8');
      if (timedOut) {
        reject(new CommandTimeoutError(describeCommand(command, args), options.timeoutMs, out, err));
        return;
      }
      resolve({ code, signal, stdout: out, stderr: err, durationMs: performance.now() - started });
    });
  });
}

export interface DaemonOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Hard upper bound on the daemon's life, so a forgotten stop() cannot leave it running. */
  maxLifetimeMs: number;
}

export interface Daemon {
  readonly pid: number;
  /** Everything the daemon wrote to stdout and stderr (the most recent 1 MiB). */
  logs(): string;
  /** Resolves when the daemon has exited, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM to the process group, SIGKILL after a grace period; safe to call more than once. */
  stop(): Promise<void>;
}

const LOG_LIMIT = 1 << 20;
const STOP_GRACE_MS = 3_000;

export function spawnDaemon(
  command: string,
  args: readonly string[],
  options: DaemonOptions,
): Promise<Daemon> {
  return new Promise<Daemon>((resolve, reject) => {
    const child: ChildProcess = spawnInGroup(command, args, options.env, options.cwd);
    let log = '';
    const append = (chunk: Buffer) => {
      log += chunk.toString('utf8');
      if (log.length > LOG_LIMIT) log = log.slice(log.length - LOG_LIMIT);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    child.stdin?.on('error', () => {});
    child.stdin?.end();

    let exitedFlag = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
      child.once('close', (code, signal) => {
        exitedFlag = true;
        done({ code, signal });
      });
    });

    child.once('error', (error) => {
      reject(new Error(`could not start ${command}: ${error.message}`, { cause: error }));
    });
    child.once('spawn', () => {
      const pid = child.pid as number;
      trackGroup(pid);
      const lifetime = setTimeout(() => {
        append(Buffer.from(`\n[harness] killed after max lifetime of ${options.maxLifetimeMs} ms\n`));
        killGroup(pid, 'SIGKILL');
      }, options.maxLifetimeMs);
      lifetime.unref();
      void exited.then(() => {
        clearTimeout(lifetime);
        killGroup(pid, 'SIGKILL');
        liveGroups.delete(pid);
      });

      let stopping: Promise<void> | undefined;
      const stop = (): Promise<void> => {
        stopping ??= (async () => {
          if (exitedFlag) return;
          killGroup(pid, 'SIGTERM');
          let graceTimer: NodeJS.Timeout | undefined;
          const grace = new Promise<'timeout'>((done) => {
            graceTimer = setTimeout(() => done('timeout'), STOP_GRACE_MS);
          });
          const outcome = await Promise.race([exited.then(() => 'exited' as const), grace]);
          clearTimeout(graceTimer);
          if (outcome === 'timeout') {
            killGroup(pid, 'SIGKILL');
            await exited;
          }
        })();
        return stopping;
      };

      resolve({ pid, logs: () => log, exited, hasExited: () => exitedFlag, stop });
    });
  });
}

/**
 * A port that was free on 127.0.0.1 a moment ago. Another process may grab it before the server
 * binds it, so callers retry on "address already in use".
 */
export function getFreePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      server.close((error) => {
        if (error) reject(error);
        else if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port of a loopback listener'));
      });
    });
  });
}

/** A new private directory under the OS temp dir. */
export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `trustlab-${label}-`));
}

export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Calls `probe` until it returns a value other than undefined, the deadline passes, or `abort`
 * returns a reason (e.g. the server process died). Polls instead of sleeping a fixed time.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; abort?: () => string | undefined },
): Promise<T> {
  const deadline = performance.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const reason = options.abort?.();
    if (reason !== undefined) throw new Error(`gave up waiting for ${what}: ${reason}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${detail}`);
    }
    await new Promise((done) => setTimeout(done, options.intervalMs ?? 50));
  }
}

/** The environment every harness child starts from: only what a program needs to run at all. */
export function baseEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: home, LANG: 'C.UTF-8' };
  if (process.env.TMPDIR !== undefined) env.TMPDIR = process.env.TMPDIR;
  return env;
}

export function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
