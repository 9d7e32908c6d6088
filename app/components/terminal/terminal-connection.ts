/**
 * The lab page's side of the terminal protocol (docs/terminal-protocol.md),
 * over the browser's WebSocket; the frames themselves are in protocol.ts.
 *
 * What this adds to the frames:
 * - tickets: each connection starts with a fresh one from the web app;
 * - flow control: output counts as processed once the screen's write
 *   callback ran, and is acknowledged then, one ACK per event-loop turn at most;
 * - reconnect: after a drop, a new connection resumes from the last byte
 *   handed to the screen, so the server's REPLAY carries only what is missing
 *   (or, if it can no longer do that, resets the screen and sends it whole);
 *   either way every byte is shown exactly once;
 * - watching (docs/terminal-protocol.md, "Watching"): the same connection
 *   with a watch ticket; STATUS codes about watchers and control are handed
 *   to `onStatus`, and the watchers' own close codes are understood;
 * - reset: an attendee whose session an instructor reset reconnects at
 *   once to the fresh shell, after a `reset` state the page can announce.
 */
import {
  CLOSE,
  LIMITS,
  STATUS,
  decodeServerFrame,
  encodeAck,
  encodeHello,
  encodeInput,
  encodeResize,
  WATCH_CLOSE,
  type ResumePoint,
} from './protocol';

/** What the connection needs from the terminal on screen (xterm.js in the page). */
export interface TerminalScreen {
  /** Current size, for HELLO. */
  size(): { cols: number; rows: number };
  /** Writes bytes; `done` runs once they are parsed and on screen. */
  write(data: Uint8Array, done: () => void): void;
  /** Clears everything, before a REPLAY that starts over. */
  reset(): void;
}

export type ConnectionState =
  | { readonly kind: 'connecting'; readonly attempt: number }
  | { readonly kind: 'starting' }
  | { readonly kind: 'ready' }
  | { readonly kind: 'reconnecting'; readonly attempt: number; readonly reason: string }
  /** The session was reset (an instructor's reset); an attendee connects to a fresh shell next. */
  | { readonly kind: 'reset'; readonly reason: string }
  /** Over for good unless the learner acts: `action` says what to offer. */
  | {
      readonly kind: 'stopped';
      readonly code: number;
      readonly reason: string;
      readonly action: 'new-terminal' | 'take-back' | 'reload' | 'retry';
    };

export interface TerminalConnectionOptions {
  readonly screen: TerminalScreen;
  readonly onState: (state: ConnectionState) => void;
  /** Where tickets come from (default: POST /api/terminal/ticket). */
  readonly fetchTicket?: () => Promise<string>;
  /** `ws(s)://host/terminal` (default: this page's host). */
  readonly url?: string;
  /**
   * Whose connection this is: the attendee's own (default) or a watcher's
   * (an instructor with a watch ticket, who cannot take a terminal over).
   */
  readonly role?: 'attendee' | 'watcher';
  /** STATUS codes other than starting, ready and the ones before a close (watching and control: 300-313). */
  readonly onStatus?: (code: number, reason: string) => void;
}

/** A ticket that will not come however often it is asked for (no terminal to watch, not allowed). */
export class TicketRefused extends Error {
  override readonly name = 'TicketRefused';
}

/** Connection attempts in a row before the page stops and asks the learner. */
const MAX_ATTEMPTS = 8;
/** Input kept while the connection is down; typing beyond this is dropped. */
const MAX_QUEUED_INPUT = 64 * 1024;

const encoder = new TextEncoder();

/** One WebSocket: its own counters, so late callbacks of an old socket never touch a new one. */
interface Link {
  readonly socket: WebSocket;
  session: Uint8Array | undefined;
  /** Output bytes of the session handed to the screen (where a resume would start). */
  written: number;
  /** Output bytes the screen has processed (what may be acknowledged). */
  processed: number;
  acknowledged: number;
  ackScheduled: boolean;
  /** Set once a STATUS announced the close that follows. */
  closing: { code: number; reason: string } | undefined;
}

export class TerminalConnection {
  readonly #options: TerminalConnectionOptions;
  #link: Link | undefined;
  #resume: ResumePoint | undefined;
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #queuedInput: Uint8Array[] = [];
  #queuedBytes = 0;
  #disposed = false;
  /** Frames are handled strictly in order, the way the server sent them. */
  #frames: Promise<void> = Promise.resolve();

  constructor(options: TerminalConnectionOptions) {
    this.#options = options;
  }

  /** Opens the first connection. */
  start(): void {
    this.#connect();
  }

  /** After a `stopped` state: start over (a new session if the old one ended, else take the terminal back). */
  restart(): void {
    if (this.#disposed) return;
    this.#attempt = 0;
    this.#connect();
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#timer);
    const link = this.#link;
    this.#link = undefined;
    if (link && link.socket.readyState <= WebSocket.OPEN) link.socket.close(1000);
  }

  /** Keystrokes or a paste; split into INPUT frames of at most 64 KiB, in order. */
  input(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    if (bytes.byteLength === 0) return;
    const link = this.#link;
    if (link && link.session !== undefined && link.socket.readyState === WebSocket.OPEN) {
      sendInput(link.socket, bytes);
      return;
    }
    // Down or not attached yet: keep what was typed and send it once attached.
    if (this.#queuedBytes + bytes.byteLength > MAX_QUEUED_INPUT) return;
    this.#queuedInput.push(bytes);
    this.#queuedBytes += bytes.byteLength;
  }

  resize(cols: number, rows: number): void {
    const link = this.#link;
    if (!link || link.socket.readyState !== WebSocket.OPEN) return;
    link.socket.send(encodeResize(clampSize(cols), clampSize(rows)));
  }

  #connect(): void {
    if (this.#disposed) return;
    clearTimeout(this.#timer);
    this.#attempt += 1;
    const attempt = this.#attempt;
    this.#options.onState(
      this.#resume === undefined
        ? { kind: 'connecting', attempt }
        : { kind: 'reconnecting', attempt, reason: 'Connecting again…' },
    );
    void this.#open().catch((error: unknown) => {
      if (error instanceof TicketRefused) this.#stop(0, error.message, 'retry');
      else this.#retry(`Could not reach the terminal server.`);
    });
  }

  async #open(): Promise<void> {
    const ticket = decodeTicket(await (this.#options.fetchTicket ?? fetchTicket)());
    if (this.#disposed) return;
    const socket = new WebSocket(this.#options.url ?? defaultUrl());
    socket.binaryType = 'arraybuffer';
    const link: Link = {
      socket,
      session: undefined,
      written: 0,
      processed: 0,
      acknowledged: 0,
      ackScheduled: false,
      closing: undefined,
    };
    this.#link = link;
    socket.addEventListener('open', () => {
      const { cols, rows } = this.#options.screen.size();
      socket.send(
        encodeHello({ cols: clampSize(cols), rows: clampSize(rows), ticket, resume: this.#resume }),
      );
    });
    socket.addEventListener('message', (event: MessageEvent<unknown>) => {
      if (!(event.data instanceof ArrayBuffer)) {
        socket.close(CLOSE.frameInvalid, 'text message');
        return;
      }
      const bytes = new Uint8Array(event.data);
      this.#frames = this.#frames
        .then(() => this.#handle(link, bytes))
        .catch(() => {
          // A frame the codec refuses: the server broke the protocol; drop and reconnect.
          socket.close(CLOSE.frameInvalid, 'bad frame from the server');
        });
    });
    socket.addEventListener('close', (event) => this.#closed(link, event.code, event.reason));
  }

  async #handle(link: Link, bytes: Uint8Array): Promise<void> {
    if (link !== this.#link) return;
    const frame = decodeServerFrame(bytes);
    const { screen } = this.#options;
    switch (frame.type) {
      case 'replay': {
        // Let earlier writes land before a reset, or they would be drawn on the cleared screen.
        await new Promise<void>((resolve) => screen.write(new Uint8Array(0), resolve));
        if (frame.mode === 'reset') screen.reset();
        link.session = frame.session;
        link.written = frame.startOffset;
        link.processed = frame.startOffset;
        link.acknowledged = frame.startOffset;
        this.#attempt = 0;
        this.#write(link, frame.data);
        this.#flushQueuedInput(link);
        return;
      }
      case 'output':
        this.#write(link, frame.data);
        return;
      case 'status':
        if (frame.code === STATUS.starting) this.#options.onState({ kind: 'starting' });
        else if (frame.code === STATUS.ready) this.#options.onState({ kind: 'ready' });
        else if (frame.code >= 1000) link.closing = { code: frame.code, reason: frame.reason };
        else this.#options.onStatus?.(frame.code, frame.reason);
        return;
    }
  }

  #write(link: Link, data: Uint8Array): void {
    link.written += data.byteLength;
    this.#resume = link.session && { session: link.session, offset: link.written };
    if (data.byteLength === 0) return;
    this.#options.screen.write(data, () => {
      link.processed += data.byteLength;
      this.#scheduleAck(link);
    });
  }

  #scheduleAck(link: Link): void {
    if (link.ackScheduled) return;
    link.ackScheduled = true;
    setTimeout(() => {
      link.ackScheduled = false;
      if (link.processed <= link.acknowledged || link.socket.readyState !== WebSocket.OPEN) return;
      link.acknowledged = link.processed;
      link.socket.send(encodeAck(link.processed));
    }, 0);
  }

  #flushQueuedInput(link: Link): void {
    const queued = this.#queuedInput;
    this.#queuedInput = [];
    this.#queuedBytes = 0;
    for (const bytes of queued) sendInput(link.socket, bytes);
  }

  #closed(link: Link, code: number, reason: string): void {
    if (link !== this.#link || this.#disposed) return;
    // The STATUS before the close carries the reason even where close reasons are lost.
    const announced = link.closing;
    const why = announced?.reason || reason;
    const closeCode = announced?.code ?? code;
    switch (closeCode) {
      case CLOSE.normal:
        this.#stop(closeCode, why || 'The shell has exited.', 'new-terminal');
        return;
      case CLOSE.sessionEnded:
        this.#resume = undefined;
        if (this.#role === 'watcher') {
          this.#stop(closeCode, why || 'This terminal session has ended.', 'retry');
          return;
        }
        if (/\breset\b/i.test(why)) {
          // An instructor's reset: the server holds the next session back until the home is
          // fresh, so connecting again at once is safe, and it is what the attendee expects.
          this.#link = undefined;
          this.#attempt = 0;
          this.#options.onState({ kind: 'reset', reason: why });
          this.#connect();
          return;
        }
        this.#stop(closeCode, why || 'This terminal session has ended.', 'new-terminal');
        return;
      case WATCH_CLOSE.noSession:
        if (this.#role === 'watcher') {
          this.#resume = undefined;
          this.#stop(closeCode, why || 'The attendee has no terminal running now.', 'retry');
          return;
        }
        this.#retry(why || 'The connection to the terminal was lost.');
        return;
      case CLOSE.replaced:
        if (this.#role === 'watcher') {
          this.#retry(why || 'The connection to the terminal was lost.');
          return;
        }
        this.#stop(closeCode, why || 'This terminal is open in another window.', 'take-back');
        return;
      case CLOSE.versionUnsupported:
        this.#stop(closeCode, why || 'This page is older than the terminal server.', 'reload');
        return;
      case CLOSE.frameInvalid:
      case CLOSE.unsupportedData:
      case CLOSE.tooBig:
        // A fault in this page or the server: retrying cannot help for long, but may once.
        this.#retry(why || 'The connection broke off.', 2);
        return;
      default:
        // Drops, refused upgrades (a browser only sees 1006), a spent ticket (4401),
        // a server going away or full: all mend with a fresh ticket and a moment.
        this.#retry(why || 'The connection to the terminal was lost.');
    }
  }

  get #role(): 'attendee' | 'watcher' {
    return this.#options.role ?? 'attendee';
  }

  #retry(reason: string, maxAttempts = MAX_ATTEMPTS): void {
    if (this.#disposed) return;
    if (this.#attempt >= maxAttempts) {
      this.#stop(0, `${reason} The terminal could not reconnect.`, 'retry');
      return;
    }
    this.#options.onState({ kind: 'reconnecting', attempt: this.#attempt + 1, reason });
    // 0.5 s, 1 s, 2 s … up to 10 s, with jitter so a restarted server is not hit all at once.
    const delay = Math.min(10_000, 500 * 2 ** Math.max(0, this.#attempt - 1)) * (0.75 + Math.random() / 2);
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #stop(code: number, reason: string, action: 'new-terminal' | 'take-back' | 'reload' | 'retry'): void {
    this.#link = undefined;
    this.#options.onState({ kind: 'stopped', code, reason, action });
  }
}

function sendInput(socket: WebSocket, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.byteLength; at += LIMITS.maxInputBytes) {
    socket.send(encodeInput(bytes.subarray(at, at + LIMITS.maxInputBytes)));
  }
}

function clampSize(value: number): number {
  return Math.min(LIMITS.maxCols, Math.max(1, Math.floor(value) || 1));
}

function defaultUrl(): string {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/terminal`;
}

async function fetchTicket(): Promise<string> {
  const response = await fetch('/api/terminal/ticket', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { accept: 'application/json' },
  });
  if (!response.ok) throw new Error(`ticket refused: ${response.status}`);
  const body = (await response.json()) as unknown;
  if (
    typeof body !== 'object' ||
    body === null ||
    typeof (body as { ticket?: unknown }).ticket !== 'string'
  ) {
    throw new Error('ticket answer without a ticket');
  }
  return (body as { ticket: string }).ticket;
}

/** A ticket as issued (base64url, 32 bytes) to its bytes. */
export function decodeTicket(ticket: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]{43}$/.test(ticket)) throw new RangeError('not a terminal ticket');
  const binary = atob(ticket.replace(/-/g, '+').replace(/_/g, '/') + '=');
  const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
  if (bytes.byteLength !== LIMITS.ticketBytes) throw new RangeError('not a terminal ticket');
  return bytes;
}
