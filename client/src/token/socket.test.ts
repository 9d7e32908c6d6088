/**
 * The client's end of the session's token socket: replies checked by hand (the client does not
 * load zod), one request per connection against a small server on a temporary unix socket.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { TokenReply } from '../../../yubikey-helper/src/protocol.js';
import { failureOf, listToken, parseReply, requestToken, TokenRequestError } from './socket.js';
import { rejection } from './testing.js';

const TOKEN = { label: 'trustlab', manufacturer: 'Yubico', model: 'YubiKey 5', serial: '1234' };
const KEY = { keyId: 'ab'.repeat(32), position: 1, certificate: 'MIIB' };
const NO_HELPER: TokenReply = {
  ok: false,
  error: {
    code: 'NO_HELPER',
    message: 'no YubiKey helper is paired with this terminal',
    suggestion: 'Start the YubiKey helper with the command shown on the lab page.',
  },
};

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'trustlab-client-token-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A token socket that hands each connection's request line to `serve`, which writes what it
 * likes to the socket; returns the socket path and the lines received.
 */
async function tokenServer(
  serve: (socket: net.Socket, line: string) => void,
): Promise<{ path: string; lines: string[] }> {
  const socketPath = path.join(await tempDir(), 'token.sock');
  const lines: string[] = [];
  const server = net.createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      const line = text.slice(0, newline);
      text = '';
      lines.push(line);
      serve(socket, line);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.unref();
      }),
  );
  return { path: socketPath, lines };
}

const answering = (reply: unknown) => (socket: net.Socket) => socket.end(`${JSON.stringify(reply)}\n`);

function thrownBy(fn: () => unknown): TokenRequestError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TokenRequestError);
    return error as TokenRequestError;
  }
  throw new Error('expected a TokenRequestError');
}

describe('parseReply', () => {
  it.each([
    ['a listing', { ok: true, token: TOKEN, keys: [KEY] }],
    ['a listing without keys', { ok: true, token: TOKEN }],
    ['an import', { ok: true, token: TOKEN, key: KEY }],
    ['a signature', { ok: true, token: TOKEN, signature: 'AAAA' }],
    ['a failure with suggestion', NO_HELPER],
    ['a failure without suggestion', { ok: false, error: { code: 'TIMEOUT', message: 'too slow' } }],
  ])('accepts %s', (_what, reply) => {
    expect(parseReply(JSON.stringify(reply))).toEqual(reply);
  });

  it('says when the reply is not JSON', () => {
    const error = thrownBy(() => parseReply('{"ok":tru'));
    expect(error.code).toBe('BAD_REPLY');
    expect(error.message).toBe('the token socket answered something that is not JSON');
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it.each([
    ['null', null],
    ['a number', 1],
    ['an array', [{ ok: true, token: TOKEN }]],
    ['no ok', { token: TOKEN }],
    ['ok as a string', { ok: 'true', token: TOKEN }],
    ['a success without token', { ok: true, keys: [] }],
    ['a token without serial', { ok: true, token: { label: 'a', manufacturer: 'b', model: 'c' } }],
    ['a token with a number label', { ok: true, token: { ...TOKEN, label: 5 } }],
    ['keys that are not an array', { ok: true, token: TOKEN, keys: { 0: KEY } }],
    [
      'a key ID in upper case',
      { ok: true, token: TOKEN, keys: [{ ...KEY, keyId: KEY.keyId.toUpperCase() }] },
    ],
    ['a short key ID', { ok: true, token: TOKEN, keys: [{ ...KEY, keyId: 'abc' }] }],
    ['a key without certificate', { ok: true, token: TOKEN, keys: [{ keyId: KEY.keyId, position: 0 }] }],
    ['a key with a string position', { ok: true, token: TOKEN, key: { ...KEY, position: '1' } }],
    ['a key that is null', { ok: true, token: TOKEN, key: null }],
    ['a signature that is a number', { ok: true, token: TOKEN, signature: 7 }],
    ['a failure without error', { ok: false }],
    ['a failure without message', { ok: false, error: { code: 'TIMEOUT' } }],
    ['a failure with a number code', { ok: false, error: { code: 3, message: 'x' } }],
  ])('refuses %s with BAD_REPLY', (_what, reply) => {
    const error = thrownBy(() => parseReply(JSON.stringify(reply)));
    expect(error.code).toBe('BAD_REPLY');
    expect(error.message).toBe('the token socket answered a reply this client does not understand');
  });
});

describe('failureOf', () => {
  it('turns a failure reply into an error with its code, message and suggestion', () => {
    const error = failureOf(NO_HELPER);
    expect(error).toBeInstanceOf(TokenRequestError);
    expect(error).toMatchObject({
      name: 'TokenRequestError',
      code: 'NO_HELPER',
      message: NO_HELPER.ok ? '' : NO_HELPER.error.message,
      suggestion: 'Start the YubiKey helper with the command shown on the lab page.',
    });
  });

  it('gives nothing for a success', () => {
    expect(failureOf({ ok: true, token: TOKEN })).toBeUndefined();
  });
});

describe('requestToken', () => {
  it('writes the request as one JSON line and resolves with the reply line', async () => {
    const reply = { ok: true, token: TOKEN, keys: [KEY] };
    const server = await tokenServer(answering(reply));
    expect(await requestToken(server.path, { op: 'list' })).toEqual(reply);
    expect(server.lines).toEqual(['{"op":"list"}']);
  });

  it('reads a reply that arrives in pieces, and ignores what follows its line', async () => {
    const reply = JSON.stringify({ ok: true, token: TOKEN, signature: 'AAAA' });
    const server = await tokenServer((socket) => {
      socket.write(reply.slice(0, 10));
      setTimeout(() => socket.end(`${reply.slice(10)}\nmore text`), 20);
    });
    expect(await requestToken(server.path, { op: 'list' })).toEqual(JSON.parse(reply));
  });

  it('keeps the socket open while waiting (a signature may wait for a touch)', async () => {
    const server = await tokenServer((socket) => {
      setTimeout(() => socket.end(`${JSON.stringify({ ok: true, token: TOKEN })}\n`), 150);
    });
    expect(await requestToken(server.path, { op: 'list' })).toEqual({ ok: true, token: TOKEN });
  });

  it('rejects UNAVAILABLE when the server closes without answering', async () => {
    const server = await tokenServer((socket) => socket.end());
    const error = await rejection(requestToken(server.path, { op: 'list' }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toBe('the token socket closed without an answer');
  });

  it('rejects UNAVAILABLE when the server closes with half a line', async () => {
    const server = await tokenServer((socket) => socket.end('{"ok":true'));
    expect((await rejection(requestToken(server.path, { op: 'list' }))).code).toBe('UNAVAILABLE');
  });

  it('rejects UNAVAILABLE, naming the reason, when there is no socket file', async () => {
    const missing = path.join(await tempDir(), 'none.sock');
    const error = await rejection(requestToken(missing, { op: 'list' }));
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.message).toBe('the token socket cannot be reached (ENOENT)');
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');
  });

  it('rejects BAD_REPLY for a malformed reply line', async () => {
    const server = await tokenServer((socket) => socket.end('{"ok":"maybe"}\n'));
    expect((await rejection(requestToken(server.path, { op: 'list' }))).code).toBe('BAD_REPLY');
  });

  it('rejects BAD_REPLY when the server sends too much without a newline', async () => {
    const server = await tokenServer((socket) => {
      socket.on('error', () => {});
      socket.write('x'.repeat(600 * 1024));
    });
    const error = await rejection(requestToken(server.path, { op: 'list' }));
    expect(error.code).toBe('BAD_REPLY');
    expect(error.message).toBe('the token socket answered too much');
  });
});

describe('listToken', () => {
  it('is unavailable without TRUSTLAB_TOKEN, and says so', async () => {
    const expected = { unavailable: 'no token socket (TRUSTLAB_TOKEN is not set)' };
    expect(await listToken(undefined)).toEqual(expected);
    expect(await listToken('')).toEqual(expected);
  });

  it('is unavailable with the message of a NO_HELPER reply', async () => {
    const server = await tokenServer(answering(NO_HELPER));
    expect(await listToken(server.path)).toEqual({
      unavailable: 'no YubiKey helper is paired with this terminal',
    });
  });

  it('is unavailable when the socket cannot be reached', async () => {
    const missing = path.join(await tempDir(), 'none.sock');
    expect(await listToken(missing)).toEqual({ unavailable: 'the token socket cannot be reached (ENOENT)' });
  });

  it('is unavailable for a malformed reply', async () => {
    const server = await tokenServer((socket) => socket.end('not json\n'));
    expect(await listToken(server.path)).toEqual({
      unavailable: 'the token socket answered something that is not JSON',
    });
  });

  it('gives the token and its keys (none when the reply has no list)', async () => {
    const listed = await tokenServer(answering({ ok: true, token: TOKEN, keys: [KEY] }));
    expect(await listToken(listed.path)).toEqual({ token: TOKEN, keys: [KEY] });
    expect(listed.lines).toEqual(['{"op":"list"}']);
    const bare = await tokenServer(answering({ ok: true, token: TOKEN }));
    expect(await listToken(bare.path)).toEqual({ token: TOKEN, keys: [] });
  });
});
