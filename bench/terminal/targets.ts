/**
 * The two servers of the terminal benchmark, each a child process so that
 * its CPU time and memory are its own: TrustLab's terminal server and the
 * reference bridge (reference-bridge.ts).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { TerminalConnection, TerminalTarget } from './measure.js';
import type { UsageReport, UsageRequest } from './usage.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function forkServer(script: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  const profileDir = process.env.BENCH_CPU_PROF;
  return fork(path.join(here, script), [], {
    execArgv: [
      '--import',
      'tsx',
      '--expose-gc',
      ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
      // Any other flags for both servers (say --trace-gc), space-separated.
      ...(process.env.BENCH_SERVER_FLAGS?.split(' ').filter(Boolean) ?? []),
    ],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

export function nextMessage<T>(child: ChildProcess, accept: (message: unknown) => message is T): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (!accept(message)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`server exited with ${code} before answering`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

export function requestUsage(
  child: ChildProcess,
  request: Omit<UsageRequest, 'type'> = {},
): Promise<UsageReport> {
  const answer = nextMessage(child, (m): m is UsageReport => (m as { type?: string })?.type === 'usage');
  child.send({ type: 'usage', ...request } satisfies UsageRequest);
  return answer;
}

/** SIGTERM, then SIGKILL after `graceMs` (a server tearing down hundreds of sandboxes needs a while). */
export function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
  });
}

export async function startReference(): Promise<TerminalTarget> {
  const child = forkServer('reference-bridge.ts');
  const { port } = await nextMessage(
    child,
    (m): m is { port: number } => typeof (m as { port?: unknown })?.port === 'number',
  );
  return {
    name: 'reference (ws + node-pty)',
    // No tickets, no homes: every connection is a new bash.
    prepare: async () => async (): Promise<TerminalConnection> => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return {
        send: (text) => ws.send(Buffer.from(text, 'utf8')),
        onOutput: (listener) => ws.on('message', (data: Buffer) => listener(data)),
        closed,
        close: () => ws.close(),
      };
    },
    usage: (request) => requestUsage(child, request),
    stop: () => stopChild(child),
  };
}
