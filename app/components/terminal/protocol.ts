/**
 * The terminal protocol's frames (docs/terminal-protocol.md), as the page
 * sends and reads them: HELLO, INPUT, RESIZE and ACK out; REPLAY, OUTPUT and
 * STATUS in. Integers are big-endian; offsets are 64-bit on the wire and
 * never beyond 2^53 - 1.
 *
 * A port of the server's codec (terminal-server/src/protocol/), not an
 * import of it. That codec is browser-safe, but its modules import each
 * other as `./constants.js` (NodeNext), which Next's default bundler,
 * Turbopack, does not map to `.ts` files. protocol.test.ts runs every frame
 * through both codecs, so the two cannot drift apart unnoticed.
 */

export const PROTOCOL_VERSION = 1;

export const FRAME = {
  hello: 0x01,
  input: 0x02,
  resize: 0x03,
  ack: 0x04,
  replay: 0x81,
  output: 0x82,
  status: 0x83,
} as const;

export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  tooBig: 1009,
  frameInvalid: 4400,
  unauthorized: 4401,
  helloTimeout: 4408,
  replaced: 4409,
  sessionEnded: 4410,
  inputOverflow: 4413,
  versionUnsupported: 4426,
  tooManySessions: 4429,
  sandboxFailed: 4500,
} as const;

export const STATUS = { starting: 100, ready: 200 } as const;

/** Watching (shadowing): STATUS codes to a watcher (300-303) and to the attendee (310-313). */
export const WATCH_STATUS = {
  watching: 300,
  inputRefused: 301,
  controlGranted: 302,
  controlRevoked: 303,
  watcherJoined: 310,
  watchersLeft: 311,
  watcherControlGranted: 312,
  watcherControlEnded: 313,
} as const;

/** Close codes only a watcher's connection gets (4429 is CLOSE.tooManySessions's number, reused). */
export const WATCH_CLOSE = {
  noSession: 4404,
  tooManyWatchers: 4429,
  fellBehind: 4504,
} as const;

export const LIMITS = {
  ticketBytes: 32,
  sessionIdBytes: 8,
  helloBytes: 55,
  replayHeaderBytes: 18,
  maxInputBytes: 65536,
  maxCols: 1000,
  maxRows: 1000,
  maxReasonBytes: 240,
} as const;

export interface ResumePoint {
  /** The session id of the last REPLAY (8 bytes). */
  readonly session: Uint8Array;
  /** Output bytes of that session already on screen. */
  readonly offset: number;
}

export type ServerFrame =
  | {
      readonly type: 'replay';
      readonly mode: 'reset' | 'continue';
      readonly session: Uint8Array;
      readonly startOffset: number;
      readonly data: Uint8Array;
    }
  | { readonly type: 'output'; readonly data: Uint8Array }
  | { readonly type: 'status'; readonly code: number; readonly reason: string };

/** A frame from the server that breaks the protocol; the page closes the connection with 4400. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
}

const HELLO_FLAG_RESUME = 0x01;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function frame(type: number, payloadLength: number): Uint8Array {
  const bytes = new Uint8Array(1 + payloadLength);
  bytes[0] = type;
  return bytes;
}

function writeOffset(bytes: Uint8Array, at: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`offset ${value} is out of range`);
  view(bytes).setBigUint64(at, BigInt(value));
}

function readOffset(bytes: Uint8Array, at: number): number {
  const value = view(bytes).getBigUint64(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new FrameError('offset beyond 2^53 - 1');
  return Number(value);
}

function checkSize(cols: number, rows: number): void {
  const ok = (value: number, max: number) => Number.isInteger(value) && value >= 1 && value <= max;
  if (!ok(cols, LIMITS.maxCols) || !ok(rows, LIMITS.maxRows)) {
    throw new RangeError(`terminal size ${cols}x${rows} is outside 1..1000 x 1..1000`);
  }
}

export function encodeHello(options: {
  cols: number;
  rows: number;
  ticket: Uint8Array;
  resume?: ResumePoint | undefined;
}): Uint8Array {
  if (options.ticket.byteLength !== LIMITS.ticketBytes) throw new RangeError('a ticket is 32 bytes');
  checkSize(options.cols, options.rows);
  const bytes = frame(FRAME.hello, LIMITS.helloBytes - 1);
  bytes[1] = PROTOCOL_VERSION;
  bytes[2] = options.resume === undefined ? 0 : HELLO_FLAG_RESUME;
  view(bytes).setUint16(3, options.cols);
  view(bytes).setUint16(5, options.rows);
  if (options.resume !== undefined) {
    if (options.resume.session.byteLength !== LIMITS.sessionIdBytes)
      throw new RangeError('a session id is 8 bytes');
    bytes.set(options.resume.session, 7);
    writeOffset(bytes, 15, options.resume.offset);
  }
  bytes.set(options.ticket, 23);
  return bytes;
}

export function encodeInput(data: Uint8Array): Uint8Array {
  if (data.byteLength === 0 || data.byteLength > LIMITS.maxInputBytes) {
    throw new RangeError(`INPUT carries 1..${LIMITS.maxInputBytes} bytes`);
  }
  const bytes = frame(FRAME.input, data.byteLength);
  bytes.set(data, 1);
  return bytes;
}

export function encodeResize(cols: number, rows: number): Uint8Array {
  checkSize(cols, rows);
  const bytes = frame(FRAME.resize, 4);
  view(bytes).setUint16(1, cols);
  view(bytes).setUint16(3, rows);
  return bytes;
}

export function encodeAck(offset: number): Uint8Array {
  const bytes = frame(FRAME.ack, 8);
  writeOffset(bytes, 1, offset);
  return bytes;
}

export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  switch (bytes[0]) {
    case FRAME.replay: {
      if (bytes.byteLength < LIMITS.replayHeaderBytes) throw new FrameError('REPLAY shorter than its header');
      const mode = bytes[1] === 0 ? 'reset' : bytes[1] === 1 ? 'continue' : undefined;
      if (mode === undefined) throw new FrameError(`REPLAY mode ${bytes[1]} is unknown`);
      return {
        type: 'replay',
        mode,
        session: bytes.slice(2, 10),
        startOffset: readOffset(bytes, 10),
        data: bytes.subarray(LIMITS.replayHeaderBytes),
      };
    }
    case FRAME.output:
      if (bytes.byteLength < 2) throw new FrameError('OUTPUT carries no bytes');
      return { type: 'output', data: bytes.subarray(1) };
    case FRAME.status: {
      if (bytes.byteLength < 3) throw new FrameError('STATUS shorter than its header');
      if (bytes.byteLength - 3 > LIMITS.maxReasonBytes) throw new FrameError('STATUS reason too long');
      let reason: string;
      try {
        reason = strictUtf8.decode(bytes.subarray(3));
      } catch (cause) {
        throw new FrameError('STATUS reason is not UTF-8', { cause });
      }
      return { type: 'status', code: view(bytes).getUint16(1), reason };
    }
    default:
      throw new FrameError(`unknown frame type ${bytes[0] ?? 'none'}`);
  }
}
