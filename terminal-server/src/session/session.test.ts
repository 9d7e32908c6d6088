import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLOSE, STATUS, WATCH_CLOSE, WATCH_STATUS } from '../protocol/constants.js';
import type {
  HubSocketProvider,
  Sandbox,
  SandboxDriver,
  SandboxSpec,
  TokenSocketProvider,
} from '../sandbox/driver.js';
import { Session, type EndReason, type SessionLimits } from './session.js';
import { FakeConnection, FakePty, TEST_LIMITS } from './test-fakes.js';

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

const limits: SessionLimits = TEST_LIMITS;

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
  overrides: {
    hubSocketProvider?: HubSocketProvider;
    tokenSocketProvider?: TokenSocketProvider;
    limits?: Partial<SessionLimits>;
  } = {},
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
    tokenSocketProvider: overrides.tokenSocketProvider,
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
    expect(session.input(connection, new TextEncoder().encode('echo '))).toBe('queued');
    expect(session.input(connection, new TextEncoder().encode('early\r'))).toBe('queued');
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
    expect(session.input(first, new Uint8Array([0x61]))).toBe('ignored');
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

  it('opens the token socket for the session and its attendee, and closes it at the end', async () => {
    const opened: [{ id: string; attendee: string }, string][] = [];
    let closed = 0;
    const session = newSession({
      tokenSocketProvider: {
        open: async (owner, socketPath) => {
          opened.push([owner, socketPath]);
          return { close: async () => void closed++ };
        },
      },
    });
    await session.start();
    expect(opened).toEqual([[{ id: session.id, attendee: 'alice' }, join(base, session.id, 'token.sock')]]);
    await session.end('ended');
    expect(closed).toBe(1);
  });

  it('ends a session whose token socket cannot be opened, and tears down what did open', async () => {
    let hubClosed = 0;
    const session = newSession({
      hubSocketProvider: { open: async () => ({ close: async () => void hubClosed++ }) },
      tokenSocketProvider: { open: () => Promise.reject(new Error('no room for the socket')) },
    });
    await session.start();
    // Already ending: this waits for it, and does not change the reason.
    await session.end('ended');
    expect(ended).toEqual(['failed']);
    expect(errors.map((e) => (e as Error).message)).toEqual([
      `the token socket for session ${session.id} could not be opened`,
    ]);
    expect(hubClosed).toBe(1);
    expect(destroyed).toEqual([session.id]);
  });

  it('holds the client back while too much input waits, and refuses input beyond the limit', async () => {
    gate = deferred();
    const session = newSession();
    const connection = new FakeConnection();
    session.attach(connection, undefined);
    const started = session.start();
    expect(session.input(connection, new Uint8Array(1500))).toBe('queued');
    expect(connection.holds).toEqual([true]);
    expect(session.input(connection, new Uint8Array(2600))).toBe('overflow');
    gate.resolve();
    await started;
    expect(connection.holds).toEqual([true, false]);
    expect(ptys[0]!.written).toHaveLength(1500);
    await session.end('ended');
  });
});

describe('Session watchers', () => {
  const text = (value: string) => new TextEncoder().encode(value);

  async function running() {
    const session = newSession();
    const attendee = new FakeConnection();
    session.attach(attendee, undefined);
    await session.start();
    return { session, attendee, pty: ptys[0]! };
  }

  it('show a watcher the screen and the live output, read only, and tell the attendee who watches', async () => {
    const { session, attendee, pty } = await running();
    pty.emit('before ');
    await endOfTurn();
    const watcher = new FakeConnection();
    expect(session.watch(watcher, 'Ines (instructor)', undefined)).toBe('watching');
    expect(watcher.frames[0]).toMatchObject({ type: 'replay', mode: 'reset', startOffset: 0 });
    expect(watcher.statuses()).toEqual([STATUS.ready, WATCH_STATUS.watching]);
    expect(attendee.notices().at(-1)).toEqual([WATCH_STATUS.watcherJoined, 'Ines (instructor)']);
    expect(session.info().watchers).toEqual([{ label: 'Ines (instructor)', control: false }]);

    pty.emit('after');
    await endOfTurn();
    expect(watcher.output()).toBe('before after');
    expect(attendee.output()).toBe('before after');

    // Typing and resizing change nothing.
    expect(session.input(watcher, text('rm -rf ~\r'))).toBe('refused');
    session.resize(watcher, 20, 5);
    expect(pty.written).toEqual([]);
    expect(pty.size).toEqual([100, 30]);

    session.detach(watcher);
    expect(attendee.notices().at(-1)).toEqual([WATCH_STATUS.watchersLeft, 'Ines (instructor)']);
    expect(session.info().watchers).toEqual([]);
    await session.end('ended');
  });

  it('lets a watcher type only while the consenting connection of the attendee lasts', async () => {
    const { session, attendee, pty } = await running();
    const watcher = new FakeConnection();
    session.watch(watcher, 'Ines', undefined);
    expect(session.grantControl('Omar')).toBe('no-watcher');
    expect(session.input(watcher, text('x'))).toBe('refused');

    expect(session.grantControl('Ines')).toBe('granted');
    expect(watcher.statuses().at(-1)).toBe(WATCH_STATUS.controlGranted);
    expect(attendee.notices().at(-1)).toEqual([WATCH_STATUS.watcherControlGranted, 'Ines']);
    // Both type; the pty gets it all in arrival order.
    expect(session.input(attendee, text('a'))).toBe('queued');
    expect(session.input(watcher, text('b'))).toBe('queued');
    expect(session.input(attendee, text('c'))).toBe('queued');
    expect(Buffer.from(pty.written).toString()).toBe('abc');

    expect(session.revokeControl()).toBe(1);
    expect(watcher.statuses().at(-1)).toBe(WATCH_STATUS.controlRevoked);
    expect(attendee.notices().at(-1)).toEqual([WATCH_STATUS.watcherControlEnded, 'Ines']);
    expect(session.input(watcher, text('d'))).toBe('refused');

    // A new connection of the attendee (a reload) did not consent: control ends, and it learns who watches.
    session.grantControl('Ines');
    const reloaded = new FakeConnection();
    session.attach(reloaded, undefined);
    expect(session.input(watcher, text('e'))).toBe('refused');
    expect(reloaded.notices()).toContainEqual([WATCH_STATUS.watcherJoined, 'Ines']);

    // Nor can control be given with no page of the attendee open.
    session.detach(reloaded);
    expect(session.grantControl('Ines')).toBe('no-attendee');
    expect(Buffer.from(pty.written).toString()).toBe('abc');
    await session.end('ended');
  });

  it('drops a watcher that falls behind instead of pausing the pty', async () => {
    const { session, attendee, pty } = await running();
    const slow = new FakeConnection();
    session.watch(slow, 'Ines', undefined);
    // The attendee keeps up; the watcher never acknowledges.
    for (let i = 0; i < 10 && slow.closes.length === 0; i++) {
      pty.emit('y'.repeat(250));
      await endOfTurn();
      attendee.flush();
      expect(session.acknowledge(attendee, session.info().outputBytes)).toBe(true);
      expect(pty.paused).toBe(false);
    }
    expect(slow.closes).toEqual([[WATCH_CLOSE.fellBehind, expect.stringContaining('fell too far behind')]]);
    expect(session.info().watchers).toEqual([]);
    expect(attendee.notices().at(-1)).toEqual([WATCH_STATUS.watchersLeft, 'Ines']);

    // A watcher whose socket does not drain goes the same way, even if it acknowledges.
    const stuck = new FakeConnection();
    session.watch(stuck, 'Omar', undefined);
    stuck.bufferedAmount = 5000;
    pty.emit('z');
    expect(stuck.closes[0]?.[0]).toBe(WATCH_CLOSE.fellBehind);
    expect(pty.paused).toBe(false);
    await session.end('ended');
  });

  it("refuses a watcher's impossible acknowledgements", async () => {
    const { session, pty } = await running();
    const watcher = new FakeConnection();
    session.watch(watcher, 'Ines', undefined);
    pty.emit('hello');
    expect(session.acknowledge(watcher, 6)).toBe(false);
    expect(session.acknowledge(watcher, 5)).toBe(true);
    expect(session.acknowledge(watcher, 4)).toBe(false);
    await session.end('ended');
  });

  it('sends a new watcher output gathered before it came exactly once', async () => {
    const { session, attendee, pty } = await running();
    attendee.bufferedAmount = 100; // behind a backlog, output is gathered
    pty.emit('gathered');
    const watcher = new FakeConnection();
    session.watch(watcher, 'Ines', undefined);
    pty.emit(' then more');
    await endOfTurn();
    expect(watcher.output()).toBe('gathered then more');
    expect(attendee.output()).toBe('gathered then more');
    await session.end('ended');
  });

  it('keeps sending to watchers while the attendee is away, and takes no more than the limit', async () => {
    const { session, attendee, pty } = await running();
    const [one, two, three] = [new FakeConnection(), new FakeConnection(), new FakeConnection()];
    expect(session.watch(one, 'a', undefined)).toBe('watching');
    expect(session.watch(two, 'b', undefined)).toBe('watching');
    expect(session.watch(three, 'c', undefined)).toBe('full');
    session.detach(attendee);
    pty.emit('while away');
    await endOfTurn();
    expect(one.output()).toBe('while away');
    expect(two.output()).toBe('while away');
    await session.end('ended');
  });

  it("closes watchers with the session's own ending", async () => {
    const { session, attendee } = await running();
    const watcher = new FakeConnection();
    session.watch(watcher, 'Ines', undefined);
    await session.end('reset');
    expect(attendee.closes).toEqual([[CLOSE.sessionEnded, expect.stringContaining('reset')]]);
    expect(watcher.closes).toEqual(attendee.closes);
    expect(session.watch(new FakeConnection(), 'late', undefined)).toBe('ended');
  });
});
