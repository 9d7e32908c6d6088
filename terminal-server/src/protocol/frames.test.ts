import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../errors.js';
import { CLOSE, FRAME, LIMITS } from './constants.js';
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeAck,
  encodeHello,
  encodeInput,
  encodeOutput,
  encodeReplay,
  encodeResize,
  encodeStatus,
  truncateUtf8,
} from './frames.js';

const ticket = new Uint8Array(32).map((_, i) => i + 1);
const session = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);

function rejection(bytes: Uint8Array): ProtocolError {
  try {
    decodeClientFrame(bytes);
  } catch (error) {
    if (error instanceof ProtocolError) return error;
    throw error;
  }
  throw new Error('the frame was accepted');
}

describe('client frames', () => {
  it('round-trips HELLO, with and without a resume point', () => {
    const fresh = decodeClientFrame(encodeHello({ cols: 132, rows: 43, ticket }));
    expect(fresh).toEqual({ type: 'hello', version: 1, cols: 132, rows: 43, resume: undefined, ticket });
    const resumed = decodeClientFrame(
      encodeHello({ cols: 80, rows: 24, ticket, resume: { session, offset: 2 ** 40 } }),
    );
    expect(resumed).toMatchObject({ type: 'hello', resume: { session, offset: 2 ** 40 } });
    expect(encodeHello({ cols: 1, rows: 1, ticket }).byteLength).toBe(LIMITS.helloBytes);
  });

  it('round-trips INPUT, RESIZE and ACK', () => {
    const data = new TextEncoder().encode('ls -l\r');
    expect(decodeClientFrame(encodeInput(data))).toEqual({ type: 'input', data });
    expect(decodeClientFrame(encodeResize(200, 50))).toEqual({ type: 'resize', cols: 200, rows: 50 });
    expect(decodeClientFrame(encodeAck(Number.MAX_SAFE_INTEGER))).toEqual({
      type: 'ack',
      offset: Number.MAX_SAFE_INTEGER,
    });
  });

  it.each([
    ['an empty message', new Uint8Array(0), /empty/],
    ['an unknown type', new Uint8Array([0x7f, 1, 2]), /unknown frame type 0x7f/],
    ['a server frame type', new Uint8Array([FRAME.output, 65]), /unknown frame type 0x82/],
    ['a short HELLO', encodeHello({ cols: 80, rows: 24, ticket }).subarray(0, 54), /HELLO must be 55 bytes/],
    ['an empty INPUT', new Uint8Array([FRAME.input]), /no bytes/],
    [
      'an INPUT over 64 KiB',
      new Uint8Array(2 + LIMITS.maxInputBytes).fill(FRAME.input, 0, 1),
      /more than 65536/,
    ],
    ['a RESIZE to 0 columns', encodeResize(0, 24), /outside/],
    ['a RESIZE beyond the limit', encodeResize(80, LIMITS.maxRows + 1), /outside/],
    ['a long RESIZE', new Uint8Array([FRAME.resize, 0, 80, 0, 24, 0]), /RESIZE must be 5 bytes/],
    ['a short ACK', new Uint8Array([FRAME.ack, 0, 0, 0]), /ACK must be 9 bytes/],
    [
      'an ACK beyond 2^53',
      new Uint8Array([FRAME.ack, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      /2\^53/,
    ],
  ])('rejects %s with 4400', (_name, bytes, message) => {
    const error = rejection(bytes);
    expect(error.code).toBe('FRAME_INVALID');
    expect(error.closeCode).toBe(CLOSE.frameInvalid);
    expect(error.message).toMatch(message);
  });

  it('rejects HELLO with reserved flags, a stray resume point, or a bad size', () => {
    const flags = encodeHello({ cols: 80, rows: 24, ticket });
    flags[2] = 0x02;
    expect(rejection(flags).message).toMatch(/reserved flag/);
    const stray = encodeHello({ cols: 80, rows: 24, ticket });
    stray[20] = 1;
    expect(rejection(stray).message).toMatch(/without the RESUME flag/);
    expect(rejection(encodeHello({ cols: 80, rows: 0, ticket })).message).toMatch(/outside/);
  });

  it('rejects another protocol version with 4426', () => {
    const error = rejection(encodeHello({ cols: 80, rows: 24, ticket, version: 2 }));
    expect(error.code).toBe('VERSION_UNSUPPORTED');
    expect(error.closeCode).toBe(CLOSE.versionUnsupported);
  });

  it('never fails other than with ProtocolError on random bytes', () => {
    // A deterministic generator, so that a failure can be replayed.
    let seed = 0x2545f491;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    let accepted = 0;
    for (let round = 0; round < 20_000; round++) {
      const length = next() % 80;
      const bytes = new Uint8Array(length).map(() => next() & 0xff);
      // Bias the first byte towards real types, so that field checks run too.
      if (length > 0 && round % 2 === 0) bytes[0] = [1, 2, 3, 4][next() % 4]!;
      try {
        decodeClientFrame(bytes);
        accepted++;
      } catch (error) {
        expect(error).toBeInstanceOf(ProtocolError);
      }
    }
    // INPUT frames with random payloads are valid; the rest must mostly fail.
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(20_000);
  });
});

describe('server frames', () => {
  it('round-trips REPLAY, OUTPUT and STATUS', () => {
    const data = new TextEncoder().encode('$ ');
    expect(decodeServerFrame(encodeReplay('continue', session, 1234, data))).toEqual({
      type: 'replay',
      mode: 'continue',
      session,
      startOffset: 1234,
      data,
    });
    expect(decodeServerFrame(encodeReplay('reset', session, 0, new Uint8Array(0)))).toMatchObject({
      mode: 'reset',
      data: new Uint8Array(0),
    });
    expect(decodeServerFrame(encodeOutput(data))).toEqual({ type: 'output', data });
    expect(decodeServerFrame(encodeStatus(4401, 'the ticket has expired'))).toEqual({
      type: 'status',
      code: 4401,
      reason: 'the ticket has expired',
    });
  });

  it('cuts long reasons at a character boundary', () => {
    const reason = 'é'.repeat(200); // 400 bytes
    const decoded = decodeServerFrame(encodeStatus(4400, reason));
    expect(decoded.type === 'status' && decoded.reason).toBe('é'.repeat(LIMITS.maxReasonBytes / 2));
    expect(truncateUtf8('a€', 3)).toEqual(new TextEncoder().encode('a'));
    expect(truncateUtf8('a€', 4)).toEqual(new TextEncoder().encode('a€'));
  });

  it('rejects malformed server frames', () => {
    expect(() => decodeServerFrame(new Uint8Array([FRAME.replay, 2, ...new Uint8Array(16)]))).toThrow(
      /mode 2/,
    );
    expect(() => decodeServerFrame(new Uint8Array([FRAME.replay, 0]))).toThrow(/18-byte header/);
    expect(() => decodeServerFrame(new Uint8Array([FRAME.output]))).toThrow(/no bytes/);
    expect(() => decodeServerFrame(new Uint8Array([FRAME.status, 0x0f, 0xa0, 0xff]))).toThrow(/not UTF-8/);
    expect(() => decodeServerFrame(new Uint8Array([FRAME.hello]))).toThrow(/unknown frame type/);
  });
});
