import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLOSE, STATUS } from '../protocol/constants.js';
import { decodeServerFrame, type ServerFrame } from '../protocol/frames.js';
import type { HubSocketProvider, Sandbox, SandboxDriver, SandboxSpec } from '../sandbox/driver.js';
import type { PtyExit, PtyProcess } from './pty.js';
import { Session, type EndReason, type SessionConnection, type SessionLimits } from './session.js';

class FakePty implements PtyProcess {
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

class FakeConnection implements SessionConnection {
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
}

/** Output is sent at the end of the event loop turn it was read in. */
const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const limits: SessionLimits = {
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
};

let base: string;
let destroyed: string[];
let ptys: FakePty[];
let created: SandboxSpec[];
let gate: ReturnType<typeof deferred<void>> | undefined;
let failCreate: Error | undefined;
let ended: EndReason[];
let errors: unknown[];

const driver: SandboxDriver = {
  info: { name: 'local', isolated: false },
  async create(spec) {
    created.push(spec);
    if (gate) await gate.promise;
    if (failCreate) throw failCreate;
    const runtimeDir = join(base, spec.sessionId);
    await mkdir(runtimeDir);
    const sandbox: Sandbox = {
      sessionId: spec.sessionId,
      command: { file: '/bin/sh', args: [], env: {}, cwd: base },
      runtimeDir,
      runtimeDirInside: runtimeDir,
      owner: undefined,
      homeDir: join(base, 'home'),
      destroy: async () => {
        destroyed.push(spec.sessionId);
      },
    };
    return sandbox;
  },
  close: async () => undefined,
};

function newSession(
  overrides: { hubSocketProvider?: HubSocketProvider; limits?: Partial<SessionLimits> } = {},
) {
  return new Session({
    attendee: 'alice',
    homeKey: 'alice',
    env: { LANG: 'C.UTF-8' },
    hubCaFile: undefined,
    cols: 100,
    rows: 30,
    driver,
    hubSocketProvider: overrides.hubSocketProvider,
    spawnPty: (_command, size) => {
      const pty = new FakePty(size.cols, size.rows);
      ptys.push(pty);
      return pty;
    },
    limits: { ...limits, ...overrides.limits },
    now: () => Date.now(),
    onClientEvent: () => undefined,
    onEventRejected: () => undefined,
    onEnding: () => undefined,
    onEnded: (_session, reason) => ended.push(reason),
    onError: (error) => errors.push(error),
  });
}

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'trustlab-session-'));
  destroyed = [];
  ptys = [];
  created = [];
  gate = undefined;
  failCreate = undefined;
  ended = [];
  errors = [];
});

afterEach(async () => {
  vi.useRealTimers();
  await rm(base, { recursive: true, force: true });
});

describe('Session', () => {
  it('keeps input sent while starting and writes it in order once the shell runs', async () => {
    gate = deferred();
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    const started = session.start();
    expect(session.input(connection, new TextEncoder().encode('echo '))).toBe(true);
    expect(session.input(connection, new TextEncoder().encode('early\r'))).toBe(true);
    expect(session.info().pendingInputBytes).toBe(11);
    gate.resolve();
    await started;
    expect(session.state).toBe('running');
    expect(Buffer.from(ptys[0]!.written).toString()).toBe('echo early\r');
    expect(ptys[0]!.size).toEqual([100, 30]);
    expect(connection.frames[0]).toMatchObject({ type: 'replay', mode: 'reset', startOffset: 0 });
    expect(connection.statuses()).toEqual([STATUS.starting, STATUS.ready]);
    await session.end('ended');
  });

  it('relays output, and pauses the pty on unacknowledged bytes until the client catches up', async () => {
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    const pty = ptys[0]!;
    pty.emit('a'.repeat(200));
    expect(pty.paused).toBe(false);
    pty.emit('b'.repeat(200));
    expect(pty.paused).toBe(true);
    expect(session.info().outputPaused).toBe(true);
    expect(session.acknowledge(connection, 250)).toBe(true);
    expect(pty.paused).toBe(true); // 150 in flight: above the low watermark
    expect(session.acknowledge(connection, 400)).toBe(true);
    expect(pty.paused).toBe(false);
    await endOfTurn();
    expect(connection.output()).toBe('a'.repeat(200) + 'b'.repeat(200));
    await session.end('ended');
  });

  it('gathers the chunks of one turn into one frame, in order', async () => {
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    const outputFrames = () => connection.frames.filter((frame) => frame.type === 'output');
    const before = outputFrames().length;
    // Chunks too long to go at once, then a short tail: all wait for the end of the turn.
    ptys[0]!.emit('a'.repeat(1500));
    ptys[0]!.emit('b'.repeat(1500));
    ptys[0]!.emit('c');
    expect(outputFrames()).toHaveLength(before);
    await endOfTurn();
    expect(outputFrames()).toHaveLength(before + 1);
    expect(connection.output()).toBe(`${'a'.repeat(1500)}${'b'.repeat(1500)}c`);
    await session.end('ended');
  });

  it('keeps gathering across turns while output streams, for a few milliseconds', async () => {
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    const outputFrames = () => connection.frames.filter((frame) => frame.type === 'output');
    const before = outputFrames().length;
    // A turn that read a full pty buffer: more is on its way.
    ptys[0]!.emit('a'.repeat(4096));
    await endOfTurn();
    ptys[0]!.emit('b'.repeat(4096));
    await endOfTurn();
    expect(outputFrames()).toHaveLength(before);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(outputFrames()).toHaveLength(before + 1);
    expect(connection.output()).toBe(`${'a'.repeat(4096)}${'b'.repeat(4096)}`);
    await session.end('ended');
  });

  it('sends a short chunk at once when nothing is gathered and the socket is idle, not otherwise', async () => {
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    ptys[0]!.emit('e');
    expect(connection.output()).toBe('e'); // an echo does not wait for the end of the turn
    connection.bufferedAmount = 100;
    ptys[0]!.emit('f');
    expect(connection.output()).toBe('e'); // behind a backlog it is gathered
    await endOfTurn();
    expect(connection.output()).toBe('ef');
    await session.end('ended');
  });

  it('pauses on a large ws buffer and resumes when it drains', async () => {
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    connection.bufferedAmount = 10_000;
    ptys[0]!.emit('x');
    await endOfTurn();
    expect(ptys[0]!.paused).toBe(true);
    session.acknowledge(connection, 1);
    expect(ptys[0]!.paused).toBe(true);
    connection.flush();
    expect(ptys[0]!.paused).toBe(false);
    await session.end('ended');
  });

  it('refuses impossible acknowledgements', async () => {
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    ptys[0]!.emit('hello');
    await endOfTurn();
    expect(session.acknowledge(connection, 6)).toBe(false);
    expect(session.acknowledge(connection, 3)).toBe(true);
    expect(session.acknowledge(connection, 2)).toBe(false);
    expect(session.acknowledge(connection, 5)).toBe(true);
    await session.end('ended');
  });

  it('restores a new connection exactly once: all of the buffer after a reset, or only what it lacks', async () => {
    const session = newSession();
    const first = new FakeConnection();
    session.attach(first, undefined);
    await session.start();
    ptys[0]!.emit('one ');
    await endOfTurn();
    const replay = first.frames[0]!;
    expect(replay.type).toBe('replay');
    const resume = { session: replay.type === 'replay' ? replay.session : new Uint8Array(8), offset: 4 };
    session.detach(first);
    ptys[0]!.emit('two ');

    const resumed = new FakeConnection();
    session.attach(resumed, resume);
    ptys[0]!.emit('three');
    await endOfTurn();
    expect(resumed.frames[0]).toMatchObject({ type: 'replay', mode: 'continue', startOffset: 4 });
    expect(resumed.output()).toBe('two three');

    const fresh = new FakeConnection();
    session.attach(fresh, undefined);
    expect(fresh.frames[0]).toMatchObject({ type: 'replay', mode: 'reset', startOffset: 0 });
    expect(fresh.output()).toBe('one two three');

    // A resume point from another session is not trusted: full reset.
    const stranger = new FakeConnection();
    session.attach(stranger, { session: new Uint8Array(8), offset: 4 });
    expect(stranger.frames[0]).toMatchObject({ type: 'replay', mode: 'reset' });
    await session.end('ended');
  });

  it('puts output not yet sent to a replaced connection in the replay, once', async () => {
    const session = newSession();
    const first = new FakeConnection();
    session.attach(first, undefined);
    await session.start();
    // Behind a backlog, output is gathered for the end of the turn rather than sent at once.
    first.bufferedAmount = 100;
    const gathered = 'read in this turn';
    ptys[0]!.emit(gathered);
    const second = new FakeConnection();
    session.attach(second, undefined);
    ptys[0]!.emit(', and after');
    await endOfTurn();
    expect(first.output()).toBe('');
    expect(second.output()).toBe(`${gathered}, and after`);
    await session.end('ended');
  });

  it('replaces the attached connection with the newer one', async () => {
    const session = newSession();
    const first = new FakeConnection();
    const second = new FakeConnection();
    session.attach(first, undefined);
    await session.start();
    session.attach(second, undefined);
    expect(first.closes).toEqual([[CLOSE.replaced, expect.any(String)]]);
    ptys[0]!.emit('after');
    await endOfTurn();
    expect(first.output()).toBe('');
    expect(second.output()).toBe('after');
    // Late messages from the replaced connection change nothing.
    expect(session.input(first, new Uint8Array([0x61]))).toBe(true);
    expect(ptys[0]!.written).toEqual([]);
    await session.end('ended');
  });

  it('ends after the grace period without a connection, and not before', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    session.detach(connection);
    await vi.advanceTimersByTimeAsync(9_000);
    const back = new FakeConnection();
    session.attach(back, undefined);
    session.detach(back);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(session.state).toBe('running');
    await vi.advanceTimersByTimeAsync(1_500);
    expect(session.state).toBe('ended');
    await vi.waitFor(() => expect(ended).toEqual(['abandoned']));
    expect(ptys[0]!.killed).toBe('SIGHUP');
    expect(destroyed).toEqual([session.id]);
  });

  it('ends when idle; input keeps it alive', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    await vi.advanceTimersByTimeAsync(50_000);
    session.input(connection, new Uint8Array([0x61]));
    await vi.advanceTimersByTimeAsync(50_000);
    expect(session.state).toBe('running');
    await vi.advanceTimersByTimeAsync(11_000);
    expect(session.state).toBe('ended');
    expect(connection.closes).toEqual([[CLOSE.sessionEnded, 'the terminal was idle for 1 min']]);
    await vi.waitFor(() => expect(destroyed).toEqual([session.id]));
  });

  it('ends at its maximum lifetime, whatever the activity', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const session = newSession({ limits: { maxLifetimeMs: 90_000 } });
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    for (let i = 0; i < 9; i++) {
      await vi.advanceTimersByTimeAsync(10_000);
      session.input(connection, new Uint8Array([0x61]));
    }
    await vi.advanceTimersByTimeAsync(1_000);
    expect(session.state).toBe('ended');
    expect(session.endReason).toBe('lifetime');
    expect(connection.closes[0]![0]).toBe(CLOSE.sessionEnded);
  });

  it('ends with 1000 when the shell exits, after relaying its last output', async () => {
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    ptys[0]!.emit('logout\r\n');
    ptys[0]!.exit(0);
    await vi.waitFor(() => expect(ended).toEqual(['exited']));
    expect(connection.output()).toBe('logout\r\n');
    expect(connection.closes).toEqual([[CLOSE.normal, 'the shell exited with code 0']]);
    expect(destroyed).toEqual([session.id]);
  });

  it('closes with 4500 when the sandbox cannot be created', async () => {
    failCreate = new Error('no uid left');
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    await session.start();
    await vi.waitFor(() => expect(ended).toEqual(['failed']));
    expect(connection.closes).toEqual([[CLOSE.sandboxFailed, 'the terminal could not be started']]);
    expect(errors).toEqual([failCreate]);
  });

  it('destroys a sandbox that arrives after the session ended', async () => {
    gate = deferred();
    const session = newSession();
    const started = session.start();
    const ending = session.end('shutdown');
    gate.resolve();
    await Promise.all([started, ending]);
    expect(ended).toEqual(['shutdown']);
    expect(destroyed).toEqual([session.id]);
    expect(ptys).toEqual([]);
  });

  it('opens the hub socket in the runtime directory and closes it at the end', async () => {
    const opened: [string, string][] = [];
    let closed = 0;
    const session = newSession({
      hubSocketProvider: {
        open: async (sessionId, socketPath) => {
          opened.push([sessionId, socketPath]);
          return { close: async () => void closed++ };
        },
      },
    });
    await session.start();
    expect(opened).toEqual([[session.id, join(base, session.id, 'hub.sock')]]);
    await session.end('ended');
    expect(closed).toBe(1);
  });

  it('holds the client back while too much input waits, and refuses input beyond the limit', async () => {
    gate = deferred();
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    const started = session.start();
    expect(session.input(connection, new Uint8Array(1500))).toBe(true);
    expect(connection.holds).toEqual([true]);
    expect(session.input(connection, new Uint8Array(2600))).toBe(false);
    gate.resolve();
    await started;
    expect(connection.holds).toEqual([true, false]);
    expect(ptys[0]!.written).toHaveLength(1500);
    await session.end('ended');
  });
});
