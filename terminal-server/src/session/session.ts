/**
 * One attendee's terminal: a sandbox, the pty running its shell, the
 * session's unix sockets, at most one connection of the attendee at a time,
 * and a few watchers (an instructor shadowing the attendee).
 *
 * Life of a session:
 *   starting  the sandbox is being created; input is queued, not lost
 *   running   the shell runs; output goes to the replay buffer and, when a
 *             connection is attached, to it under flow control
 *   ended     the shell exited, or the session idled, outlived its maximum
 *             lifetime, stayed without a connection for the grace period,
 *             or was ended by the server; the sandbox is destroyed
 *
 * Invariants:
 * - output reaches a connection exactly once: on attach, the REPLAY frame
 *   carries what the client lacks, then OUTPUT frames carry what follows;
 *   both happen in the same turn of the event loop, so no byte falls
 *   between them or is sent twice;
 * - input is written to the pty in the order it was received, across
 *   connections;
 * - a newer connection replaces an older one, which gets STATUS and close
 *   4409.
 *
 * Watchers see the same screen (their own REPLAY, then the same OUTPUT
 * frames) and change nothing by themselves:
 * - their RESIZE is ignored and their INPUT refused, unless the attendee's
 *   current connection has let them type (`grantControl`); that consent ends
 *   with a revoke, or with that connection (a reconnect, a drop);
 * - their ACKs never pause the pty: only the attendee's connection drives
 *   flow control. A watcher more than `watcherMaxLagBytes` behind (in ACKs
 *   or in its socket's buffer) is closed with 4504 instead;
 * - the attendee's connection is told when a watcher joins, when the last
 *   one leaves, and when a watcher's control begins or ends.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { SandboxError } from '../errors.js';
import { CLOSE, FRAME, LIMITS, STATUS, WATCH_CLOSE, WATCH_STATUS } from '../protocol/constants.js';
import { encodeReplay, encodeStatus, type ResumePoint } from '../protocol/frames.js';
import {
  RUNTIME_SOCKETS,
  type HubSocketProvider,
  type TokenSocketProvider,
  type Sandbox,
  type SandboxDriver,
} from '../sandbox/driver.js';
import {
  listenEventsSocket,
  type ClientEvent,
  type EventRejection,
  type EventsSocket,
} from './events-socket.js';
import { FlowControl } from './flow-control.js';
import { InputPump } from './input-pump.js';
import type { PtyProcess, PtySpawner } from './pty.js';
import { ReplayBuffer } from './replay-buffer.js';

/** What a session needs from a WebSocket connection (server.ts implements it over ws). */
export interface SessionConnection {
  /** Sends one binary frame; `written` runs once it has left ws's buffer (or failed). */
  send(frame: Uint8Array, written?: () => void): void;
  /** Bytes queued in ws and not yet handed to the kernel. */
  readonly bufferedAmount: number;
  /** Sends STATUS(code, reason), then closes with the same code. */
  close(code: number, reason: string): void;
  /** Stops (true) or restarts (false) reading messages from the client. */
  holdInput(hold: boolean): void;
}

export type EndReason =
  'exited' | 'idle' | 'lifetime' | 'abandoned' | 'ended' | 'reset' | 'shutdown' | 'failed';

/**
 * What became of an INPUT: queued for the pty, ignored (a replaced
 * connection's late message, an ended session), refused (a watcher without
 * control), or over the pending-input limit.
 */
export type InputOutcome = 'queued' | 'ignored' | 'refused' | 'overflow';

export type WatchOutcome = 'watching' | 'full' | 'ended';

export type ControlOutcome = 'granted' | 'no-attendee' | 'no-watcher' | 'ended';

export type SessionState = 'starting' | 'running' | 'ended';

export interface SessionLimits {
  readonly replayBufferBytes: number;
  readonly flowHighWaterBytes: number;
  readonly flowLowWaterBytes: number;
  readonly inputHighWaterBytes: number;
  readonly inputLowWaterBytes: number;
  readonly maxPendingInputBytes: number;
  readonly reconnectGraceMs: number;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly eventLineMaxBytes: number;
  readonly eventConnections: number;
  readonly eventConnectionTimeoutMs: number;
  readonly maxWatchers: number;
  readonly watcherMaxLagBytes: number;
}

export interface SessionOptions {
  readonly attendee: string;
  readonly homeKey: string;
  readonly env: Readonly<Record<string, string>>;
  readonly hubCaFile: string | undefined;
  readonly cols: number;
  readonly rows: number;
  readonly driver: SandboxDriver;
  readonly hubSocketProvider: HubSocketProvider | undefined;
  /** Optional so that callers written before it need not name it. */
  readonly tokenSocketProvider?: TokenSocketProvider | undefined;
  readonly spawnPty: PtySpawner;
  readonly limits: SessionLimits;
  readonly now: () => number;
  readonly onClientEvent: (event: ClientEvent) => void;
  readonly onEventRejected: (session: Session, reason: EventRejection, detail: string) => void;
  /**
   * Called once, synchronously, when the session starts ending (it takes no
   * connection from then on); `ended` settles once the sandbox is destroyed.
   */
  readonly onEnding: (session: Session, reason: EndReason, ended: Promise<void>) => void;
  /** Called once the sandbox is destroyed. */
  readonly onEnded: (session: Session, reason: EndReason) => void;
  readonly onError: (error: unknown, session: Session) => void;
}

export interface WatcherInfo {
  readonly label: string;
  /** Whether the attendee lets this watcher type. */
  readonly control: boolean;
}

export interface SessionInfo {
  readonly id: string;
  readonly attendee: string;
  readonly homeKey: string;
  readonly state: SessionState;
  readonly attached: boolean;
  readonly startedAt: Date;
  /** Host path of the attendee's home, once the sandbox exists. */
  readonly homeDir: string | undefined;
  readonly outputBytes: number;
  readonly outputPaused: boolean;
  readonly pendingInputBytes: number;
  readonly watchers: readonly WatcherInfo[];
}

interface Watcher {
  readonly connection: SessionConnection;
  readonly label: string;
  /** Output offset this watcher has acknowledged. */
  acknowledged: number;
  control: boolean;
}

/**
 * Output chunks up to this size go out at once when nothing is gathered or
 * waiting (see #onOutput): keystroke echoes, prompts, short answers. A pty
 * under a flood yields full reads of about 4 KiB, which are gathered.
 */
const IMMEDIATE_OUTPUT_BYTES = 1024;

/** A turn that gathered this much read a full pty buffer: the program is streaming output. */
const STREAMING_TURN_BYTES = 4000;

/** How long a streaming frame may gather before it is sent (if it has not reached 64 KiB). */
const STREAM_GATHER_MS = 4;

/** Unix socket paths are limited to 108 bytes on Linux and 104 on macOS, terminator included. */
const MAX_SOCKET_PATH_BYTES = 103;

export class Session {
  readonly id: string;
  readonly idBytes: Uint8Array;
  readonly attendee: string;
  readonly homeKey: string;
  readonly startedAt: Date;

  readonly #options: SessionOptions;
  readonly #replay: ReplayBuffer;
  readonly #flow: FlowControl;
  readonly #input: InputPump;
  #state: SessionState = 'starting';
  #connection: SessionConnection | undefined;
  readonly #watchers = new Map<SessionConnection, Watcher>();
  /** Output offset acknowledged by the connection, or the offset at detach while detached. */
  #acknowledged = 0;
  #cols: number;
  #rows: number;
  #lastActivity: number;
  #sandbox: Sandbox | undefined;
  #homeDir: string | undefined;
  #events: EventsSocket | undefined;
  #hub: { close(): Promise<void> } | undefined;
  #token: { close(): Promise<void> } | undefined;
  #pty: PtyProcess | undefined;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #lifetimeTimer: ReturnType<typeof setTimeout> | undefined;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Output read this turn and not yet sent to the connection (see #onOutput). */
  #unsent: Uint8Array[] = [];
  #unsentBytes = 0;
  #flushScheduled: ReturnType<typeof setImmediate> | undefined;
  /** While output streams: the deadline for the frame being gathered (see #endOfTurn). */
  #streamTimer: ReturnType<typeof setTimeout> | undefined;
  #ended: Promise<void> | undefined;
  #started: Promise<void> | undefined;
  #endReason: EndReason | undefined;
  #exitCode: number | undefined;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.idBytes = new Uint8Array(randomBytes(LIMITS.sessionIdBytes));
    // 16 lowercase hex digits: matches SANDBOX_ID_PATTERN and keeps socket paths short.
    this.id = Buffer.from(this.idBytes).toString('hex');
    this.attendee = options.attendee;
    this.homeKey = options.homeKey;
    this.startedAt = new Date(options.now());
    this.#cols = options.cols;
    this.#rows = options.rows;
    this.#lastActivity = options.now();
    const { limits } = options;
    this.#replay = new ReplayBuffer(limits.replayBufferBytes);
    this.#flow = new FlowControl({
      highWater: limits.flowHighWaterBytes,
      lowWater: limits.flowLowWaterBytes,
      detachedLimit: limits.replayBufferBytes,
    });
    this.#input = new InputPump({
      highWater: limits.inputHighWaterBytes,
      lowWater: limits.inputLowWaterBytes,
      maxPending: limits.maxPendingInputBytes,
      onPressure: (high) => this.#holdInput(high),
      onError: (error) => {
        // The shell went away under a write; its exit ends the session.
        if (this.#state === 'running') this.#options.onError(error, this);
      },
    });
    this.#lifetimeTimer = setTimeout(() => void this.end('lifetime'), limits.maxLifetimeMs);
    this.#lifetimeTimer.unref();
    this.#armIdleTimer(limits.idleTimeoutMs);
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Whether a connection of the attendee is attached (watchers aside). */
  get attached(): boolean {
    return this.#connection !== undefined;
  }

  get watcherCount(): number {
    return this.#watchers.size;
  }

  /** Why the session ended, once it has. */
  get endReason(): EndReason | undefined {
    return this.#endReason;
  }

  info(): SessionInfo {
    return {
      id: this.id,
      attendee: this.attendee,
      homeKey: this.homeKey,
      state: this.#state,
      attached: this.attached,
      startedAt: this.startedAt,
      homeDir: this.#homeDir,
      outputBytes: this.#replay.end,
      outputPaused: this.#flow.paused,
      pendingInputBytes: this.#input.pending,
      watchers: [...this.#watchers.values()].map(({ label, control }) => ({ label, control })),
    };
  }

  /** Creates the sandbox, binds the sockets, spawns the shell. Never rejects: a failure ends the session. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    const { driver, hubSocketProvider, tokenSocketProvider, limits } = this.#options;
    try {
      const sandbox = await driver.create({
        sessionId: this.id,
        homeKey: this.homeKey,
        env: this.#options.env,
        hubCaFile: this.#options.hubCaFile,
      });
      this.#sandbox = sandbox;
      this.#homeDir = sandbox.homeDir;
      if (this.#ended) return void (await this.#teardown());

      const eventsPath = socketPath(sandbox.runtimeDir, RUNTIME_SOCKETS.events);
      const hubPath =
        hubSocketProvider === undefined ? undefined : socketPath(sandbox.runtimeDir, RUNTIME_SOCKETS.hub);
      const tokenPath =
        tokenSocketProvider === undefined ? undefined : socketPath(sandbox.runtimeDir, RUNTIME_SOCKETS.token);

      // The shell starts while the sockets are bound: its start is by far the longer wait. No
      // input reaches it until they are ready (the sink is set below), so no command of the
      // learner runs without them; the shell's own start-up uses neither.
      const pty = this.#options.spawnPty(sandbox.command, { cols: this.#cols, rows: this.#rows });
      this.#pty = pty;
      sandbox.onSpawn?.(pty.pid);
      pty.onData((data) => this.#onOutput(data));
      pty.onExit(({ exitCode }) => {
        this.#exitCode = exitCode;
        void this.end('exited');
      });
      if (this.#flow.paused) pty.pause();

      const [events, hub, token] = await Promise.allSettled([
        listenEventsSocket({
          path: eventsPath,
          owner: sandbox.owner,
          sessionId: this.id,
          attendee: this.attendee,
          maxLineBytes: limits.eventLineMaxBytes,
          maxConnections: limits.eventConnections,
          connectionTimeoutMs: limits.eventConnectionTimeoutMs,
          onEvent: this.#options.onClientEvent,
          onRejected: (reason, detail) => this.#options.onEventRejected(this, reason, detail),
        }),
        hubPath === undefined ? undefined : hubSocketProvider!.open(this.id, hubPath, sandbox.owner),
        tokenPath === undefined
          ? undefined
          : tokenSocketProvider!.open({ id: this.id, attendee: this.attendee }, tokenPath, sandbox.owner),
      ]);
      // Kept before anything is thrown, so that teardown closes whatever did open.
      if (events.status === 'fulfilled') this.#events = events.value;
      if (hub.status === 'fulfilled') this.#hub = hub.value;
      if (token.status === 'fulfilled') this.#token = token.value;
      if (events.status === 'rejected') throw events.reason;
      if (hub.status === 'rejected') {
        throw new SandboxError('SOCKET_FAILED', `the hub socket for session ${this.id} could not be opened`, {
          cause: hub.reason,
        });
      }
      if (token.status === 'rejected') {
        throw new SandboxError(
          'SOCKET_FAILED',
          `the token socket for session ${this.id} could not be opened`,
          {
            cause: token.reason,
          },
        );
      }
      if (this.#ended) return void (await this.#teardown());

      this.#state = 'running';
      this.#input.setSink(pty);
      const ready = encodeStatus(STATUS.ready, 'the shell is running');
      this.#connection?.send(ready);
      for (const watcher of this.#watchers.values()) watcher.connection.send(ready);
    } catch (error) {
      // After end() the sandbox may vanish under a step still in flight: that is no fault.
      if (!this.#ended) this.#options.onError(error, this);
      // Not awaited: end() waits for this start to settle.
      void this.end('failed');
    }
  }

  /**
   * Makes `connection` this session's one connection and brings its screen
   * up to date: the bytes after `resume` when this session still holds them,
   * else the whole replay buffer after a reset.
   */
  attach(connection: SessionConnection, resume: ResumePoint | undefined): void {
    if (this.#ended) {
      connection.close(CLOSE.sessionEnded, 'this terminal has ended');
      return;
    }
    const previous = this.#connection;
    // What the previous connection has not been sent is in the replay below; the watchers,
    // which stay, get it as they would have.
    this.#sendOutput({ attendee: false });
    // Consent to a watcher's typing was given by the previous connection, and ends with it.
    this.#revokeControl();
    this.#connection = connection;
    previous?.close(CLOSE.replaced, 'this terminal was opened in another window');
    this.#clearGraceTimer();
    this.#touch();

    const replay = this.#replayFrom(resume);
    this.#acknowledged = replay.startOffset;
    connection.send(replay.frame, () => this.#updateFlow());
    connection.send(this.#stateStatus());
    // A reloaded page learns who is watching.
    for (const watcher of this.#watchers.values()) {
      connection.send(encodeStatus(WATCH_STATUS.watcherJoined, watcher.label));
    }
    if (this.#input.underPressure) connection.holdInput(true);
    this.#updateFlow();
  }

  /**
   * Adds a read-only connection that sees this session's screen: a REPLAY
   * (as for `attach`), then every OUTPUT. The attendee's connection is told.
   */
  watch(connection: SessionConnection, label: string, resume: ResumePoint | undefined): WatchOutcome {
    if (this.#ended) return 'ended';
    if (this.#watchers.size >= this.#options.limits.maxWatchers) return 'full';
    // Output gathered for the connections already here goes to them first: the new watcher's
    // REPLAY below holds it, and it must not receive it twice.
    this.#sendOutput();
    const replay = this.#replayFrom(resume);
    this.#watchers.set(connection, { connection, label, acknowledged: replay.startOffset, control: false });
    connection.send(replay.frame);
    connection.send(this.#stateStatus());
    connection.send(
      encodeStatus(
        WATCH_STATUS.watching,
        "you are watching this terminal, read only; typing needs the attendee's consent",
      ),
    );
    this.#connection?.send(encodeStatus(WATCH_STATUS.watcherJoined, label));
    return 'watching';
  }

  /**
   * Lets the watchers labelled `label` type, on behalf of the attendee's
   * current connection (the web app calls this once the attendee accepted
   * in that page). Ends with `revokeControl`, or with that connection.
   */
  grantControl(label: string): ControlOutcome {
    if (this.#ended) return 'ended';
    if (this.#connection === undefined) return 'no-attendee';
    const watchers = [...this.#watchers.values()].filter((watcher) => watcher.label === label);
    if (watchers.length === 0) return 'no-watcher';
    for (const watcher of watchers) {
      if (watcher.control) continue;
      watcher.control = true;
      if (this.#input.underPressure) watcher.connection.holdInput(true);
      watcher.connection.send(
        encodeStatus(WATCH_STATUS.controlGranted, 'the attendee lets you type in this terminal'),
      );
      this.#connection.send(encodeStatus(WATCH_STATUS.watcherControlGranted, label));
    }
    return 'granted';
  }

  /** Takes typing back from every watcher; returns how many had it. */
  revokeControl(): number {
    return this.#revokeControl();
  }

  /** The connection went away; the shell keeps running for the grace period. */
  detach(connection: SessionConnection): void {
    const watcher = this.#watchers.get(connection);
    if (watcher !== undefined) return this.#removeWatcher(watcher);
    if (this.#connection !== connection) return;
    // Output gathered and not yet sent still goes to the watchers at the end of the turn.
    this.#connection = undefined;
    this.#revokeControl();
    this.#acknowledged = this.#replay.end;
    this.#updateFlow();
    if (this.#ended) return;
    this.#graceTimer = setTimeout(() => void this.end('abandoned'), this.#options.limits.reconnectGraceMs);
    this.#graceTimer.unref();
  }

  /** Queues keystrokes of the attendee, or of a watcher the attendee lets type, in arrival order. */
  input(connection: SessionConnection, data: Uint8Array): InputOutcome {
    if (this.#ended) return 'ignored';
    if (this.#connection !== connection) {
      const watcher = this.#watchers.get(connection);
      if (watcher === undefined) return 'ignored';
      if (!watcher.control) return 'refused';
    }
    this.#touch();
    return this.#input.push(data) ? 'queued' : 'overflow';
  }

  resize(connection: SessionConnection, cols: number, rows: number): void {
    if (this.#connection !== connection || this.#ended) return;
    this.#touch();
    this.#cols = cols;
    this.#rows = rows;
    this.#pty?.resize(cols, rows);
  }

  /** Records the client's progress; false when the offset is impossible (a protocol violation). */
  acknowledge(connection: SessionConnection, offset: number): boolean {
    const watcher = this.#watchers.get(connection);
    if (watcher !== undefined) {
      // A watcher's progress only decides whether it is dropped (#checkLag), never the pty's pace.
      if (offset < watcher.acknowledged || offset > this.#replay.end) return false;
      watcher.acknowledged = offset;
      return true;
    }
    if (this.#connection !== connection) return true;
    if (offset < this.#acknowledged || offset > this.#replay.end) return false;
    this.#acknowledged = offset;
    this.#updateFlow();
    return true;
  }

  /** Ends the session: tells the connection why, kills the shell, destroys the sandbox. Idempotent. */
  end(reason: EndReason): Promise<void> {
    if (this.#ended) return this.#ended;
    this.#endReason = reason;
    this.#state = 'ended';
    clearTimeout(this.#lifetimeTimer);
    clearTimeout(this.#idleTimer);
    this.#clearGraceTimer();
    this.#input.dispose();
    // The shell's last words (e.g. "logout") go out before the close.
    this.#sendOutput();
    const connection = this.#connection;
    this.#connection = undefined;
    const watchers = [...this.#watchers.values()];
    this.#watchers.clear();
    const [code, text] = this.#closeFor(reason);
    connection?.close(code, text);
    for (const watcher of watchers) watcher.connection.close(code, text);
    this.#ended = (async () => {
      await this.#teardown();
      // A start still in flight tears down what it creates after this point itself.
      await this.#started;
      this.#options.onEnded(this, reason);
    })();
    this.#options.onEnding(this, reason, this.#ended);
    return this.#ended;
  }

  #closeFor(reason: EndReason): [number, string] {
    const minutes = (ms: number) =>
      ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
    switch (reason) {
      case 'exited':
        return [CLOSE.normal, `the shell exited with code ${this.#exitCode ?? 'unknown'}`];
      case 'idle':
        return [
          CLOSE.sessionEnded,
          `the terminal was idle for ${minutes(this.#options.limits.idleTimeoutMs)}`,
        ];
      case 'lifetime':
        return [
          CLOSE.sessionEnded,
          `the terminal reached its ${minutes(this.#options.limits.maxLifetimeMs)} limit`,
        ];
      case 'abandoned':
        return [CLOSE.sessionEnded, 'the terminal had no connection for too long'];
      case 'ended':
        return [CLOSE.sessionEnded, 'the terminal was ended by the server'];
      case 'reset':
        return [CLOSE.sessionEnded, 'the terminal was reset by the server; open a new one to start afresh'];
      case 'shutdown':
        return [CLOSE.goingAway, 'the server is shutting down'];
      case 'failed':
        return [CLOSE.sandboxFailed, 'the terminal could not be started'];
    }
  }

  /**
   * Output goes out in as few frames as it can without a delay anyone sees. libuv
   * reads a pty once per event loop turn, at most about 4 KiB (the
   * kernel's line discipline buffer), and each frame costs a write(2), a
   * frame header and, at the client, a message to decode and acknowledge.
   *
   * - A short chunk that finds nothing gathered and nothing waiting in the
   *   socket goes at once: the program has paused (an echo, a prompt), and
   *   waiting for the end of the turn would make it wait for every other
   *   I/O callback of that turn, a neighbour's flood included.
   * - Otherwise chunks are gathered until the end of the turn (setImmediate).
   * - If a turn gathered a full read or more, output is streaming (`cat`
   *   of a big file, a build log): the frame keeps gathering across turns
   *   for up to STREAM_GATHER_MS or 64 KiB, which cuts frames, system calls
   *   and acknowledgements by an order of magnitude at the cost of a few
   *   milliseconds no one can see in a stream.
   */
  #onOutput(data: Uint8Array): void {
    if (this.#ended) return;
    this.#replay.append(data);
    const connection = this.#connection;
    if (connection !== undefined || this.#watchers.size > 0) {
      // Only the attendee's socket decides: a watcher's backlog never delays the attendee's echo.
      if (
        this.#unsentBytes === 0 &&
        data.byteLength <= IMMEDIATE_OUTPUT_BYTES &&
        (connection?.bufferedAmount ?? 0) === 0
      ) {
        this.#sendFrames([data], data.byteLength, { attendee: true });
      } else {
        this.#unsent.push(data);
        this.#unsentBytes += data.byteLength;
        if (this.#unsentBytes >= LIMITS.maxOutputBytes) this.#sendOutput();
        else this.#flushScheduled ??= setImmediate(() => this.#endOfTurn());
      }
    }
    this.#updateFlow();
  }

  #endOfTurn(): void {
    this.#flushScheduled = undefined;
    if (this.#streamTimer !== undefined) return; // The stream's deadline sends it.
    if (this.#unsentBytes >= STREAMING_TURN_BYTES) {
      this.#streamTimer = setTimeout(() => this.#sendOutput(), STREAM_GATHER_MS);
      return;
    }
    this.#sendOutput();
  }

  /** Sends what was gathered, to the watchers and (unless told otherwise) the attendee. */
  #sendOutput({ attendee = true } = {}): void {
    const chunks = this.#unsent;
    const total = this.#unsentBytes;
    this.#dropUnsent();
    if (total === 0) return;
    this.#sendFrames(chunks, total, { attendee });
  }

  /**
   * OUTPUT frames (type byte, then the bytes) assembled straight from the
   * chunks: one copy, whatever the number of connections they go to.
   */
  #sendFrames(chunks: readonly Uint8Array[], total: number, { attendee }: { attendee: boolean }): void {
    const connection = attendee ? this.#connection : undefined;
    const watchers = [...this.#watchers.values()];
    if (connection === undefined && watchers.length === 0) return;
    const written = () => this.#updateFlow();
    let chunk = 0;
    let offset = 0;
    for (let left = total; left > 0;) {
      const size = Math.min(left, LIMITS.maxOutputBytes);
      const frame = Buffer.allocUnsafe(1 + size);
      frame[0] = FRAME.output;
      for (let filled = 0; filled < size;) {
        const source = chunks[chunk]!;
        const count = Math.min(size - filled, source.byteLength - offset);
        frame.set(source.subarray(offset, offset + count), 1 + filled);
        filled += count;
        offset += count;
        if (offset === source.byteLength) {
          chunk++;
          offset = 0;
        }
      }
      connection?.send(frame, written);
      for (const watcher of watchers) watcher.connection.send(frame);
      left -= size;
    }
    for (const watcher of watchers) this.#checkLag(watcher);
  }

  /** Drops a watcher that cannot keep up, rather than letting it hold the attendee back. */
  #checkLag(watcher: Watcher): void {
    const limit = this.#options.limits.watcherMaxLagBytes;
    const behind = this.#replay.end - watcher.acknowledged;
    if (behind <= limit && watcher.connection.bufferedAmount <= limit) return;
    this.#removeWatcher(watcher);
    watcher.connection.close(
      WATCH_CLOSE.fellBehind,
      'this watcher fell too far behind the terminal; reconnect to catch up',
    );
  }

  #removeWatcher(watcher: Watcher): void {
    if (this.#watchers.get(watcher.connection) !== watcher) return;
    this.#watchers.delete(watcher.connection);
    if (watcher.control) {
      if (this.#input.underPressure) watcher.connection.holdInput(false);
      this.#connection?.send(encodeStatus(WATCH_STATUS.watcherControlEnded, watcher.label));
    }
    if (this.#watchers.size === 0) {
      this.#connection?.send(encodeStatus(WATCH_STATUS.watchersLeft, watcher.label));
    }
  }

  #revokeControl(): number {
    let revoked = 0;
    for (const watcher of this.#watchers.values()) {
      if (!watcher.control) continue;
      watcher.control = false;
      revoked++;
      if (this.#input.underPressure) watcher.connection.holdInput(false);
      watcher.connection.send(
        encodeStatus(WATCH_STATUS.controlRevoked, 'you can no longer type in this terminal'),
      );
      this.#connection?.send(encodeStatus(WATCH_STATUS.watcherControlEnded, watcher.label));
    }
    return revoked;
  }

  /** Input back-pressure holds every connection whose input reaches the pty. */
  #holdInput(hold: boolean): void {
    this.#connection?.holdInput(hold);
    for (const watcher of this.#watchers.values()) if (watcher.control) watcher.connection.holdInput(hold);
  }

  /**
   * The REPLAY for a new connection: the bytes after `resume` when this
   * session still holds them, else the whole buffer after a reset.
   */
  #replayFrom(resume: ResumePoint | undefined): { frame: Uint8Array; startOffset: number } {
    const resumed =
      resume !== undefined && sameBytes(resume.session, this.idBytes)
        ? this.#replay.read(resume.offset)
        : undefined;
    const startOffset = resumed !== undefined ? resume!.offset : this.#replay.start;
    const data = resumed ?? this.#replay.read()!;
    const mode = resumed !== undefined ? 'continue' : 'reset';
    return { frame: encodeReplay(mode, this.idBytes, startOffset, data), startOffset };
  }

  #stateStatus(): Uint8Array {
    return this.#state === 'running'
      ? encodeStatus(STATUS.ready, 'the shell is running')
      : encodeStatus(STATUS.starting, 'the terminal is starting');
  }

  #dropUnsent(): void {
    if (this.#flushScheduled !== undefined) clearImmediate(this.#flushScheduled);
    this.#flushScheduled = undefined;
    if (this.#streamTimer !== undefined) clearTimeout(this.#streamTimer);
    this.#streamTimer = undefined;
    this.#unsent = [];
    this.#unsentBytes = 0;
  }

  #updateFlow(): void {
    const connection = this.#connection;
    const decision = this.#flow.update({
      produced: this.#replay.end,
      acknowledged: this.#acknowledged,
      buffered: connection?.bufferedAmount ?? 0,
      attached: connection !== undefined,
    });
    if (decision === 'pause') this.#pty?.pause();
    else if (decision === 'resume') this.#pty?.resume();
  }

  #touch(): void {
    this.#lastActivity = this.#options.now();
  }

  /** One timer for the idle limit, re-armed for the remainder when activity moved the deadline. */
  #armIdleTimer(delay: number): void {
    this.#idleTimer = setTimeout(() => {
      const idleFor = this.#options.now() - this.#lastActivity;
      const limit = this.#options.limits.idleTimeoutMs;
      if (idleFor >= limit) void this.end('idle');
      else this.#armIdleTimer(limit - idleFor);
    }, delay);
    this.#idleTimer.unref();
  }

  #clearGraceTimer(): void {
    if (this.#graceTimer !== undefined) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
  }

  /** Releases whatever exists so far; start() calls it again for what arrives after end(). */
  async #teardown(): Promise<void> {
    const pty = this.#pty;
    this.#pty = undefined;
    if (pty !== undefined) {
      // A paused pty would hold back the exit notification; nothing reads the rest anyway.
      pty.resume();
      pty.kill('SIGHUP');
    }
    const events = this.#events;
    const hub = this.#hub;
    const token = this.#token;
    const sandbox = this.#sandbox;
    this.#events = undefined;
    this.#hub = undefined;
    this.#token = undefined;
    this.#sandbox = undefined;
    const steps: [string, (() => Promise<void>) | undefined][] = [
      ['events socket', events && (() => events.close())],
      ['hub socket', hub && (() => hub.close())],
      ['token socket', token && (() => token.close())],
      ['sandbox', sandbox && (() => sandbox.destroy())],
    ];
    for (const [what, step] of steps) {
      if (step === undefined) continue;
      try {
        await step();
      } catch (cause) {
        this.#options.onError(
          new SandboxError('SANDBOX_FAILED', `session ${this.id}: the ${what} did not close cleanly`, {
            cause,
          }),
          this,
        );
      }
    }
  }
}

function socketPath(directory: string, name: string): string {
  const path = join(directory, name);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new SandboxError(
      'SOCKET_PATH_TOO_LONG',
      `the socket path ${path} is longer than unix sockets allow`,
      {
        suggestion: 'Use a shorter data directory (TRUSTLAB_DATA_DIR).',
      },
    );
  }
  return path;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
}
