/**
 * A session's token socket, as the sandbox's client reaches it: one JSON line in, one JSON line
 * out, and everything else (not JSON, not a request, too long, silence) refused or dropped.
 */
import { spawnSync } from 'node:child_process';
import { lstat, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TokenReply, TokenRequest } from '../../yubikey-helper/src/protocol.js';
import { MAX_MESSAGE_BYTES } from '../../yubikey-helper/src/protocol.js';
import type { TokenSocketOptions } from './token-socket.js';
import { listenTokenSocket } from './token-socket.js';

const TOKEN = { label: 'trustlab', manufacturer: 'Yubico', model: 'YubiKey 5', serial: '1234' };
const LISTED: TokenReply = { ok: true, token: TOKEN, keys: [] };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'trustlab-token-socket-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function listen(
  overrides: Partial<TokenSocketOptions> = {},
): Promise<{ path: string; answer: ReturnType<typeof vi.fn>; close(): Promise<void> }> {
  const socketPath = path.join(await tempDir(), 'token.sock');
  const answer = vi.fn((_request: TokenRequest) => Promise.resolve(LISTED));
  const socket = await listenTokenSocket({ path: socketPath, owner: undefined, answer, ...overrides });
  cleanups.push(() => socket.close());
  return {
    path: socketPath,
    answer: (overrides.answer as typeof answer | undefined) ?? answer,
    close: socket.close,
  };
}

interface Exchange {
  /** All the server sent before the connection closed. */
  text: string;
}

/** Connects, writes `data` (and ends the write side when `end`), and collects the answer. */
function exchange(socketPath: string, data: string, options: { end?: boolean } = {}): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      if (options.end) socket.end(data);
      else if (data !== '') socket.write(data);
    });
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => resolve({ text }));
  });
}

const line = (value: unknown) => `${JSON.stringify(value)}\n`;

describe('listenTokenSocket', () => {
  it('makes a socket only its owner may use (mode 0600)', async () => {
    const { path: socketPath } = await listen();
    const info = await stat(socketPath);
    expect(info.isSocket()).toBe(true);
    expect(info.mode & 0o777).toBe(0o600);
  });

  it('answers one JSON line request with the answer’s reply, as one JSON line', async () => {
    const { path: socketPath, answer } = await listen();
    const result = await exchange(socketPath, line({ op: 'list' }));
    expect(result.text).toBe(line(LISTED));
    expect(answer).toHaveBeenCalledExactlyOnceWith({ op: 'list' });
  });

  it('passes a sign request on as it came', async () => {
    const request: TokenRequest = {
      op: 'sign',
      keyId: 'a'.repeat(64),
      message: 'eyJfdHlwZSI6IlJvb3QifQ==',
      purpose: { kind: 'root-metadata', gun: 'docker.io/alice/alpine' },
    };
    const signature: TokenReply = { ok: true, token: TOKEN, signature: 'AAAA' };
    const { path: socketPath, answer } = await listen({ answer: vi.fn(() => Promise.resolve(signature)) });
    expect(JSON.parse((await exchange(socketPath, line(request))).text)).toEqual(signature);
    expect(answer).toHaveBeenCalledWith(request);
  });

  it('takes a request without newline when the client ends its side', async () => {
    const { path: socketPath, answer } = await listen();
    const result = await exchange(socketPath, JSON.stringify({ op: 'list' }), { end: true });
    expect(result.text).toBe(line(LISTED));
    expect(answer).toHaveBeenCalledOnce();
  });

  it('takes only the first line of a connection', async () => {
    const { path: socketPath, answer } = await listen();
    const result = await exchange(socketPath, `${line({ op: 'list' })}${line({ op: 'list' })}`);
    expect(result.text).toBe(line(LISTED));
    expect(answer).toHaveBeenCalledOnce();
  });

  it.each([
    ['text that is not JSON', 'list please\n'],
    ['an empty line', '\n'],
    ['JSON that is not a request', line({ op: 'delete' })],
    ['a request of the wrong shape', line({ op: 'sign', keyId: 'ABC', message: '!', purpose: {} })],
    ['a JSON array', line([{ op: 'list' }])],
  ])('answers %s with BAD_REQUEST and passes nothing on', async (_what, data) => {
    const { path: socketPath, answer } = await listen();
    const reply = JSON.parse((await exchange(socketPath, data)).text) as TokenReply;
    expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(answer).not.toHaveBeenCalled();
  });

  it('answers a line over MAX_MESSAGE_BYTES with BAD_REQUEST before it ends', async () => {
    const { path: socketPath, answer } = await listen();
    // No newline at all: the server stops reading once the limit is passed.
    const result = await exchange(socketPath, `{"op":"list","pad":"${'x'.repeat(MAX_MESSAGE_BYTES)}`);
    expect(JSON.parse(result.text)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect((JSON.parse(result.text) as { error: { message: string } }).error.message).toContain(
      String(MAX_MESSAGE_BYTES),
    );
    expect(answer).not.toHaveBeenCalled();
  });

  it('answers a long line that ends within one chunk with BAD_REQUEST', async () => {
    const { path: socketPath, answer } = await listen();
    const result = await exchange(socketPath, `{"op":"list"}${' '.repeat(MAX_MESSAGE_BYTES)}\n`);
    expect(JSON.parse(result.text)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(answer).not.toHaveBeenCalled();
  });

  it('counts bytes, not characters: a line of multi-byte characters over the limit is refused', async () => {
    const { path: socketPath, answer } = await listen();
    // Under the limit in UTF-16 characters, three times over it in bytes.
    const line = `{"op":"list","pad":"${'€'.repeat(Math.ceil(MAX_MESSAGE_BYTES / 2))}"}\n`;
    expect(line.length).toBeLessThan(MAX_MESSAGE_BYTES * 2);
    const result = await exchange(socketPath, line);
    expect(JSON.parse(result.text)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(answer).not.toHaveBeenCalled();
  });

  it('drops a client that sends nothing after requestTimeoutMs', async () => {
    const { path: socketPath, answer } = await listen({ requestTimeoutMs: 100 });
    const started = Date.now();
    const result = await exchange(socketPath, '');
    expect(result.text).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(answer).not.toHaveBeenCalled();
  });

  it('drops a client that sends half a line and then nothing', async () => {
    const { path: socketPath, answer } = await listen({ requestTimeoutMs: 100 });
    const result = await exchange(socketPath, '{"op":');
    expect(result.text).toBe('');
    expect(answer).not.toHaveBeenCalled();
  });

  it('waits for the answer longer than requestTimeoutMs once the request is in', async () => {
    let release: (reply: TokenReply) => void = () => {};
    const answer = vi.fn(() => new Promise<TokenReply>((resolve) => (release = resolve)));
    const { path: socketPath } = await listen({ requestTimeoutMs: 50, answer });
    const result = exchange(socketPath, line({ op: 'list' }));
    await vi.waitFor(() => expect(answer).toHaveBeenCalled());
    await new Promise((resolve) => setTimeout(resolve, 120));
    release(LISTED);
    expect((await result).text).toBe(line(LISTED));
  });

  it('takes only maxConnections connections at once', async () => {
    const waiting: ((reply: TokenReply) => void)[] = [];
    const answer = vi.fn(() => new Promise<TokenReply>((resolve) => waiting.push(resolve)));
    const { path: socketPath } = await listen({ answer, maxConnections: 2 });
    const first = exchange(socketPath, line({ op: 'list' }));
    const second = exchange(socketPath, line({ op: 'list' }));
    await vi.waitFor(() => expect(answer).toHaveBeenCalledTimes(2));
    expect(await exchange(socketPath, line({ op: 'list' }))).toEqual({ text: '' });
    expect(answer).toHaveBeenCalledTimes(2);
    for (const release of waiting) release(LISTED);
    expect(await first).toEqual({ text: line(LISTED) });
    expect(await second).toEqual({ text: line(LISTED) });
  });

  it('answers PKCS11 when the answer function rejects', async () => {
    const { path: socketPath } = await listen({ answer: () => Promise.reject(new Error('broken')) });
    const reply = JSON.parse((await exchange(socketPath, line({ op: 'list' }))).text) as TokenReply;
    expect(reply).toMatchObject({ ok: false, error: { code: 'PKCS11' } });
  });

  it('on close(), removes the socket file and drops a connection still waiting for an answer', async () => {
    const answer = vi.fn(() => new Promise<TokenReply>(() => {}));
    const socket = await listen({ answer });
    const result = exchange(socket.path, line({ op: 'list' }));
    await vi.waitFor(() => expect(answer).toHaveBeenCalled());
    await socket.close();
    // The connection closes without an answer (on a unix socket the peer sees the end of input).
    expect(await result).toEqual({ text: '' });
    await expect(stat(socket.path)).rejects.toMatchObject({ code: 'ENOENT' });
    // close() again is harmless.
    await socket.close();
  });

  it('replaces a stale socket file left by a previous run', async () => {
    const socketPath = path.join(await tempDir(), 'token.sock');
    // A process that dies while listening leaves its socket file behind, with nobody on it.
    spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect((await lstat(socketPath)).isSocket()).toBe(true);
    await expect(exchange(socketPath, line({ op: 'list' }))).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const { close } = await listenTokenSocket({
      path: socketPath,
      owner: undefined,
      answer: () => Promise.resolve(LISTED),
    });
    cleanups.push(close);
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    expect((await exchange(socketPath, line({ op: 'list' }))).text).toBe(line(LISTED));
  });

  it('refuses to start on a regular file at the path, and leaves the file alone', async () => {
    const socketPath = path.join(await tempDir(), 'token.sock');
    await writeFile(socketPath, 'not a socket');
    await expect(
      listenTokenSocket({ path: socketPath, owner: undefined, answer: () => Promise.resolve(LISTED) }),
    ).rejects.toThrow(/exists and is not a socket/);
    expect(await readFile(socketPath, 'utf8')).toBe('not a socket');
  });
});
