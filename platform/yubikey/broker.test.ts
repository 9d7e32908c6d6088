/**
 * The lab server's side of the helper: a real HTTP server on loopback hands its upgrades to the
 * broker, and the tests speak the helper protocol over `ws` as yubikey-helper does (JSON text
 * frames). Time is injected for code expiry and the wrong-code window; the hello and request
 * timeouts are short real timers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { ServerMessage, TokenReply, TokenRequest } from '../../yubikey-helper/src/protocol.js';
import { parseMessage, PROTOCOL_VERSION, serverMessageSchema } from '../../yubikey-helper/src/protocol.js';
import type { YubikeyStatus } from '../api.js';
import { PlatformError } from '../errors.js';
import type { LocalToken, YubikeyBrokerOptions } from './broker.js';
import { YubikeyBroker } from './broker.js';

const ALICE = 'learner-alice';
const BOB = 'learner-bob';
const PUBLIC_ORIGIN = 'http://lab.example:3000';
const START = Date.parse('2025-06-01T12:00:00Z');
const CODE_PATTERN = /^[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{4}-[ABCDEFGHJKMNPQRSTUVWXYZ2-9]{4}$/;

const TOKEN = { label: 'trustlab', manufacturer: 'Yubico', model: 'YubiKey 5', serial: '1234' };
const keyId = (n: number) => n.toString(16).padStart(64, '0');
const keyView = (n: number) => ({ keyId: keyId(n), position: n % 4, certificate: 'MIIB' });
const listReply = (...keys: number[]): TokenReply => ({ ok: true, token: TOKEN, keys: keys.map(keyView) });
const SIGN: TokenRequest = {
  op: 'sign',
  keyId: keyId(1),
  message: 'eyJfdHlwZSI6IlJvb3QifQ==',
  purpose: { kind: 'root-metadata', gun: 'docker.io/alice/alpine' },
};

/** A helper as seen from the wire: what the server sent, in order, and how the connection ended. */
class TestHelper {
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #queue: ServerMessage[] = [];
  #waiter: ((message: ServerMessage) => void) | undefined;

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
    });
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.ws.on('message', (data, isBinary) => {
      const text = (data as Buffer).toString('utf8');
      const message = isBinary ? undefined : parseMessage(serverMessageSchema, text);
      if (message === undefined) throw new Error(`the server sent a malformed message: ${text}`);
      const waiter = this.#waiter;
      this.#waiter = undefined;
      if (waiter) waiter(message);
      else this.#queue.push(message);
    });
  }

  /** The next message from the server; fails after `timeoutMs`. */
  next(timeoutMs = 2000): Promise<ServerMessage> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new Error(`no message from the server within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiter = (message) => {
        clearTimeout(timer);
        resolve(message);
      };
    });
  }

  async nextOf<T extends ServerMessage['type']>(type: T): Promise<Extract<ServerMessage, { type: T }>> {
    const message = await this.next();
    expect(message.type).toBe(type);
    return message as Extract<ServerMessage, { type: T }>;
  }

  send(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  hello(fields: { code?: string; resume?: string }): void {
    this.send({ type: 'hello', version: PROTOCOL_VERSION, ...fields });
  }

  reply(id: number, reply: TokenReply): void {
    this.send({ type: 'reply', id, reply });
  }

  /** A refusal, then the server closes the connection. */
  async refused(): Promise<{ code: string; closeCode: number }> {
    const message = await this.nextOf('refused');
    const { code: closeCode } = await this.closed;
    return { code: message.code, closeCode };
  }
}

interface Lab {
  broker: YubikeyBroker;
  url: string;
  origin: string;
  logs: string[];
  clock: { now: number };
  connect(options?: WebSocket.ClientOptions): Promise<TestHelper>;
  /** A helper paired with `learner` through a fresh code, its list request answered with `keys`. */
  pairHelper(learner: string, ...keys: number[]): Promise<{ helper: TestHelper; secret: string }>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startLab(overrides: Partial<YubikeyBrokerOptions> = {}): Promise<Lab> {
  const logs: string[] = [];
  const clock = { now: START };
  const broker = new YubikeyBroker({
    policy: { hostAllowed: () => true },
    logger: {
      info: (message) => logs.push(`info: ${message}`),
      warn: (message) => logs.push(`warn: ${message}`),
      error: (message) => logs.push(`error: ${message}`),
    },
    publicOrigin: PUBLIC_ORIGIN,
    usernameOf: (learnerId) => Promise.resolve({ [ALICE]: 'alice', [BOB]: 'bob' }[learnerId]),
    helloTimeoutMs: 1000,
    requestTimeoutMs: 1000,
    now: () => clock.now,
    ...overrides,
  });
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (!broker.handleUpgrade(req, socket, head))
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const helpers: TestHelper[] = [];
  cleanups.push(async () => {
    for (const helper of helpers) helper.ws.terminate();
    await broker.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const url = `${origin.replace('http:', 'ws:')}/yubikey-helper`;
  const connect = async (options?: WebSocket.ClientOptions) => {
    const helper = new TestHelper(url, options);
    helpers.push(helper);
    await helper.opened;
    return helper;
  };
  const pairHelper = async (learner: string, ...keys: number[]) => {
    const { code } = broker.pair(learner);
    const helper = await connect();
    helper.hello({ code });
    const { secret } = await helper.nextOf('paired');
    const { id, request } = await helper.nextOf('request');
    expect(request).toEqual({ op: 'list' });
    helper.reply(id, listReply(...keys));
    await vi.waitFor(() => expect(broker.keysOnToken(learner)).toHaveLength(keys.length));
    return { helper, secret };
  };
  return { broker, url, origin, logs, clock, connect, pairHelper };
}

/** The status of a refused upgrade and the text the server gave. */
function refusedUpgrade(
  url: string,
  options?: WebSocket.ClientOptions,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    ws.on('error', reject);
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

function statuses(broker: YubikeyBroker, learner: string): YubikeyStatus[] {
  const seen: YubikeyStatus[] = [];
  cleanups.push(broker.watch(learner, (status) => seen.push(status)));
  return seen;
}

describe('pairing codes', () => {
  it('gives a XXXX-XXXX code valid 10 minutes, with the command naming the public origin', async () => {
    const { broker } = await startLab();
    const pairing = broker.pair(ALICE);
    expect(pairing.code).toMatch(CODE_PATTERN);
    expect(pairing.expiresAt).toBe(START + 10 * 60_000);
    expect(pairing.command).toBe(
      `npm run yubikey-helper -- --server ${PUBLIC_ORIGIN} --code ${pairing.code}`,
    );
    expect(pairing.status).toEqual({ state: 'not-connected', local: false, token: null });
    expect(broker.pair(ALICE).code).not.toBe(pairing.code);
  });

  it('pairs even when the learner’s name cannot be looked up (the greeting then names no one)', async () => {
    const lab = await startLab({ usernameOf: () => Promise.reject(new Error('database is locked')) });
    const { code } = lab.broker.pair(ALICE);
    const helper = await lab.connect();
    helper.hello({ code });
    expect((await helper.nextOf('paired')).username).toBe('');
    expect(lab.broker.status(ALICE).state).toBe('connected');
  });

  it('pairs a helper with the code: paired with a secret, connected, then a list request', async () => {
    const lab = await startLab();
    const seen = statuses(lab.broker, ALICE);
    const { code } = lab.broker.pair(ALICE);
    const helper = await lab.connect();
    helper.hello({ code });
    const paired = await helper.nextOf('paired');
    expect(paired.username).toBe('alice');
    expect(paired.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(lab.broker.status(ALICE)).toMatchObject({ state: 'connected', local: false });
    expect(seen.at(-1)).toMatchObject({ state: 'connected', local: false });
    expect(lab.logs).toContain(`info: a YubiKey helper paired with learner ${ALICE}`);

    const { id, request } = await helper.nextOf('request');
    expect(request).toEqual({ op: 'list' });
    helper.reply(id, listReply(1, 2));
    await vi.waitFor(() => expect(lab.broker.keysOnToken(ALICE)).toEqual([keyId(1), keyId(2)]));
    expect(lab.broker.status(ALICE)).toEqual({ state: 'connected', local: false, token: TOKEN });
    // Watchers heard of the keys the token newly showed.
    expect(seen.at(-1)).toEqual({ state: 'connected', local: false, token: TOKEN });
  });

  it('keeps the helper’s status and activity, and tells watchers', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE);
    const seen = statuses(lab.broker, ALICE);
    helper.send({ type: 'status', token: TOKEN, activity: 'signing for docker.io/alice/alpine root' });
    await vi.waitFor(() =>
      expect(seen.at(-1)).toEqual({
        state: 'connected',
        local: false,
        token: TOKEN,
        activity: 'signing for docker.io/alice/alpine root',
      }),
    );
    helper.send({ type: 'status', token: null });
    await vi.waitFor(() => expect(seen.at(-1)).toEqual({ state: 'connected', local: false, token: null }));
  });

  it('tells key watchers (the lab’s checks) only when what the token holds changes, not of status frames', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE, 1);
    let heard = 0;
    cleanups.push(lab.broker.watchKeys(ALICE, () => heard++));
    const seen = statuses(lab.broker, ALICE);
    helper.send({ type: 'status', token: TOKEN, activity: 'signing for docker.io/alice/alpine root' });
    helper.send({ type: 'status', token: TOKEN });
    await vi.waitFor(() => expect(seen.at(-1)).toEqual({ state: 'connected', local: false, token: TOKEN }));
    expect(heard).toBe(0);

    const listed = async (...keys: number[]) => {
      const answer = lab.broker.request(ALICE, { op: 'list' });
      helper.reply((await helper.nextOf('request')).id, listReply(...keys));
      await answer;
    };
    await listed(1);
    expect(heard).toBe(0);
    await listed(1, 2);
    expect(heard).toBe(1);
    expect(lab.broker.keysOnToken(ALICE)).toEqual([keyId(1), keyId(2)]);
  });

  it('passes on a flood of status frames as a few updates, the last one always', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE);
    const seen = statuses(lab.broker, ALICE);
    for (let i = 0; i < 200; i++) helper.send({ type: 'status', token: TOKEN, activity: `step ${i}` });
    await vi.waitFor(() => expect(seen.at(-1)?.activity).toBe('step 199'));
    expect(seen.length).toBeLessThan(10);
  });

  it('refuses upgrades beyond the connections that may wait for their hello at once', async () => {
    const lab = await startLab();
    const waiting = await Promise.all(Array.from({ length: 64 }, () => lab.connect()));
    expect(await refusedUpgrade(lab.url)).toEqual({
      status: 503,
      body: 'too many helpers are connecting; retry shortly\n',
    });
    for (const helper of waiting) helper.ws.terminate();
  });

  it('stops calling a watcher once it unsubscribes', async () => {
    const lab = await startLab();
    const listener = vi.fn();
    lab.broker.watch(ALICE, listener)();
    await lab.pairHelper(ALICE);
    expect(listener).not.toHaveBeenCalled();
  });

  it('takes a code only once: a second helper with it is refused BAD_CODE', async () => {
    const lab = await startLab();
    const { code } = lab.broker.pair(ALICE);
    const first = await lab.connect();
    first.hello({ code });
    await first.nextOf('paired');
    const second = await lab.connect();
    second.hello({ code });
    expect(await second.refused()).toEqual({ code: 'BAD_CODE', closeCode: 4003 });
    // The first helper is still paired.
    expect(lab.broker.status(ALICE).state).toBe('connected');
  });

  it('refuses an expired code (EXPIRED), and the code is gone afterwards', async () => {
    const lab = await startLab();
    const { code, expiresAt } = lab.broker.pair(ALICE);
    lab.clock.now = expiresAt;
    const late = await lab.connect();
    late.hello({ code });
    expect((await late.refused()).code).toBe('EXPIRED');
    lab.clock.now = START;
    const again = await lab.connect();
    again.hello({ code });
    expect((await again.refused()).code).toBe('BAD_CODE');
  });

  it('takes a code one millisecond before it expires', async () => {
    const lab = await startLab();
    const { code, expiresAt } = lab.broker.pair(ALICE);
    lab.clock.now = expiresAt - 1;
    const helper = await lab.connect();
    helper.hello({ code });
    await helper.nextOf('paired');
  });

  it.each([
    ['lower case', (code: string) => code.toLowerCase()],
    ['without the dash', (code: string) => code.replace('-', '')],
    [
      'lower case without the dash, with spaces',
      (code: string) => ` ${code.replace('-', ' ').toLowerCase()} `,
    ],
  ])('pairs with the code typed in %s', async (_how, typed) => {
    const lab = await startLab();
    const { code } = lab.broker.pair(ALICE);
    const helper = await lab.connect();
    helper.hello({ code: typed(code) });
    await helper.nextOf('paired');
  });

  it('refuses a code that was never made, and one of another form', async () => {
    const lab = await startLab();
    lab.broker.pair(ALICE);
    for (const code of ['AAAA-AAAA', 'not a code']) {
      const helper = await lab.connect();
      helper.hello({ code });
      expect((await helper.refused()).code).toBe('BAD_CODE');
    }
  });
});

describe('who may connect', () => {
  it('refuses an upgrade that carries an Origin (a web page) with 403, even the lab’s own', async () => {
    const lab = await startLab();
    for (const origin of ['http://evil.example', PUBLIC_ORIGIN, lab.origin]) {
      const refused = await refusedUpgrade(lab.url, { origin });
      expect(refused.status).toBe(403);
      expect(refused.body).toBe('the YubiKey helper endpoint does not serve web pages\n');
    }
  });

  it('refuses a Host the policy does not allow with 403', async () => {
    const hosts: (string | undefined)[] = [];
    const lab = await startLab({
      policy: {
        hostAllowed: (host) => {
          hosts.push(host ?? undefined);
          return host === 'lab.example:3000';
        },
      },
    });
    expect((await refusedUpgrade(lab.url)).status).toBe(403);
    expect(hosts).toEqual([new URL(lab.origin).host]);
  });

  it('leaves upgrades for other paths to others', async () => {
    const lab = await startLab();
    expect((await refusedUpgrade(`${lab.url}/more`)).status).toBe(404);
    expect((await refusedUpgrade(lab.url.replace('/yubikey-helper', '/terminal'))).status).toBe(404);
  });

  it.each([
    ['a status first', (h: TestHelper) => h.send({ type: 'status', token: null })],
    ['a reply first', (h: TestHelper) => h.send({ type: 'reply', id: 1, reply: listReply() })],
    ['text that is not JSON', (h: TestHelper) => h.ws.send('hello')],
    [
      'a binary frame',
      (h: TestHelper) =>
        h.ws.send(Buffer.from(JSON.stringify({ type: 'hello', version: 1, code: 'AAAA-AAAA' }))),
    ],
    ['a hello with neither code nor resume', (h: TestHelper) => h.hello({})],
    [
      'a hello with both code and resume',
      (h: TestHelper) => h.hello({ code: 'AAAA-AAAA', resume: 'A'.repeat(43) }),
    ],
    [
      'a hello of another version',
      (h: TestHelper) => h.send({ type: 'hello', version: 2, code: 'AAAA-AAAA' }),
    ],
  ])('refuses %s with BAD_HELLO', async (_what, send) => {
    const lab = await startLab();
    const helper = await lab.connect();
    send(helper);
    expect(await helper.refused()).toEqual({ code: 'BAD_HELLO', closeCode: 4003 });
  });

  it('closes a connection that says no hello within helloTimeoutMs', async () => {
    const lab = await startLab({ helloTimeoutMs: 150 });
    const started = Date.now();
    const helper = await lab.connect();
    expect(await helper.closed).toEqual({ code: 4000, reason: 'no hello' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('refuses an address after 10 wrong codes (TOO_MANY) until the window has passed', async () => {
    const lab = await startLab();
    const { code } = lab.broker.pair(ALICE);
    for (let i = 0; i < 10; i++) {
      const wrong = await lab.connect();
      wrong.hello({ code: 'AAAA-AAAA' });
      expect((await wrong.refused()).code).toBe('BAD_CODE');
    }
    const right = await lab.connect();
    right.hello({ code });
    expect((await right.refused()).code).toBe('TOO_MANY');
    lab.clock.now += 5 * 60_000 + 1;
    // The refusal did not use up the code.
    const later = await lab.connect();
    later.hello({ code });
    await later.nextOf('paired');
  });

  it('does not count or hold back resume secrets (helpers behind one address after a restart)', async () => {
    const lab = await startLab({ failedCodesPerWindow: 2 });
    const { code } = lab.broker.pair(ALICE);
    for (let i = 0; i < 3; i++) {
      const wrong = await lab.connect();
      wrong.hello({ resume: 'B'.repeat(43) });
      expect((await wrong.refused()).code).toBe('UNPAIRED');
    }
    const right = await lab.connect();
    right.hello({ code });
    expect((await right.nextOf('paired')).username).toBe('alice');
  });

  it('refuses a request beyond the few one learner may have waiting (BUSY)', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE);
    const waiting = Array.from({ length: 4 }, () => lab.broker.request(ALICE, { op: 'list' }));
    expect(await lab.broker.request(ALICE, { op: 'list' })).toMatchObject({
      ok: false,
      error: { code: 'BUSY' },
    });
    for (let i = 0; i < 4; i++) {
      const { id } = await helper.nextOf('request');
      helper.reply(id, listReply());
    }
    await Promise.all(waiting);
    const next = lab.broker.request(ALICE, { op: 'list' });
    helper.reply((await helper.nextOf('request')).id, listReply());
    expect(await next).toMatchObject({ ok: true });
  });
});

describe('the life of a pairing', () => {
  it('takes the helper back with its secret after a dropped connection', async () => {
    const lab = await startLab();
    const seen = statuses(lab.broker, ALICE);
    const { helper, secret } = await lab.pairHelper(ALICE, 1);
    helper.ws.terminate();
    await vi.waitFor(() => expect(lab.broker.status(ALICE).state).toBe('not-connected'));
    expect(seen.at(-1)).toEqual({ state: 'not-connected', local: false, token: null });

    const back = await lab.connect();
    back.hello({ resume: secret });
    const paired = await back.nextOf('paired');
    expect(paired).toEqual({ type: 'paired', secret, username: 'alice' });
    expect(lab.broker.status(ALICE).state).toBe('connected');
    const { id } = await back.nextOf('request');
    const relayed = lab.broker.request(ALICE, SIGN);
    const sign = await back.nextOf('request');
    expect(sign.request).toEqual(SIGN);
    back.reply(id, listReply(1));
    back.reply(sign.id, { ok: true, token: TOKEN, signature: 'AAAA' });
    expect(await relayed).toEqual({ ok: true, token: TOKEN, signature: 'AAAA' });
  });

  it('replaces a helper still connected when the same pairing resumes elsewhere (REPLACED)', async () => {
    const lab = await startLab();
    const { helper, secret } = await lab.pairHelper(ALICE);
    const other = await lab.connect();
    other.hello({ resume: secret });
    await other.nextOf('paired');
    expect(await helper.refused()).toEqual({ code: 'REPLACED', closeCode: 4002 });
    expect(lab.broker.status(ALICE).state).toBe('connected');
  });

  it('ends the old helper on a new pair() (UNPAIRED), and its secret no longer resumes', async () => {
    const lab = await startLab();
    const { helper, secret } = await lab.pairHelper(ALICE);
    const seen = statuses(lab.broker, ALICE);
    const pairing = lab.broker.pair(ALICE);
    expect(await helper.refused()).toEqual({ code: 'UNPAIRED', closeCode: 4001 });
    expect(pairing.status.state).toBe('not-connected');
    expect(seen.at(-1)?.state).toBe('not-connected');

    const stale = await lab.connect();
    stale.hello({ resume: secret });
    expect((await stale.refused()).code).toBe('UNPAIRED');
    // The new code still pairs.
    const fresh = await lab.connect();
    fresh.hello({ code: pairing.code });
    expect((await fresh.nextOf('paired')).secret).not.toBe(secret);
  });

  it('ends the previous code on a new pair()', async () => {
    const lab = await startLab();
    const { code } = lab.broker.pair(ALICE);
    lab.broker.pair(ALICE);
    const helper = await lab.connect();
    helper.hello({ code });
    expect((await helper.refused()).code).toBe('BAD_CODE');
  });

  it('answers NO_HELPER to a learner without helper, and never asks another learner’s helper', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE);
    const reply = await lab.broker.request(BOB, { op: 'list' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'NO_HELPER' } });
    expect(!reply.ok && reply.error.suggestion).toMatch(/command shown on the lab page/);
    await lab.broker.request(BOB, SIGN);
    expect(lab.broker.status(BOB)).toEqual({ state: 'not-connected', local: false, token: null });
    // The next thing alice's helper hears is alice's own request, not bob's.
    const mine = lab.broker.request(ALICE, { op: 'import', secret: 'AA==', certificate: 'AA==' });
    const next = await helper.nextOf('request');
    expect(next.request.op).toBe('import');
    helper.reply(next.id, { ok: true, token: TOKEN, key: keyView(3) });
    expect(await mine).toMatchObject({ ok: true, key: { keyId: keyId(3) } });
    expect(lab.broker.keysOnToken(BOB)).toEqual([]);
  });

  it('relays a request to the helper and resolves with its reply', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE);
    const pending = lab.broker.request(ALICE, SIGN);
    const { id, request } = await helper.nextOf('request');
    expect(request).toEqual(SIGN);
    const failed: TokenReply = {
      ok: false,
      error: { code: 'WRONG_PIN', message: 'wrong PIN', suggestion: 'Enter 123456.' },
    };
    helper.reply(id, failed);
    expect(await pending).toEqual(failed);
  });

  it('matches replies to requests by id, in any order', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE);
    const first = lab.broker.request(ALICE, SIGN);
    const second = lab.broker.request(ALICE, { op: 'list' });
    const a = await helper.nextOf('request');
    const b = await helper.nextOf('request');
    helper.reply(b.id, listReply(7));
    helper.reply(a.id, { ok: true, token: TOKEN, signature: 'AAAA' });
    expect(await second).toEqual(listReply(7));
    expect(await first).toEqual({ ok: true, token: TOKEN, signature: 'AAAA' });
  });

  it('answers HELPER_GONE at once when the helper drops while a request waits', async () => {
    const lab = await startLab({ requestTimeoutMs: 20_000 });
    const { helper } = await lab.pairHelper(ALICE);
    const pending = lab.broker.request(ALICE, SIGN);
    await helper.nextOf('request');
    const started = Date.now();
    helper.ws.terminate();
    const reply = await pending;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(reply).toMatchObject({ ok: false, error: { code: 'HELPER_GONE' } });
    expect(!reply.ok && reply.error.message).toContain('nothing was signed');
    // Afterwards there is no helper at all.
    expect(await lab.broker.request(ALICE, SIGN)).toMatchObject({ ok: false, error: { code: 'NO_HELPER' } });
  });

  it('answers TIMEOUT when the helper does not answer within requestTimeoutMs, and ignores a late reply', async () => {
    const lab = await startLab({ requestTimeoutMs: 200 });
    const { helper } = await lab.pairHelper(ALICE);
    const started = Date.now();
    const pending = lab.broker.request(ALICE, SIGN);
    const { id } = await helper.nextOf('request');
    const reply = await pending;
    expect(reply).toMatchObject({ ok: false, error: { code: 'TIMEOUT' } });
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(!reply.ok && reply.error.suggestion).toMatch(/PIN or for a touch/);
    helper.reply(id, { ok: true, token: TOKEN, signature: 'AAAA' });
    // The helper is still paired and answers the next request.
    const next = lab.broker.request(ALICE, { op: 'list' });
    const { id: nextId } = await helper.nextOf('request');
    helper.reply(nextId, listReply());
    expect(await next).toEqual(listReply());
  });

  it.each([
    ['text that is not JSON', (h: TestHelper) => h.ws.send('nonsense')],
    [
      'a binary frame',
      (h: TestHelper) => h.ws.send(Buffer.from(JSON.stringify({ type: 'status', token: null }))),
    ],
    ['a second hello', (h: TestHelper) => h.hello({ code: 'AAAA-AAAA' })],
    ['a reply of the wrong shape', (h: TestHelper) => h.send({ type: 'reply', id: 1, reply: { ok: 'yes' } })],
    ['an unknown message type', (h: TestHelper) => h.send({ type: 'hi' })],
  ])('closes a paired helper that sends %s, ending its waiting requests', async (_what, send) => {
    const lab = await startLab({ requestTimeoutMs: 20_000 });
    const { helper } = await lab.pairHelper(ALICE);
    const pending = lab.broker.request(ALICE, SIGN);
    await helper.nextOf('request');
    send(helper);
    expect((await helper.closed).code).toBe(1008);
    expect(await pending).toMatchObject({ ok: false, error: { code: 'HELPER_GONE' } });
    expect(lab.broker.status(ALICE).state).toBe('not-connected');
  });

  it('remembers the key IDs of list and import replies, not of failures', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE, 1, 2);
    const imported = lab.broker.request(ALICE, { op: 'import', secret: 'AA==', certificate: 'AA==' });
    const { id } = await helper.nextOf('request');
    helper.reply(id, { ok: true, token: TOKEN, key: keyView(3) });
    await imported;
    const listed = lab.broker.request(ALICE, { op: 'list' });
    const again = await helper.nextOf('request');
    helper.reply(again.id, listReply(2, 4));
    await listed;
    const failedImport = lab.broker.request(ALICE, { op: 'import', secret: 'AA==', certificate: 'AA==' });
    const failing = await helper.nextOf('request');
    helper.reply(failing.id, { ok: false, error: { code: 'SLOTS_FULL', message: 'full' } });
    await failedImport;
    // A listing says what the token holds now: 1 and 3 are gone from it.
    expect([...lab.broker.keysOnToken(ALICE)].sort()).toEqual([keyId(2), keyId(4)]);
    expect(lab.broker.keysOnToken(BOB)).toEqual([]);
  });
});

describe('the session’s token socket', () => {
  it('routes what arrives on a session’s socket to that session’s attendee only', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE);
    const dir = await mkdtemp(path.join(tmpdir(), 'trustlab-broker-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const bobSocket = await lab.broker.tokenSocketProvider.open(
      { id: 's-bob', attendee: BOB },
      path.join(dir, 'bob.sock'),
      undefined,
    );
    cleanups.push(() => bobSocket.close());
    const aliceSocket = await lab.broker.tokenSocketProvider.open(
      { id: 's-alice', attendee: ALICE },
      path.join(dir, 'alice.sock'),
      undefined,
    );
    cleanups.push(() => aliceSocket.close());

    const ask = (file: string, request: TokenRequest) =>
      new Promise<TokenReply>((resolve, reject) => {
        let text = '';
        const socket = net.connect(path.join(dir, file), () => socket.write(`${JSON.stringify(request)}\n`));
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('end', () => resolve(JSON.parse(text) as TokenReply));
        socket.on('error', reject);
      });
    expect(await ask('bob.sock', { op: 'list' })).toMatchObject({ ok: false, error: { code: 'NO_HELPER' } });
    const answered = ask('alice.sock', { op: 'list' });
    const { id, request } = await helper.nextOf('request');
    expect(request).toEqual({ op: 'list' });
    helper.reply(id, listReply(5));
    expect(await answered).toEqual(listReply(5));
  });
});

describe('close', () => {
  it('ends connected helpers with SHUTDOWN and refuses further upgrades with 503', async () => {
    const lab = await startLab();
    const { helper } = await lab.pairHelper(ALICE);
    const seen = statuses(lab.broker, ALICE);
    await lab.broker.close();
    expect(await helper.refused()).toEqual({ code: 'SHUTDOWN', closeCode: 1001 });
    expect(seen.at(-1)?.state).toBe('not-connected');
    expect(await refusedUpgrade(lab.url)).toEqual({ status: 503, body: 'the lab server is stopping\n' });
    expect(() => lab.broker.pair(BOB)).toThrow(expect.objectContaining({ code: 'CLOSED' }) as Error);
  });

  // A connection upgraded before close() that says hello afterwards is told SHUTDOWN, not paired.
  it('does not pair a helper whose hello arrives after close()', async () => {
    const lab = await startLab();
    const { code } = lab.broker.pair(ALICE);
    const helper = await lab.connect();
    await lab.broker.close();
    helper.hello({ code });
    expect((await helper.refused()).code).toBe('SHUTDOWN');
  });
});

describe('robustness before the hello', () => {
  /**
   * Runs `body` with the process's uncaughtException listeners (vitest's) swapped for a recorder,
   * so that an exception thrown by the server in this test is seen here rather than aborting the
   * run; returns what was thrown.
   */
  async function uncaughtDuring(body: () => Promise<void>): Promise<unknown[]> {
    const saved = process.listeners('uncaughtException');
    const thrown: unknown[] = [];
    const record = (error: unknown) => thrown.push(error);
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', record);
    try {
      await body();
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('uncaughtException', record);
      for (const listener of saved) process.on('uncaughtException', listener);
    }
    return thrown;
  }

  // Before the hello, a first frame over MAX_MESSAGE_BYTES (or a text frame that is not UTF-8)
  // makes `ws` emit 'error'; unheard, it would be an uncaught exception that stops the lab server,
  // and anyone who can reach /yubikey-helper can send one.
  it('survives a first frame over the size limit (closes it 1009, throws nothing)', async () => {
    const lab = await startLab();
    const thrown = await uncaughtDuring(async () => {
      const helper = await lab.connect();
      helper.ws.send('x'.repeat(300 * 1024));
      expect((await helper.closed).code).toBe(1009);
    });
    expect(thrown).toEqual([]);
  });
});

describe('local mode', () => {
  function localToken(): LocalToken & { request: ReturnType<typeof vi.fn>; close: ReturnType<typeof vi.fn> } {
    return {
      view: TOKEN,
      request: vi.fn((_request: TokenRequest, onActivity: (text: string | undefined) => void) => {
        onActivity('listing the root keys');
        onActivity(undefined);
        return Promise.resolve(listReply(9));
      }),
      close: vi.fn(() => Promise.resolve()),
    };
  }

  it('has nothing to pair: pair() throws LOCAL_TOKEN, status() is local and connected', async () => {
    const local = localToken();
    const lab = await startLab({ local });
    let thrown: unknown;
    try {
      lab.broker.pair(ALICE);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PlatformError);
    expect((thrown as PlatformError).code).toBe('LOCAL_TOKEN');
    expect((thrown as PlatformError).suggestion).toMatch(/no helper is needed/);
    expect(lab.broker.status(ALICE)).toEqual({ state: 'connected', local: true, token: TOKEN });
    expect(lab.broker.status(BOB)).toEqual({ state: 'connected', local: true, token: TOKEN });
  });

  it('sends requests to the local token, with its activity to watchers, and closes it', async () => {
    const local = localToken();
    const lab = await startLab({ local });
    const seen = statuses(lab.broker, ALICE);
    expect(await lab.broker.request(ALICE, { op: 'list' })).toEqual(listReply(9));
    expect(local.request).toHaveBeenCalledTimes(1);
    expect(seen).toContainEqual({
      state: 'connected',
      local: true,
      token: TOKEN,
      activity: 'listing the root keys',
    });
    expect(seen.at(-1)).toEqual({ state: 'connected', local: true, token: TOKEN });
    expect(lab.broker.keysOnToken(ALICE)).toEqual([keyId(9)]);
    await lab.broker.close();
    expect(local.close).toHaveBeenCalled();
  });
});
