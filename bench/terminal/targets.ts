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
import type { UsageReport } from './usage.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function forkServer(script: string, env: NodeJS.ProcessEnv = {}): ChildProcess {
  return fork(path.join(here, script), [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
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

export function requestUsage(child: ChildProcess): Promise<UsageReport> {
  const answer = nextMessage(child, (m): m is UsageReport => (m as { type?: string })?.type === 'usage');
  child.send({ type: 'usage' });
  return answer;
}

export function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
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
    async open(): Promise<TerminalConnection> {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return {
        send: (text) => ws.send(Buffer.from(text, 'utf8')),
        onOutput: (listener) => ws.on('message', (data: Buffer) => listener(data)),
        close: () => ws.close(),
      };
    },
    usage: () => requestUsage(child),
    stop: () => stopChild(child),
  };
}
