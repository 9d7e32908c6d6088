/**
 * Stand-ins for a pty and a WebSocket connection, for the session and
 * manager tests: what was written, sent and closed is recorded, and the
 * test decides when output arrives and when ws's buffer drains.
 */
import { decodeServerFrame, type ServerFrame } from '../protocol/frames.js';
import type { PtyExit, PtyProcess } from './pty.js';
import type { SessionConnection, SessionLimits } from './session.js';

export class FakePty implements PtyProcess {
  readonly pid = 4242;
  readonly inputPath = 'fd' as const;
  readonly written: number[] = [];
  paused = false;
  killed: string | undefined;
  size: [number, number];
  #data: ((data: Uint8Array) => void)[] = [];
  #exit: ((exit: PtyExit) => void)[] = [];
  constructor(cols: number, rows: number) {
    this.size = [cols, rows];
  }
  onData(listener: (data: Uint8Array) => void) {
    this.#data.push(listener);
  }
  onExit(listener: (exit: PtyExit) => void) {
    this.#exit.push(listener);
  }
  writeSome(data: Uint8Array) {
    this.written.push(...data);
    return data.byteLength;
  }
  resize(cols: number, rows: number) {
    this.size = [cols, rows];
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  kill(signal?: string) {
    this.killed = signal ?? 'SIGHUP';
  }
  emit(text: string | Uint8Array) {
    const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
    for (const listener of this.#data) listener(bytes);
  }
  exit(exitCode: number) {
    for (const listener of this.#exit) listener({ exitCode, signal: undefined });
  }
}

export class FakeConnection implements SessionConnection {
  readonly frames: ServerFrame[] = [];
  readonly closes: [number, string][] = [];
  readonly holds: boolean[] = [];
  bufferedAmount = 0;
  #written: (() => void)[] = [];
  send(frame: Uint8Array, written?: () => void) {
    this.frames.push(decodeServerFrame(frame));
    if (written) this.#written.push(written);
  }
  /** Runs the send callbacks, as ws does once its buffer drains. */
  flush() {
    this.bufferedAmount = 0;
    for (const callback of this.#written.splice(0)) callback();
  }
  close(code: number, reason: string) {
    this.closes.push([code, reason]);
  }
  holdInput(hold: boolean) {
    this.holds.push(hold);
  }
  output(): string {
    return this.frames
      .map((frame) =>
        frame.type === 'output' || frame.type === 'replay' ? Buffer.from(frame.data).toString() : '',
      )
      .join('');
  }
  statuses(): number[] {
    return this.frames.flatMap((frame) => (frame.type === 'status' ? [frame.code] : []));
  }
  /** [code, reason] of every STATUS, in order. */
  notices(): [number, string][] {
    return this.frames.flatMap((frame) =>
      frame.type === 'status' ? [[frame.code, frame.reason] as [number, string]] : [],
    );
  }
}

/** Small limits, so tests reach every watermark and bound with a few bytes. */
export const TEST_LIMITS: SessionLimits = {
  replayBufferBytes: 1024,
  flowHighWaterBytes: 300,
  flowLowWaterBytes: 100,
  inputHighWaterBytes: 1000,
  inputLowWaterBytes: 100,
  maxPendingInputBytes: 4000,
  reconnectGraceMs: 10_000,
  idleTimeoutMs: 60_000,
  maxLifetimeMs: 3_600_000,
  eventLineMaxBytes: 1024,
  eventConnections: 2,
  eventConnectionTimeoutMs: 1000,
  maxWatchers: 2,
  watcherMaxLagBytes: 2000,
};
