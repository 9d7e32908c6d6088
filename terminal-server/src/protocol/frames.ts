/**
 * Encoding and decoding of the terminal protocol's binary frames
 * (docs/terminal-protocol.md). Decoding is strict: a frame of the wrong
 * length, an unknown type, a reserved bit set or a field out of range throws
 * `ProtocolError` with the close code to use. Integers are big-endian.
 *
 * Uses only Uint8Array, DataView and TextEncoder/TextDecoder, so the browser
 * page can share it.
 */
import { ProtocolError } from '../errors.js';
import { CLOSE, FRAME, LIMITS, PROTOCOL_VERSION } from './constants.js';

export type ClientFrame =
  | {
      readonly type: 'hello';
      readonly version: number;
      readonly cols: number;
      readonly rows: number;
      /** The session and output offset whose screen the client still shows, when it has one. */
      readonly resume: ResumePoint | undefined;
      readonly ticket: Uint8Array;
    }
  | { readonly type: 'input'; readonly data: Uint8Array }
  | { readonly type: 'resize'; readonly cols: number; readonly rows: number }
  | { readonly type: 'ack'; readonly offset: number };

export type ReplayMode = 'reset' | 'continue';

export interface ResumePoint {
  /** The session id from the REPLAY the client last received (8 bytes). */
  readonly session: Uint8Array;
  /** Output bytes of that session the client has processed. */
  readonly offset: number;
}

export type ServerFrame =
  | {
      readonly type: 'replay';
      readonly mode: ReplayMode;
      readonly session: Uint8Array;
      readonly startOffset: number;
      readonly data: Uint8Array;
    }
  | { readonly type: 'output'; readonly data: Uint8Array }
  | { readonly type: 'status'; readonly code: number; readonly reason: string };

const HELLO_FLAG_RESUME = 0x01;
const REPLAY_MODE_BYTE: Record<ReplayMode, number> = { reset: 0, continue: 1 };

const utf8Encoder = new TextEncoder();
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true });

function invalid(message: string): ProtocolError {
  return new ProtocolError('FRAME_INVALID', CLOSE.frameInvalid, message);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readOffset(bytes: Uint8Array, at: number, what: string): number {
  const value = view(bytes).getBigUint64(at);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} is beyond 2^53 - 1`);
  return Number(value);
}

function writeOffset(bytes: Uint8Array, at: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`offset ${value} is not a safe non-negative integer`);
  view(bytes).setBigUint64(at, BigInt(value));
}

function checkSize(cols: number, rows: number): void {
  if (cols < 1 || cols > LIMITS.maxCols || rows < 1 || rows > LIMITS.maxRows) {
    throw invalid(`terminal size ${cols}x${rows} is outside 1..${LIMITS.maxCols} x 1..${LIMITS.maxRows}`);
  }
}

function checkSessionId(session: Uint8Array): void {
  if (session.byteLength !== LIMITS.sessionIdBytes) {
    throw new RangeError(`a session id is ${LIMITS.sessionIdBytes} bytes, got ${session.byteLength}`);
  }
}

function exactLength(bytes: Uint8Array, length: number, name: string): void {
  if (bytes.byteLength !== length) throw invalid(`${name} must be ${length} bytes, got ${bytes.byteLength}`);
}

function withType(type: number, payloadLength: number): Uint8Array {
  const frame = new Uint8Array(1 + payloadLength);
  frame[0] = type;
  return frame;
}

// ---------------------------------------------------------------------------
// Client to server

export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  if (bytes.byteLength === 0) throw invalid('empty message');
  const type = bytes[0];
  switch (type) {
    case FRAME.hello: {
      exactLength(bytes, LIMITS.helloBytes, 'HELLO');
      const version = bytes[1]!;
      if (version !== PROTOCOL_VERSION) {
        throw new ProtocolError(
          'VERSION_UNSUPPORTED',
          CLOSE.versionUnsupported,
          `protocol version ${version} is not supported (this server speaks ${PROTOCOL_VERSION})`,
          { suggestion: 'Reload the page to get a client that matches the server.' },
        );
      }
      const flags = bytes[2]!;
      if ((flags & ~HELLO_FLAG_RESUME) !== 0) throw invalid('HELLO has reserved flag bits set');
      const dv = view(bytes);
      const cols = dv.getUint16(3);
      const rows = dv.getUint16(5);
      checkSize(cols, rows);
      const session = bytes.slice(7, 15);
      const offset = readOffset(bytes, 15, 'HELLO resume offset');
      const resume = (flags & HELLO_FLAG_RESUME) !== 0;
      if (!resume && (offset !== 0 || session.some((byte) => byte !== 0))) {
        throw invalid('HELLO carries a resume point without the RESUME flag');
      }
      return {
        type: 'hello',
        version,
        cols,
        rows,
        resume: resume ? { session, offset } : undefined,
        ticket: bytes.slice(23, 23 + LIMITS.ticketBytes),
      };
    }
    case FRAME.input: {
      const length = bytes.byteLength - 1;
      if (length === 0) throw invalid('INPUT carries no bytes');
      if (length > LIMITS.maxInputBytes)
        throw invalid(`INPUT carries ${length} bytes, more than ${LIMITS.maxInputBytes}`);
      return { type: 'input', data: bytes.subarray(1) };
    }
    case FRAME.resize: {
      exactLength(bytes, 5, 'RESIZE');
      const dv = view(bytes);
      const cols = dv.getUint16(1);
      const rows = dv.getUint16(3);
      checkSize(cols, rows);
      return { type: 'resize', cols, rows };
    }
    case FRAME.ack: {
      exactLength(bytes, 9, 'ACK');
      return { type: 'ack', offset: readOffset(bytes, 1, 'ACK offset') };
    }
    default:
      throw invalid(`unknown frame type 0x${type!.toString(16).padStart(2, '0')}`);
  }
}

export function encodeHello(options: {
  cols: number;
  rows: number;
  ticket: Uint8Array;
  resume?: ResumePoint | undefined;
  version?: number;
}): Uint8Array {
  if (options.ticket.byteLength !== LIMITS.ticketBytes) {
    throw new RangeError(`a ticket is ${LIMITS.ticketBytes} bytes, got ${options.ticket.byteLength}`);
  }
  const frame = withType(FRAME.hello, LIMITS.helloBytes - 1);
  frame[1] = options.version ?? PROTOCOL_VERSION;
  frame[2] = options.resume === undefined ? 0 : HELLO_FLAG_RESUME;
  const dv = view(frame);
  dv.setUint16(3, options.cols);
  dv.setUint16(5, options.rows);
  if (options.resume !== undefined) {
    checkSessionId(options.resume.session);
    frame.set(options.resume.session, 7);
    writeOffset(frame, 15, options.resume.offset);
  }
  frame.set(options.ticket, 23);
  return frame;
}

export function encodeInput(data: Uint8Array): Uint8Array {
  if (data.byteLength === 0 || data.byteLength > LIMITS.maxInputBytes) {
    throw new RangeError(`INPUT carries 1..${LIMITS.maxInputBytes} bytes, got ${data.byteLength}`);
  }
  const frame = withType(FRAME.input, data.byteLength);
  frame.set(data, 1);
  return frame;
}

export function encodeResize(cols: number, rows: number): Uint8Array {
  const frame = withType(FRAME.resize, 4);
  const dv = view(frame);
  dv.setUint16(1, cols);
  dv.setUint16(3, rows);
  return frame;
}

export function encodeAck(offset: number): Uint8Array {
  const frame = withType(FRAME.ack, 8);
  writeOffset(frame, 1, offset);
  return frame;
}

// ---------------------------------------------------------------------------
// Server to client

export function decodeServerFrame(bytes: Uint8Array): ServerFrame {
  if (bytes.byteLength === 0) throw invalid('empty message');
  const type = bytes[0];
  switch (type) {
    case FRAME.replay: {
      if (bytes.byteLength < LIMITS.replayHeaderBytes) {
        throw invalid(`REPLAY is shorter than its ${LIMITS.replayHeaderBytes}-byte header`);
      }
      const modeByte = bytes[1];
      const mode = modeByte === 0 ? 'reset' : modeByte === 1 ? 'continue' : undefined;
      if (mode === undefined) throw invalid(`REPLAY mode ${modeByte} is unknown`);
      return {
        type: 'replay',
        mode,
        session: bytes.slice(2, 10),
        startOffset: readOffset(bytes, 10, 'REPLAY start offset'),
        data: bytes.subarray(LIMITS.replayHeaderBytes),
      };
    }
    case FRAME.output:
      if (bytes.byteLength < 2) throw invalid('OUTPUT carries no bytes');
      return { type: 'output', data: bytes.subarray(1) };
    case FRAME.status: {
      if (bytes.byteLength < 3) throw invalid('STATUS is shorter than its 3-byte header');
      if (bytes.byteLength - 3 > LIMITS.maxReasonBytes) throw invalid('STATUS reason is too long');
      let reason: string;
      try {
        reason = strictUtf8Decoder.decode(bytes.subarray(3));
      } catch (cause) {
        throw new ProtocolError('FRAME_INVALID', CLOSE.frameInvalid, 'STATUS reason is not UTF-8', { cause });
      }
      return { type: 'status', code: view(bytes).getUint16(1), reason };
    }
    default:
      throw invalid(`unknown frame type 0x${type!.toString(16).padStart(2, '0')}`);
  }
}

export function encodeReplay(
  mode: ReplayMode,
  session: Uint8Array,
  startOffset: number,
  data: Uint8Array,
): Uint8Array {
  checkSessionId(session);
  const frame = withType(FRAME.replay, LIMITS.replayHeaderBytes - 1 + data.byteLength);
  frame[1] = REPLAY_MODE_BYTE[mode];
  frame.set(session, 2);
  writeOffset(frame, 10, startOffset);
  frame.set(data, LIMITS.replayHeaderBytes);
  return frame;
}

export function encodeOutput(data: Uint8Array): Uint8Array {
  if (data.byteLength === 0 || data.byteLength > LIMITS.maxOutputBytes) {
    throw new RangeError(`OUTPUT carries 1..${LIMITS.maxOutputBytes} bytes, got ${data.byteLength}`);
  }
  const frame = withType(FRAME.output, data.byteLength);
  frame.set(data, 1);
  return frame;
}

export function encodeStatus(code: number, reason: string): Uint8Array {
  const text = truncateUtf8(reason, LIMITS.maxReasonBytes);
  const frame = withType(FRAME.status, 2 + text.byteLength);
  view(frame).setUint16(1, code);
  frame.set(text, 3);
  return frame;
}

/**
 * The UTF-8 bytes of `text`, cut to at most `maxBytes` at a character
 * boundary (WebSocket close reasons and STATUS reasons are capped in bytes).
 */
export function truncateUtf8(text: string, maxBytes: number): Uint8Array {
  const bytes = utf8Encoder.encode(text);
  if (bytes.byteLength <= maxBytes) return bytes;
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.slice(0, end);
}
