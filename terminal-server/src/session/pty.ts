/**
 * The pty behind a session, as the session needs it, and its node-pty
 * implementation.
 *
 * Input does not go through node-pty's `write`: that one queues without
 * bound and, when the pty's kernel buffer is full, retries on every event
 * loop turn, which keeps a core busy for as long as the program does not
 * read (measured: a full core while a 100 KB paste waits on `sleep`).
 * Instead `writeSome` makes one non-blocking write(2) on the master fd and
 * reports how much the kernel took; `InputPump` waits and retries.
 *
 * This relies on two properties of node-pty 1.1.0 (pinned exactly in
 * package.json; pty.test.ts fails if they change): the master fd is
 * exposed as `fd` and is non-blocking, and `_writable` turns false in the
 * same turn of the event loop as node-pty closes that fd, so a write can
 * never reach a closed (or reused) descriptor. Without them, the adapter
 * falls back to node-pty's `write`.
 */
import { writeSync } from 'node:fs';
import * as nodePty from 'node-pty';
import type { SpawnCommand } from '../sandbox/driver.js';
import type { InputSink } from './input-pump.js';

export interface PtyExit {
  readonly exitCode: number;
  readonly signal: number | undefined;
}

export interface PtyProcess extends InputSink {
  readonly pid: number;
  /** How input reaches the pty: non-blocking writes on its fd, or node-pty's own queue. */
  readonly inputPath: 'fd' | 'queue';
  onData(listener: (data: Uint8Array) => void): void;
  onExit(listener: (exit: PtyExit) => void): void;
  resize(cols: number, rows: number): void;
  /** Stops reading the pty: the program blocks once the kernel buffer is full. */
  pause(): void;
  resume(): void;
  kill(signal?: string): void;
}

export type PtySpawner = (command: SpawnCommand, size: { cols: number; rows: number }) => PtyProcess;

interface NodePtyInternals {
  readonly fd?: unknown;
  readonly _writable?: unknown;
}

export const spawnNodePty: PtySpawner = (command, size) => {
  const pty = nodePty.spawn(command.file, [...command.args], {
    name: command.env.TERM ?? 'xterm-256color',
    cols: size.cols,
    rows: size.rows,
    cwd: command.cwd,
    // A copy: node-pty adds PWD and TERM to the object it is given.
    env: { ...command.env },
    // Raw bytes: output is relayed as it comes, split UTF-8 sequences included.
    encoding: null,
  });
  let exited = false;
  pty.onExit(() => {
    exited = true;
  });
  const internals = pty as unknown as NodePtyInternals;
  const fd = internals.fd;
  const useFd = typeof fd === 'number' && typeof internals._writable === 'boolean';

  const writeSome = useFd
    ? (data: Uint8Array): number => {
        if (exited || internals._writable !== true) throw new Error('the pty is closed');
        try {
          return writeSync(fd, data);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
          throw error;
        }
      }
    : (data: Uint8Array): number => {
        if (exited) throw new Error('the pty is closed');
        pty.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
        return data.byteLength;
      };

  return {
    pid: pty.pid,
    inputPath: useFd ? 'fd' : 'queue',
    onData(listener) {
      // With `encoding: null` node-pty delivers Buffers; its typings say string.
      pty.onData((data: string | Buffer) => listener(typeof data === 'string' ? Buffer.from(data) : data));
    },
    onExit(listener) {
      pty.onExit(({ exitCode, signal }) => listener({ exitCode, signal: signal || undefined }));
    },
    writeSome,
    resize(cols, rows) {
      if (exited) return;
      try {
        pty.resize(cols, rows);
      } catch {
        // The shell has just gone (its fd closed before the exit event): nothing left to resize.
      }
    },
    pause() {
      pty.pause();
    },
    resume() {
      pty.resume();
    },
    kill(signal) {
      if (!exited) pty.kill(signal);
    },
  };
};
