/**
 * The terminal endpoint refuses what it must, each refusal explicit (an
 * HTTP status before the upgrade, or a STATUS frame and a close code after
 * it), and keeps serving everyone else: a bystander session echoes after
 * every case.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CLOSE, FRAME, frames, LIMITS, STATUS, TerminalClient } from '../../terminal-server/src/index.js';
import {
  openTerminal,
  ORIGIN,
  run,
  Screen,
  startTestServer,
  waitUntil,
  type TestTerminalServer,
} from './support.js';

let harness: TestTerminalServer;
let bystander: Screen;
let marker = 100;

beforeAll(async () => {
  harness = await startTestServer({ config: { limits: { helloTimeoutMs: 1000 } } });
  bystander = await openTerminal(harness, 'bystander');
  await run(bystander, 'echo ready', marker++);
});

afterAll(async () => {
  await harness?.close();
});

/** The bystander's shell still answers. */
async function bystanderEchoes(): Promise<void> {
  await run(bystander, 'true', (marker += 2));
  expect(bystander.closeEvent).toBeUndefined();
}

/** Connects with a given ticket, without a Screen's handlers beyond recording. */
async function connectWith(ticket: string | Uint8Array, options: { host?: string; origin?: string } = {}) {
  const screen = new Screen();
  screen.client = await TerminalClient.connect({
    url: harness.url,
    ticket,
    origin: options.origin ?? ORIGIN,
    host: options.host,
    ...screen.options(),
  });
  return screen;
}

/** A WebSocket that has passed the upgrade checks, before any frame. */
async function rawSocket(): Promise<{
  socket: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  statuses: number[];
}> {
  const socket = new WebSocket(harness.url, { origin: ORIGIN });
  const statuses: number[] = [];
  socket.on('message', (data: Buffer) => {
    const frame = frames.decodeServerFrame(data);
    if (frame.type === 'status') statuses.push(frame.code);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed, statuses };
}

async function expectUpgradeRefused(headers: Record<string, string>, status: number, path = '/terminal') {
  const socket = new WebSocket(`ws://127.0.0.1:${harness.port}${path}`, { headers });
  const refused = await new Promise<number | undefined>((resolve) => {
    socket.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode);
      socket.terminate();
    });
    socket.once('open', () => {
      resolve(undefined);
      socket.terminate();
    });
    socket.once('error', () => resolve(-1));
  });
  expect(refused).toBe(status);
}

describe('upgrade checks', () => {
  it('refuses a foreign Origin, a missing Origin and a null Origin with 403', async () => {
    await expectUpgradeRefused({ origin: 'http://evil.example' }, 403);
    await expectUpgradeRefused({}, 403);
    await expectUpgradeRefused({ origin: 'null' }, 403);
    await expect(
      connectWith(harness.server.issueTicket({ attendee: 'mallory' }).ticket, {
        origin: 'http://evil.example',
      }),
    ).rejects.toThrow(/403/);
    await bystanderEchoes();
  });

  it('refuses a DNS-rebinding Host with 403', async () => {
    await expectUpgradeRefused({ origin: ORIGIN, host: `evil.example:${harness.port}` }, 403);
    await expectUpgradeRefused({ origin: ORIGIN, host: 'evil.example:3000' }, 403);
    await expect(
      connectWith(harness.server.issueTicket({ attendee: 'mallory' }).ticket, { host: 'evil.example:3000' }),
    ).rejects.toThrow(/403/);
    await bystanderEchoes();
  });

  it('refuses a ticket in the URL (any query string) with 400, and other paths with 404', async () => {
    const { ticket } = harness.server.issueTicket({ attendee: 'mallory' });
    await expectUpgradeRefused({ origin: ORIGIN }, 400, `/terminal?ticket=${ticket}`);
    await expectUpgradeRefused({ origin: ORIGIN }, 404, '/elsewhere');
    await bystanderEchoes();
  });

  it('refuses upgrades beyond the pending-connection limit with 503', async () => {
    const crowded = await startTestServer({
      config: { limits: { maxPendingConnections: 3, helloTimeoutMs: 30_000 } },
    });
    try {
      const open = (): Promise<WebSocket> =>
        new Promise((resolve, reject) => {
          const socket = new WebSocket(crowded.url, { origin: ORIGIN });
          socket.once('open', () => resolve(socket));
          socket.once('error', reject);
        });
      const pending = [await open(), await open(), await open()];
      await expect(open()).rejects.toThrow(/503/);
      for (const socket of pending) socket.terminate();
      await waitUntil(() => crowded.server.health().connections.pending === 0);
      // Room again once they are gone.
      const later = await open();
      later.terminate();
    } finally {
      await crowded.close();
    }
    await bystanderEchoes();
  });
});

describe('authentication', () => {
  it('closes with 4408 when no HELLO comes', async () => {
    const { closed, statuses } = await rawSocket();
    expect((await closed).code).toBe(CLOSE.helloTimeout);
    expect(statuses).toEqual([CLOSE.helloTimeout]);
    await bystanderEchoes();
  });

  it('closes with 4400 when the first frame is not HELLO', async () => {
    const { socket, closed, statuses } = await rawSocket();
    socket.send(frames.encodeInput(new TextEncoder().encode('id\r')));
    expect(await closed).toEqual({ code: CLOSE.frameInvalid, reason: 'the first message must be HELLO' });
    expect(statuses).toEqual([CLOSE.frameInvalid]);
    await bystanderEchoes();
  });

  it('closes with 4401 on an unknown, expired or reused ticket', async () => {
    const unknown = await connectWith(randomBytes(32));
    expect(await unknown.waitForClose()).toEqual({
      code: CLOSE.unauthorized,
      reason: 'the ticket is unknown or was already used',
    });
    expect(unknown.statuses).toEqual([
      { code: CLOSE.unauthorized, reason: 'the ticket is unknown or was already used' },
    ]);
    expect(unknown.replays).toEqual([]);

    const expiring = harness.server.issueTicket({ attendee: 'carol' }).ticket;
    harness.advanceClock(31_000);
    const expired = await connectWith(expiring);
    expect((await expired.waitForClose()).reason).toBe('the ticket has expired');
    expect(expired.closeEvent!.code).toBe(CLOSE.unauthorized);

    const once = harness.server.issueTicket({ attendee: 'carol' }).ticket;
    const first = await connectWith(once);
    await run(first, 'true', 500);
    const again = await connectWith(once);
    expect(await again.waitForClose()).toEqual({
      code: CLOSE.unauthorized,
      reason: 'the ticket is unknown or was already used',
    });
    expect(first.closeEvent).toBeUndefined();
    await first.client.close();
    expect(harness.server.session('carol')).toBeDefined();
    await harness.server.endSession('carol');
    await bystanderEchoes();
  });

  it('closes with 4426 on another protocol version', async () => {
    const { socket, closed } = await rawSocket();
    const ticket = Buffer.from(harness.server.issueTicket({ attendee: 'mallory' }).ticket, 'base64url');
    socket.send(frames.encodeHello({ cols: 80, rows: 24, ticket, version: 9 }));
    expect((await closed).code).toBe(CLOSE.versionUnsupported);
    expect(harness.server.session('mallory')).toBeUndefined();
    await bystanderEchoes();
  });
});

describe('malformed and oversized messages', () => {
  async function attached(attendee: string): Promise<Screen> {
    const screen = await openTerminal(harness, attendee);
    await waitUntil(() => screen.statuses.some((status) => status.code === STATUS.ready));
    expect(screen.replays).toHaveLength(1);
    return screen;
  }

  it('closes with 1003 on a text message', async () => {
    const screen = await attached('dave');
    screen.client.socket.send('echo hi');
    expect((await screen.waitForClose()).code).toBe(CLOSE.unsupportedData);
    expect(screen.statuses.at(-1)?.code).toBe(CLOSE.unsupportedData);
    await bystanderEchoes();
  });

  it('closes with 1009 on a message over the limit, before reading it whole', async () => {
    const screen = await attached('dave');
    screen.client.sendRaw(new Uint8Array(LIMITS.maxInputBytes + 2).fill(FRAME.input, 0, 1));
    expect((await screen.waitForClose()).code).toBe(CLOSE.tooBig);
    await bystanderEchoes();
  });

  it.each([
    ['an unknown type', new Uint8Array([0x42])],
    ['an empty INPUT', new Uint8Array([FRAME.input])],
    ['a RESIZE of the wrong length', new Uint8Array([FRAME.resize, 0, 80])],
    ['a RESIZE to zero rows', frames.encodeResize(80, 0)],
    ['an ACK beyond the output sent', frames.encodeAck(1 << 30)],
    ['a second HELLO', frames.encodeHello({ cols: 80, rows: 24, ticket: new Uint8Array(32) })],
  ])('closes with 4400 on %s and keeps the session', async (_name, bytes) => {
    const screen = await attached('erin');
    screen.client.sendRaw(bytes);
    expect((await screen.waitForClose()).code).toBe(CLOSE.frameInvalid);
    expect(screen.statuses.at(-1)?.code).toBe(CLOSE.frameInvalid);
    expect(harness.server.session('erin')?.state).toBe('running');
    await bystanderEchoes();
  });

  it('survives random frames from attached clients, and the session still works afterwards', async () => {
    let seed = 0x9e3779b9;
    const next = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    let refused = 0;
    for (let round = 0; round < 25; round++) {
      const screen = await attached('fuzz');
      for (let i = 0; i < 20 && screen.closeEvent === undefined; i++) {
        const length = 1 + (next() % 40);
        const bytes = new Uint8Array(length).map(() => next() & 0xff);
        // Mostly real frame types with random fields; never INPUT, which is valid with any payload
        // and would type random keys into the shell.
        bytes[0] =
          next() % 4 === 0 ? bytes[0]! : [FRAME.hello, FRAME.resize, FRAME.ack, 0x05, 0x83][next() % 5]!;
        if (bytes[0] === FRAME.input) bytes[0] = FRAME.ack;
        screen.client.sendRaw(bytes);
      }
      await screen.client.close();
      const code = (await screen.client.closed).code;
      if (code !== 1000) {
        expect([CLOSE.frameInvalid, CLOSE.versionUnsupported]).toContain(code);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(0);
    const after = await attached('fuzz');
    await run(after, 'echo still-here', 7000);
    await bystanderEchoes();
  });
});

describe('session limit', () => {
  it('closes with 4429 when the server is full', async () => {
    const small = await startTestServer({ config: { limits: { maxSessions: 1 } } });
    try {
      const first = await openTerminal(small, 'one');
      await run(first, 'true', 1);
      const second = await openTerminal(small, 'two');
      expect((await second.waitForClose()).code).toBe(CLOSE.tooManySessions);
      // The same attendee is not a new session: reattaching is fine.
      const again = await openTerminal(small, 'one');
      await run(again, 'true', 3);
    } finally {
      await small.close();
    }
    await bystanderEchoes();
  });
});
