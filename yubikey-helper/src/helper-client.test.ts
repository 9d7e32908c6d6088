/**
 * The helper's WebSocket client against a fake lab server: a real HTTP server on loopback hands its
 * upgrades on /yubikey-helper to a `ws` server, and the tests play the server's side of the helper
 * protocol (pairing, requests, refusals, dropped connections, malformed frames). The token is a
 * fake that records what it was asked to do. Reconnect pauses are short real timers.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type WebSocket from 'ws';
import { WebSocketServer } from 'ws';
import type { HelperClientOptions, HelperEnd } from './helper-client.js';
import { HelperClient, HelperClientError, helperUrl } from './helper-client.js';
import type { HelperMessage, TokenReply, TokenRequest, TokenView } from './protocol.js';
import { HELPER_PATH, helperMessageSchema, parseMessage, PROTOCOL_VERSION } from './protocol.js';
import type { RootKeyToken, TokenDescription, TokenRootKey } from './token/index.js';
import { TokenError } from './token/index.js';
import { createRootCertificate, PrivateKey } from '../../trust-core/src/index.js';

const CODE = 'ABCD2345';
const GUN = 'docker.io/alice/alpine';
const KEY_ID = 'ab'.repeat(32);
const SIGNATURE = new Uint8Array(64).fill(7);
/** The signed part of a root.json of GUN, with one root certificate (what the helper agrees to sign). */
const ROOT_JSON = JSON.stringify({
  _type: 'Root',
  keys: {
    [KEY_ID]: {
      keytype: 'ecdsa-x509',
      keyval: {
        private: null,
        public: Buffer.from(
          createRootCertificate(PrivateKey.generate('ecdsa'), GUN, { now: new Date() }),
        ).toString('base64'),
      },
    },
  },
  roles: { root: { keyids: [KEY_ID], threshold: 1 } },
});
const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const newSecret = () => randomBytes(32).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SIGN_ROOT: TokenRequest = {
  op: 'sign',
  keyId: KEY_ID,
  message: base64(ROOT_JSON),
  purpose: { kind: 'root-metadata', gun: GUN },
};
const SIGNING_ACTIVITY = `signing for ${GUN} root — touch your YubiKey`;

const STORED: TokenRootKey = { keyId: KEY_ID, position: 2, certificateDer: new Uint8Array([0x30, 0x01, 0]) };
const STORED_VIEW = {
  keyId: KEY_ID,
  position: 2,
  certificate: Buffer.from([0x30, 0x01, 0]).toString('base64'),
};

interface FakeBehaviour {
  keys?: TokenRootKey[];
  sign?: (keyId: string, message: Uint8Array) => Promise<Uint8Array>;
}

/** A token that records every call (`list`, `import`, `sign`, `close`) and what it signed. */
class FakeToken implements RootKeyToken {
  readonly description: TokenDescription;
  readonly calls: string[] = [];
  readonly signed: { keyId: string; message: string }[] = [];
  readonly #behaviour: FakeBehaviour;

  constructor(serial: string, behaviour: FakeBehaviour = {}) {
    this.description = {
      label: 'trustlab',
      manufacturer: 'Yubico',
      model: 'YubiKey 5',
      serial,
      slot: 'Yubico YubiKey OTP+FIDO+CCID',
    };
    this.#behaviour = behaviour;
  }

  /** What the helper shows of this token on the wire. */
  get view(): TokenView {
    const { label, manufacturer, model, serial } = this.description;
    return { label, manufacturer, model, serial };
  }

  listRootKeys(): Promise<TokenRootKey[]> {
    this.calls.push('list');
    return Promise.resolve(this.#behaviour.keys ?? [STORED]);
  }

  importRootKey(input: { secret: Uint8Array; certificateDer: Uint8Array }): Promise<TokenRootKey> {
    this.calls.push('import');
    return Promise.resolve({ keyId: KEY_ID, position: 2, certificateDer: input.certificateDer });
  }

  sign(keyId: string, message: Uint8Array): Promise<Uint8Array> {
    this.calls.push('sign');
    this.signed.push({ keyId, message: Buffer.from(message).toString('utf8') });
    return this.#behaviour.sign?.(keyId, message) ?? Promise.resolve(SIGNATURE);
  }

  close(): void {
    this.calls.push('close');
  }
}

/** One helper connection as the server sees it: what the helper sent, in order. */
class HelperConnection {
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #received: (string | Error)[] = [];
  #waiter: (() => void) | undefined;

  constructor(readonly ws: WebSocket) {
    ws.on('error', () => {});
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (data, isBinary) => {
      this.#received.push(
        isBinary ? new Error('the helper sent a binary frame') : (data as Buffer).toString('utf8'),
      );
      this.#waiter?.();
    });
  }

  /** How many messages arrived that were not read yet. */
  get unread(): number {
    return this.#received.length;
  }

  /** The next message from the helper, validated; fails after `timeoutMs`. */
  async next(timeoutMs = 5000): Promise<HelperMessage> {
    if (this.#received.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.#waiter = undefined;
          reject(new Error(`no message from the helper within ${timeoutMs} ms`));
        }, timeoutMs);
        this.#waiter = () => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve();
        };
      });
    }
    const text = this.#received.shift()!;
    if (text instanceof Error) throw text;
    const message = parseMessage(helperMessageSchema, text);
    if (message === undefined) throw new Error(`the helper sent a malformed message: ${text}`);
    return message;
  }

  /** The messages before the reply to `id`, and that reply. */
  async untilReply(id: number): Promise<{ before: HelperMessage[]; reply: TokenReply }> {
    const before: HelperMessage[] = [];
    for (;;) {
      const message = await this.next();
      if (message.type === 'reply' && message.id === id) return { before, reply: message.reply };
      before.push(message);
    }
  }

  send(value: unknown): void {
    this.ws.send(JSON.stringify(value));
  }

  request(id: number, request: TokenRequest): void {
    this.send({ type: 'request', id, request });
  }
}

interface Lab {
  origin: string;
  /** The path of every upgrade the server was asked for, accepted or not. */
  upgrades: string[];
  /** Answer upgrades with 503 from now on (the server is there, the lab is not). */
  refuseUpgrades: boolean;
  connections: HelperConnection[];
  /** The `n`th accepted connection (0-based), once it is there. */
  connection(n: number): Promise<HelperConnection>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startLab(): Promise<Lab> {
  const server = http.createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  const wss = new WebSocketServer({ noServer: true });
  const connections: HelperConnection[] = [];
  const lab: Lab = {
    origin: '',
    upgrades: [],
    refuseUpgrades: false,
    connections,
    connection: (n) =>
      vi.waitFor(
        () => {
          const connection = connections[n];
          if (connection === undefined) throw new Error(`no helper connection #${n} yet`);
          return connection;
        },
        { timeout: 5000, interval: 10 },
      ),
  };
  server.on('upgrade', (req, socket, head) => {
    lab.upgrades.push(req.url ?? '');
    if (lab.refuseUpgrades || req.url !== HELPER_PATH) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => connections.push(new HelperConnection(ws)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  lab.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    for (const connection of connections) connection.ws.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return lab;
}

interface Running {
  client: HelperClient;
  logs: string[];
  ended: Promise<HelperEnd>;
}

function startClient(
  server: string,
  options: Partial<Omit<HelperClientOptions, 'log'>> & { token: RootKeyToken },
): Running {
  const logs: string[] = [];
  const client = new HelperClient({
    server,
    code: CODE,
    log: (line) => logs.push(line),
    reconnectDelayMs: 20,
    reconnectAttempts: 3,
    ...options,
  });
  const ended = client.run();
  cleanups.push(async () => {
    client.stop();
    await ended;
  });
  return { client, logs, ended };
}

/** A client paired on the lab's first connection, its first status read. */
async function pairedClient(
  lab: Lab,
  options: Partial<Omit<HelperClientOptions, 'log'>> & { token: FakeToken },
  secret = newSecret(),
): Promise<Running & { connection: HelperConnection; secret: string }> {
  const running = startClient(lab.origin, options);
  const connection = await lab.connection(0);
  expect(await connection.next()).toEqual({ type: 'hello', version: PROTOCOL_VERSION, code: CODE });
  connection.send({ type: 'paired', secret, username: 'alice' });
  expect(await connection.next()).toEqual({ type: 'status', token: options.token.view });
  return { ...running, connection, secret };
}

/** A port on loopback that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('helperUrl', () => {
  it.each([
    ['http://localhost:3000', 'ws://localhost:3000/yubikey-helper'],
    ['https://lab.example', 'wss://lab.example/yubikey-helper'],
    ['https://lab.example:8443/', 'wss://lab.example:8443/yubikey-helper'],
    ['http://lab.example:3000/labs/dct-basics?step=2#top', 'ws://lab.example:3000/yubikey-helper'],
    ['http://[::1]:3000', 'ws://[::1]:3000/yubikey-helper'],
  ])('%s → %s', (server, url) => {
    expect(helperUrl(server)).toBe(url);
  });

  it.each(['ftp://lab.example', 'ws://localhost:3000', 'file:///tmp/lab', 'localhost:3000'])(
    'refuses %s: not http(s)',
    (server) => {
      expect(() => helperUrl(server)).toThrow(HelperClientError);
      expect(() => helperUrl(server)).toThrow(/must be an http:\/\/ or https:\/\/ address/);
    },
  );

  it.each(['not a url', '', '//lab.example:3000'])('refuses %j: not a URL', (server) => {
    let thrown: unknown;
    try {
      helperUrl(server);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HelperClientError);
    expect((thrown as HelperClientError).name).toBe('HelperClientError');
    expect((thrown as HelperClientError).message).toBe(
      `--server ${server} is not a URL like http://localhost:3000`,
    );
  });

  it('is checked when a client is made', () => {
    expect(
      () => new HelperClient({ server: 'ftp://lab', code: CODE, token: new FakeToken('1'), log: () => {} }),
    ).toThrow(HelperClientError);
  });
});

describe('pairing', () => {
  it('says hello with the code on /yubikey-helper, then logs whose session and sends the token', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { logs, connection } = await pairedClient(lab, { token });
    expect(lab.upgrades).toEqual([HELPER_PATH]);
    expect(logs).toEqual(["Paired with alice's lab session. Leave this window open; requests appear here."]);
    expect(connection.unread).toBe(0);
    expect(token.calls).toEqual([]);
  });

  it('names no one when the server does not know the username', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { logs } = startClient(lab.origin, { token });
    const connection = await lab.connection(0);
    await connection.next();
    connection.send({ type: 'paired', secret: newSecret(), username: '' });
    expect(await connection.next()).toEqual({ type: 'status', token: token.view });
    expect(logs).toEqual(['Paired with your lab session. Leave this window open; requests appear here.']);
  });
});

describe('requests', () => {
  it('answers a list and a sign with the same id, showing the signing while it runs', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { connection, logs } = await pairedClient(lab, { token });

    connection.request(4, { op: 'list' });
    const list = await connection.untilReply(4);
    expect(list.reply).toEqual({ ok: true, token: token.view, keys: [STORED_VIEW] });
    expect(list.before).toEqual([{ type: 'status', token: token.view }]);
    expect(token.calls).toEqual(['list']);

    connection.request(5, SIGN_ROOT);
    const sign = await connection.untilReply(5);
    expect(sign.reply).toEqual({
      ok: true,
      token: token.view,
      signature: Buffer.from(SIGNATURE).toString('base64'),
    });
    // The activity while the token works, then a status without it.
    expect(sign.before).toEqual([
      { type: 'status', token: token.view, activity: SIGNING_ACTIVITY },
      { type: 'status', token: token.view },
    ]);
    expect(token.calls).toEqual(['list', 'sign']);
    expect(token.signed).toEqual([{ keyId: KEY_ID, message: ROOT_JSON }]);
    expect(logs.slice(1)).toEqual([`→ ${SIGNING_ACTIVITY}`, `  done: signing for ${GUN} root`]);
  });

  it('stores an imported root key', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { connection, logs } = await pairedClient(lab, { token });
    const certificate = Buffer.from([0x30, 0x02, 5, 6]).toString('base64');
    connection.request(1, { op: 'import', secret: Buffer.alloc(32, 1).toString('base64'), certificate });
    const { before, reply } = await connection.untilReply(1);
    expect(reply).toEqual({
      ok: true,
      token: token.view,
      key: { keyId: KEY_ID, position: 2, certificate },
    });
    expect(before).toEqual([
      { type: 'status', token: token.view, activity: 'storing a new root key' },
      { type: 'status', token: token.view },
    ]);
    expect(token.calls).toEqual(['import']);
    expect(logs.slice(1)).toEqual(['→ storing a new root key', '  done: storing a new root key']);
  });

  it('carries requests out one at a time, in order: a list waits for a slow sign', async () => {
    const lab = await startLab();
    let release: ((signature: Uint8Array) => void) | undefined;
    const token = new FakeToken('1234', {
      sign: () => new Promise((resolve) => (release = resolve)),
    });
    const { connection } = await pairedClient(lab, { token });
    connection.request(1, SIGN_ROOT);
    connection.request(2, { op: 'list' });
    await vi.waitFor(() => expect(release).toBeDefined(), { timeout: 5000, interval: 10 });
    await sleep(150);
    expect(token.calls).toEqual(['sign']);

    release!(SIGNATURE);
    const replies: number[] = [];
    while (replies.length < 2) {
      const message = await connection.next();
      if (message.type === 'reply') {
        expect(message.reply.ok).toBe(true);
        replies.push(message.id);
      }
    }
    expect(replies).toEqual([1, 2]);
    expect(token.calls).toEqual(['sign', 'list']);
  });

  it.each([
    [
      'root metadata that is not Root',
      { kind: 'root-metadata', gun: GUN },
      '{"_type":"Targets"}',
      'the data to sign is not root metadata (its _type is not Root)',
    ],
    [
      'a root certificate that is JSON',
      { kind: 'root-certificate', gun: GUN },
      ROOT_JSON,
      'the data to sign is not a certificate',
    ],
  ] as const)('refuses to sign %s, without using the token', async (_name, purpose, message, problem) => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { connection, logs } = await pairedClient(lab, { token });
    connection.request(9, { op: 'sign', keyId: KEY_ID, message: base64(message), purpose });
    const { before, reply } = await connection.untilReply(9);
    expect(reply).toEqual({
      ok: false,
      error: { code: 'REFUSED', message: `the YubiKey helper refused to sign: ${problem}` },
    });
    // No activity was shown: nothing was about to be signed.
    expect(before).toEqual([{ type: 'status', token: token.view }]);
    expect(token.calls).toEqual([]);
    expect(logs.slice(1)).toEqual([`  failed: the YubiKey helper refused to sign: ${problem}`]);
  });

  it('answers a token failure with its code and keeps the token (KEY_NOT_FOUND)', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234', {
      sign: () =>
        Promise.reject(new TokenError('KEY_NOT_FOUND', 'no such key', { suggestion: 'List the keys.' })),
    });
    const reopen = vi.fn(() => Promise.resolve(new FakeToken('5678')));
    const { client, connection, logs } = await pairedClient(lab, { token, reopen });
    connection.request(1, SIGN_ROOT);
    const { before, reply } = await connection.untilReply(1);
    expect(reply).toEqual({
      ok: false,
      error: { code: 'KEY_NOT_FOUND', message: 'no such key', suggestion: 'List the keys.' },
    });
    expect(before).toEqual([
      { type: 'status', token: token.view, activity: SIGNING_ACTIVITY },
      { type: 'status', token: token.view },
    ]);
    expect(logs.at(-1)).toBe('  failed: no such key\n  List the keys.');

    connection.request(2, { op: 'list' });
    expect((await connection.untilReply(2)).reply).toMatchObject({ ok: true, token: token.view });
    expect(token.calls).toEqual(['sign', 'list']);
    expect(reopen).not.toHaveBeenCalled();
    expect(client.token).toBe(token);
  });

  it('answers anything else a token throws as PKCS11, and goes on with the next request', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234', { sign: () => Promise.reject(new Error('segfault averted')) });
    const { connection } = await pairedClient(lab, { token });
    connection.request(1, SIGN_ROOT);
    expect((await connection.untilReply(1)).reply).toEqual({
      ok: false,
      error: { code: 'PKCS11', message: 'the token failed: segfault averted' },
    });
    connection.request(2, { op: 'list' });
    expect((await connection.untilReply(2)).reply).toMatchObject({ ok: true });
    expect(token.calls).toEqual(['sign', 'list']);
  });
});

describe('the end of a pairing', () => {
  it('stops for good when the server refuses (UNPAIRED): later requests are not carried out', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { connection, ended, logs } = await pairedClient(lab, { token });
    const message = 'a new pairing code was made on the lab page';
    connection.send({ type: 'refused', code: 'UNPAIRED', message });
    expect(await ended).toEqual({ reason: 'refused', code: 'UNPAIRED', message });
    expect(logs.at(-1)).toBe(`The lab server ended the pairing: ${message}`);

    connection.request(1, { op: 'list' });
    await sleep(150);
    connection.ws.close(1000, 'unpaired');
    await sleep(150);
    expect(token.calls).toEqual([]);
    expect(connection.unread).toBe(0);
    // It does not come back after the server closes the connection, either.
    expect(lab.upgrades).toHaveLength(1);
  });

  it('does not carry out a request that was waiting behind one in progress when the pairing ended', async () => {
    const lab = await startLab();
    let release: ((signature: Uint8Array) => void) | undefined;
    const token = new FakeToken('1234', {
      sign: () => new Promise((resolve) => (release = resolve)),
    });
    const { connection, ended } = await pairedClient(lab, { token });
    connection.request(1, SIGN_ROOT);
    connection.request(2, { op: 'list' });
    await vi.waitFor(() => expect(release).toBeDefined(), { timeout: 5000, interval: 10 });
    connection.send({ type: 'refused', code: 'REPLACED', message: 'another helper paired' });
    expect(await ended).toMatchObject({ reason: 'refused', code: 'REPLACED' });
    release!(SIGNATURE);
    await sleep(150);
    expect(token.calls).toEqual(['sign']);
  });

  it('ends on a refused hello before pairing (BAD_CODE)', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { ended } = startClient(lab.origin, { token });
    const connection = await lab.connection(0);
    await connection.next();
    connection.send({ type: 'refused', code: 'BAD_CODE', message: 'that code is not valid' });
    expect(await ended).toEqual({ reason: 'refused', code: 'BAD_CODE', message: 'that code is not valid' });
  });

  it.each([
    ['text that is not JSON', 'hello?'],
    ['an unknown message type', JSON.stringify({ type: 'welcome' })],
    ['a request outside the protocol', JSON.stringify({ type: 'request', id: 1, request: { op: 'delete' } })],
    ['a paired without a secret', JSON.stringify({ type: 'paired', username: 'alice' })],
    ['a binary frame', Buffer.from(JSON.stringify({ type: 'request', id: 1, request: { op: 'list' } }))],
  ])('stops on %s (PROTOCOL) and closes the connection', async (_name, frame) => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { connection, ended, logs } = await pairedClient(lab, { token });
    connection.ws.send(frame, { binary: typeof frame !== 'string' });
    expect(await ended).toEqual({
      reason: 'refused',
      code: 'PROTOCOL',
      message: 'malformed message from the server',
    });
    expect(await connection.closed).toEqual({ code: 1008, reason: 'malformed message' });
    expect(logs.at(-1)).toBe('The lab server sent something this helper does not understand; stopping.');
    await sleep(100);
    expect(token.calls).toEqual([]);
    expect(lab.upgrades).toHaveLength(1);
  });

  it('stop() ends run() and closes the connection normally', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { client, connection, ended } = await pairedClient(lab, { token });
    client.stop();
    expect(await ended).toEqual({ reason: 'stopped' });
    expect(await connection.closed).toEqual({ code: 1000, reason: 'helper stopped' });
    await sleep(100);
    expect(lab.upgrades).toHaveLength(1);
  });

  it('stop() during a pause before reconnecting: no further attempt', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { client, connection, ended, logs } = await pairedClient(lab, { token, reconnectDelayMs: 200 });
    connection.ws.terminate();
    await vi.waitFor(() => expect(logs.at(-1)).toMatch(/^Lost the connection/), { timeout: 5000 });
    client.stop();
    expect(await ended).toEqual({ reason: 'stopped' });
    await sleep(400);
    expect(lab.upgrades).toHaveLength(1);
  });
});

describe('reconnecting', () => {
  it('comes back after a dropped connection with the secret, not the code', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { connection, logs, secret } = await pairedClient(lab, { token, reconnectDelayMs: 100 });
    connection.ws.terminate();

    const second = await lab.connection(1);
    expect(await second.next()).toEqual({ type: 'hello', version: PROTOCOL_VERSION, resume: secret });
    expect(logs.at(-1)).toBe('Lost the connection to the lab server; trying again in 0.1 s.');
    const renewed = newSecret();
    second.send({ type: 'paired', secret: renewed, username: 'alice' });
    expect(await second.next()).toEqual({ type: 'status', token: token.view });
    expect(logs.at(-1)).toBe('Reconnected to the lab session.');
    second.request(1, { op: 'list' });
    expect((await second.untilReply(1)).reply).toMatchObject({ ok: true, token: token.view });

    // The newest secret resumes, and after a pairing the pause is back to its first length.
    second.ws.terminate();
    const third = await lab.connection(2);
    expect(await third.next()).toEqual({ type: 'hello', version: PROTOCOL_VERSION, resume: renewed });
    expect(logs.filter((line) => line.startsWith('Lost the connection'))).toEqual([
      'Lost the connection to the lab server; trying again in 0.1 s.',
      'Lost the connection to the lab server; trying again in 0.1 s.',
    ]);
    expect(lab.upgrades).toEqual([HELPER_PATH, HELPER_PATH, HELPER_PATH]);
  });

  it('gives up as unreachable after reconnectAttempts failed reconnects, with growing pauses', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { connection, ended, logs } = await pairedClient(lab, {
      token,
      reconnectDelayMs: 100,
      reconnectAttempts: 3,
    });
    lab.refuseUpgrades = true;
    connection.ws.terminate();
    expect(await ended).toEqual({ reason: 'unreachable', message: `lost the lab server at ${lab.origin}` });
    expect(lab.upgrades).toHaveLength(1 + 3);
    expect(logs.filter((line) => line.startsWith('Lost the connection'))).toEqual([
      'Lost the connection to the lab server; trying again in 0.1 s.',
      'Lost the connection to the lab server; trying again in 0.2 s.',
      'Lost the connection to the lab server; trying again in 0.4 s.',
    ]);
    expect(logs.filter((line) => line.startsWith('Cannot reach'))).toHaveLength(3);
  });

  it('with reconnectAttempts 0, a dropped connection ends it at once', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    const { connection, ended } = await pairedClient(lab, { token, reconnectAttempts: 0 });
    connection.ws.terminate();
    expect(await ended).toEqual({ reason: 'unreachable', message: `lost the lab server at ${lab.origin}` });
    expect(lab.upgrades).toHaveLength(1);
  });

  it('ends unreachable when nothing listens before pairing, without retrying', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const { ended, logs } = startClient(server, { token: new FakeToken('1234') });
    expect(await ended).toEqual({ reason: 'unreachable', message: `cannot reach ${server}` });
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^Cannot reach the lab server at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('ends unreachable when the server refuses the upgrade before pairing', async () => {
    const lab = await startLab();
    lab.refuseUpgrades = true;
    const { ended, logs } = startClient(lab.origin, { token: new FakeToken('1234') });
    expect(await ended).toEqual({ reason: 'unreachable', message: `cannot reach ${lab.origin}` });
    await sleep(100);
    expect(lab.upgrades).toEqual([HELPER_PATH]);
    expect(logs[0]).toMatch(/^Cannot reach the lab server at .*503/);
  });
});

describe('replies stay on their connection', () => {
  it('drops the reply to a request of a connection that is gone, instead of sending it on the next one', async () => {
    const lab = await startLab();
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const token = new FakeToken('1234', { sign: () => slow.then(() => new Uint8Array(64).fill(0xee)) });
    const { connection, secret } = await pairedClient(lab, { token, reconnectDelayMs: 20 });
    connection.request(2, SIGN_ROOT);
    await vi.waitFor(() => expect(token.calls).toContain('sign'));
    connection.ws.terminate();
    const second = await lab.connection(1);
    expect(await second.next()).toEqual({ type: 'hello', version: PROTOCOL_VERSION, resume: secret });
    second.send({ type: 'paired', secret, username: 'alice' });
    expect(await second.next()).toMatchObject({ type: 'status' });
    // The new connection's ids start again: its own request 2 is another signature.
    second.request(2, { op: 'list' });
    release();
    const { before, reply } = await second.untilReply(2);
    expect(before.filter((m) => m.type === 'reply')).toEqual([]);
    expect(reply).toMatchObject({ ok: true, keys: [STORED_VIEW] });
    await sleep(50);
    expect(second.unread).toBe(0);
  });

  it('carries out no request before the server has paired the connection', async () => {
    const lab = await startLab();
    const token = new FakeToken('1234');
    startClient(lab.origin, { token });
    const connection = await lab.connection(0);
    expect(await connection.next()).toMatchObject({ type: 'hello' });
    connection.request(1, { op: 'list' });
    await sleep(100);
    expect(token.calls).toEqual([]);
    expect(connection.unread).toBe(0);
  });
});

describe('a removed token (TOKEN_REMOVED)', () => {
  const removed = () =>
    Promise.reject(
      new TokenError('TOKEN_REMOVED', 'the YubiKey was removed or stopped answering (C_Sign)', {
        suggestion: 'Plug the YubiKey back in and run the helper again.',
      }),
    );
  const GONE: TokenReply = {
    ok: false,
    error: {
      code: 'TOKEN_REMOVED',
      message: 'the YubiKey was removed from the computer running the YubiKey helper',
      suggestion: 'Plug the YubiKey back in; the helper opens it again at the next command.',
    },
  };

  it('is shown as gone and closed, then opened again at the next request once it is back', async () => {
    const lab = await startLab();
    const first = new FakeToken('1111', { sign: removed });
    const second = new FakeToken('2222');
    const reopen = vi
      .fn<() => Promise<RootKeyToken>>()
      .mockRejectedValueOnce(new TokenError('NO_TOKEN', 'no token in any slot'))
      .mockResolvedValueOnce(second);
    const { client, connection, logs } = await pairedClient(lab, { token: first, reopen });

    // The sign fails because the YubiKey was pulled out: the reply says so, the page shows no token.
    connection.request(1, SIGN_ROOT);
    const failed = await connection.untilReply(1);
    expect(failed.reply).toEqual({
      ok: false,
      error: {
        code: 'TOKEN_REMOVED',
        message: 'the YubiKey was removed or stopped answering (C_Sign)',
        suggestion: 'Plug the YubiKey back in and run the helper again.',
      },
    });
    expect(failed.before).toEqual([
      { type: 'status', token: first.view, activity: SIGNING_ACTIVITY },
      { type: 'status', token: first.view },
      { type: 'status', token: null },
    ]);
    expect(first.calls).toEqual(['sign', 'close']);
    expect(client.token).toBeUndefined();
    expect(reopen).not.toHaveBeenCalled();

    // Still not plugged in: the next request is answered without any token.
    connection.request(2, { op: 'list' });
    const stillGone = await connection.untilReply(2);
    expect(stillGone.reply).toEqual(GONE);
    expect(stillGone.before).toEqual([]);
    expect(reopen).toHaveBeenCalledTimes(1);
    expect(first.calls).toEqual(['sign', 'close']);
    expect(second.calls).toEqual([]);
    expect(logs.at(-1)).toBe(
      '  failed: the YubiKey was removed from the computer running the YubiKey helper',
    );

    // Back: the request goes to the token opened again, and the page shows it.
    connection.request(3, { op: 'list' });
    const back = await connection.untilReply(3);
    expect(back.reply).toEqual({ ok: true, token: second.view, keys: [STORED_VIEW] });
    expect(back.before[0]).toEqual({ type: 'status', token: second.view });
    expect(reopen).toHaveBeenCalledTimes(2);
    expect(second.calls).toEqual(['list']);
    expect(first.calls).toEqual(['sign', 'close']);
    expect(client.token).toBe(second);
    expect(logs).toContain('The YubiKey is back: trustlab.');

    // And it stays open: no reopen for the next one.
    connection.request(4, SIGN_ROOT);
    expect((await connection.untilReply(4)).reply).toMatchObject({ ok: true, token: second.view });
    expect(reopen).toHaveBeenCalledTimes(2);
    expect(second.calls).toEqual(['list', 'sign']);
  });

  it('stays gone without a way to open it again', async () => {
    const lab = await startLab();
    const token = new FakeToken('1111', { sign: removed });
    const { client, connection } = await pairedClient(lab, { token });
    connection.request(1, SIGN_ROOT);
    expect((await connection.untilReply(1)).reply).toMatchObject({
      ok: false,
      error: { code: 'TOKEN_REMOVED' },
    });
    connection.request(2, { op: 'list' });
    expect((await connection.untilReply(2)).reply).toEqual({
      ok: false,
      error: {
        ...(GONE.ok ? {} : GONE.error),
        suggestion: 'Plug the YubiKey back in and start the helper again.',
      },
    });
    expect(token.calls).toEqual(['sign', 'close']);
    expect(client.token).toBeUndefined();
  });

  it('is shown as gone after a reconnect too', async () => {
    const lab = await startLab();
    const token = new FakeToken('1111', { sign: removed });
    const { connection } = await pairedClient(lab, { token, reopen: () => Promise.reject(new Error('no')) });
    connection.request(1, SIGN_ROOT);
    await connection.untilReply(1);
    connection.ws.terminate();
    const second = await lab.connection(1);
    await second.next();
    second.send({ type: 'paired', secret: newSecret(), username: 'alice' });
    expect(await second.next()).toEqual({ type: 'status', token: null });
  });
});
