/**
 * A reference client of the terminal protocol (docs/terminal-protocol.md)
 * for Node: tests and benchmarks use it, and the browser page ports it
 * (only the transport differs; the codec in ../protocol/ is shared).
 *
 *   const client = await TerminalClient.connect({ url, ticket, origin, onOutput: (bytes) => term.write(bytes) });
 *   client.input('ls\r');
 *   client.resize(120, 40);
 *   // later, on a new connection with a new ticket, the screen continues where it was:
 *   await TerminalClient.connect({ url, ticket: next, origin, resume: client.resumePoint() });
 *
 * Frames are handled strictly in order. An output handler may return a
 * promise (e.g. resolved by xterm's write callback); the bytes count as
 * processed, and are acknowledged, once it settles. Acknowledgements are
 * coalesced: one ACK per turn of the event loop at most.
 */
import { WebSocket } from 'ws';
import { LIMITS } from '../protocol/constants.js';
import {
  decodeServerFrame,
  encodeAck,
  encodeHello,
  encodeInput,
  encodeResize,
  type ReplayMode,
  type ResumePoint,
  type ServerFrame,
} from '../protocol/frames.js';

export interface ReplayEvent {
  readonly mode: ReplayMode;
  readonly startOffset: number;
  readonly data: Uint8Array;
}

export interface StatusEvent {
  readonly code: number;
  readonly reason: string;
}

export interface CloseEvent {
  readonly code: number;
  readonly reason: string;
}

export interface TerminalClientOptions {
  /** `ws://host:port/path` of the endpoint. */
  readonly url: string;
  /** The ticket as issued (base64url), or its 32 bytes. */
  readonly ticket: string | Uint8Array;
  /** Sent as the Origin header, as a browser would. */
  readonly origin?: string;
  /** Sent as the Host header instead of the URL's (tests of the Host check). */
  readonly host?: string;
  readonly cols?: number;
  readonly rows?: number;
  /** Where the screen this client shows stands, to receive only what it lacks. */
  readonly resume?: ResumePoint;
  /**
   * Called before any output with the screen's content. On `reset` the
   * terminal must be cleared first. Its bytes are acknowledged like output.
   */
  readonly onReplay?: (replay: ReplayEvent) => void | Promise<void>;
  readonly onOutput?: (data: Uint8Array) => void | Promise<void>;
  readonly onStatus?: (status: StatusEvent) => void;
  readonly onClose?: (close: CloseEvent) => void;
  /** Acknowledge processed output automatically (default true). */
  readonly autoAck?: boolean;
  /** Largest message accepted; must exceed the server's replay buffer (default 8 MiB). */
  readonly maxPayload?: number;
}

const encoder = new TextEncoder();

export class TerminalClient {
  readonly socket: WebSocket;
  /** Resolves when the server closes the connection (or it drops). */
  readonly closed: Promise<CloseEvent>;
  readonly #options: TerminalClientOptions;
  #session: Uint8Array | undefined;
  /** Output offset processed: replay and output bytes handed to the handlers, which have settled. */
  #offset = 0;
  #acknowledged = 0;
  #ackScheduled = false;
  #queue: Promise<void> = Promise.resolve();
  #failure: unknown;

  private constructor(socket: WebSocket, options: TerminalClientOptions) {
    this.socket = socket;
    this.#options = options;
    this.closed = new Promise((resolve) => {
      socket.on('close', (code, reason) => {
        const event = { code, reason: reason.toString('utf8') };
        options.onClose?.(event);
        resolve(event);
      });
    });
    socket.on('message', (data, isBinary) => {
      if (!isBinary) return;
      const bytes = data as Buffer;
      this.#queue = this.#queue.then(() => this.#handle(bytes)).catch((error: unknown) => this.#fail(error));
    });
  }

  /** Opens the WebSocket and sends HELLO; rejects when the upgrade is refused (e.g. "403"). */
  static connect(options: TerminalClientOptions): Promise<TerminalClient> {
    const ticket = typeof options.ticket === 'string' ? decodeTicket(options.ticket) : options.ticket;
    const headers: Record<string, string> = {};
    if (options.host !== undefined) headers.host = options.host;
    const socket = new WebSocket(options.url, {
      origin: options.origin,
      headers,
      maxPayload: options.maxPayload ?? 8 * 1024 * 1024,
      perMessageDeflate: false,
    });
    socket.binaryType = 'nodebuffer';
    const client = new TerminalClient(socket, options);
    return new Promise((resolve, reject) => {
      socket.once('unexpected-response', (_req, res) => {
        socket.terminate();
        reject(new Error(`the server refused the upgrade: ${res.statusCode ?? 'no status'}`));
      });
      socket.once('error', reject);
      socket.once('open', () => {
        socket.off('error', reject);
        socket.on('error', () => undefined);
        socket.send(
          encodeHello({ cols: options.cols ?? 80, rows: options.rows ?? 24, ticket, resume: options.resume }),
        );
        resolve(client);
      });
    });
  }

  /** The session this client is attached to (from the REPLAY frame). */
  get session(): Uint8Array | undefined {
    return this.#session;
  }

  /** Output bytes processed so far, as an absolute offset of the session's output. */
  get offset(): number {
    return this.#offset;
  }

  /** A protocol fault found in what the server sent, if any. */
  get failure(): unknown {
    return this.#failure;
  }

  /** What to pass as `resume` on the next connection, once a REPLAY was received. */
  resumePoint(): ResumePoint | undefined {
    return this.#session === undefined ? undefined : { session: this.#session, offset: this.#offset };
  }

  /** Sends keystrokes or a paste, split into INPUT frames of at most 64 KiB, in order. */
  input(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? encoder.encode(data) : data;
    for (let at = 0; at < bytes.byteLength; at += LIMITS.maxInputBytes) {
      this.sendRaw(encodeInput(bytes.subarray(at, at + LIMITS.maxInputBytes)));
    }
  }

  resize(cols: number, rows: number): void {
    this.sendRaw(encodeResize(cols, rows));
  }

  /** Acknowledges output up to `offset` (default: everything processed). */
  ack(offset = this.#offset): void {
    if (offset <= this.#acknowledged) return;
    this.#acknowledged = offset;
    this.sendRaw(encodeAck(offset));
  }

  /** Sends bytes as one binary message, as they are (tests use it for malformed frames). */
  sendRaw(bytes: Uint8Array): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(bytes, { binary: true });
  }

  /** Closes normally and waits for the server's side. */
  async close(): Promise<CloseEvent> {
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(1000);
    }
    return this.closed;
  }

  /** Drops the connection without a closing handshake, as a lost network would. */
  terminate(): void {
    this.socket.terminate();
  }

  async #handle(bytes: Uint8Array): Promise<void> {
    const frame: ServerFrame = decodeServerFrame(bytes);
    switch (frame.type) {
      case 'replay':
        this.#session = frame.session;
        this.#offset = frame.startOffset;
        this.#acknowledged = frame.startOffset;
        await this.#options.onReplay?.({
          mode: frame.mode,
          startOffset: frame.startOffset,
          data: frame.data,
        });
        this.#processed(frame.data.byteLength);
        return;
      case 'output':
        await this.#options.onOutput?.(frame.data);
        this.#processed(frame.data.byteLength);
        return;
      case 'status':
        this.#options.onStatus?.({ code: frame.code, reason: frame.reason });
        return;
    }
  }

  #processed(count: number): void {
    this.#offset += count;
    if (this.#options.autoAck === false || this.#ackScheduled) return;
    this.#ackScheduled = true;
    setImmediate(() => {
      this.#ackScheduled = false;
      this.ack();
    });
  }

  #fail(error: unknown): void {
    this.#failure ??= error;
    this.socket.close(4400, 'bad frame from the server');
  }
}

function decodeTicket(ticket: string): Uint8Array {
  const bytes = Buffer.from(ticket, 'base64url');
  if (bytes.byteLength !== LIMITS.ticketBytes)
    throw new RangeError('not a terminal ticket (32 bytes, base64url)');
  return new Uint8Array(bytes);
}
