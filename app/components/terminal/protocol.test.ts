/**
 * The page's frames against the server's codec: what the page encodes, the
 * server decodes to the same values; what the server encodes, the page
 * decodes to the same values; and the numbers both sides use agree.
 */
import { describe, expect, it } from 'vitest';
import * as server from '../../../terminal-server/src/protocol/frames';
import * as serverConstants from '../../../terminal-server/src/protocol/constants';
import * as page from './protocol';

const ticket = Uint8Array.from({ length: 32 }, (_, i) => (i * 7 + 3) & 0xff);
const session = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]);

describe('the page speaks the server codec', () => {
  it('shares its numbers', () => {
    expect(page.PROTOCOL_VERSION).toBe(serverConstants.PROTOCOL_VERSION);
    expect(page.FRAME).toEqual(serverConstants.FRAME);
    expect(page.CLOSE).toEqual(serverConstants.CLOSE);
    expect(page.STATUS).toEqual(serverConstants.STATUS);
    expect(page.WATCH_STATUS).toEqual(serverConstants.WATCH_STATUS);
    expect(page.WATCH_CLOSE).toEqual(serverConstants.WATCH_CLOSE);
    for (const [name, value] of Object.entries(page.LIMITS)) {
      expect(serverConstants.LIMITS[name as keyof typeof serverConstants.LIMITS], name).toBe(value);
    }
  });

  it('HELLO, fresh and resuming', () => {
    expect(server.decodeClientFrame(page.encodeHello({ cols: 120, rows: 40, ticket }))).toEqual({
      type: 'hello',
      version: 1,
      cols: 120,
      rows: 40,
      resume: undefined,
      ticket,
    });
    const resume = { session, offset: 2 ** 53 - 1 };
    const bytes = page.encodeHello({ cols: 1, rows: 1000, ticket, resume });
    expect(bytes).toEqual(server.encodeHello({ cols: 1, rows: 1000, ticket, resume }));
    expect(server.decodeClientFrame(bytes)).toMatchObject({ resume: { session, offset: 2 ** 53 - 1 } });
  });

  it('INPUT, RESIZE and ACK', () => {
    const data = new TextEncoder().encode('docker login\r');
    expect(page.encodeInput(data)).toEqual(server.encodeInput(data));
    expect(server.decodeClientFrame(page.encodeResize(80, 24))).toEqual({
      type: 'resize',
      cols: 80,
      rows: 24,
    });
    expect(server.decodeClientFrame(page.encodeAck(262_144))).toEqual({ type: 'ack', offset: 262_144 });
    expect(() => page.encodeInput(new Uint8Array(65_537))).toThrow(RangeError);
    expect(() => page.encodeResize(0, 24)).toThrow(RangeError);
  });

  it('REPLAY, OUTPUT and STATUS', () => {
    const screen = new TextEncoder().encode('\u001b[1mready\u001b[0m $ ');
    for (const mode of ['reset', 'continue'] as const) {
      expect(page.decodeServerFrame(server.encodeReplay(mode, session, 4096, screen))).toEqual({
        type: 'replay',
        mode,
        session,
        startOffset: 4096,
        data: screen,
      });
    }
    expect(page.decodeServerFrame(server.encodeOutput(screen))).toEqual({ type: 'output', data: screen });
    expect(page.decodeServerFrame(server.encodeStatus(4409, 'opened in another window – élan'))).toEqual({
      type: 'status',
      code: 4409,
      reason: 'opened in another window – élan',
    });
  });

  it('refuses what the server codec refuses', () => {
    const malformed = [
      Uint8Array.from([0x81, 2, ...new Uint8Array(16)]), // unknown REPLAY mode
      Uint8Array.from([0x81, 0, 1, 2]), // REPLAY shorter than its header
      Uint8Array.from([0x82]), // empty OUTPUT
      Uint8Array.from([0x83, 0x03, 0xe8, 0xff]), // reason not UTF-8
      Uint8Array.from([0x7f]), // unknown type
      Uint8Array.from([0x81, 0, ...session, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // offset > 2^53 - 1
    ];
    for (const bytes of malformed) {
      expect(() => server.decodeServerFrame(bytes)).toThrow();
      expect(() => page.decodeServerFrame(bytes)).toThrow(page.FrameError);
    }
  });
});
