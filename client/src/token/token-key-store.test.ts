/**
 * trust-core's HardwareKeyStore over the session's token socket, against a fake token socket
 * that answers with real root certificates: what notary's YubiKey store does, seen from the
 * client (the touch prompt, the fallback's debug line, the errors a learner reads).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PrivateKey,
  createRootCertificate,
  decodePem,
  parseCertificate,
  verifySignature,
} from '../../../trust-core/src/index.js';
import type { TokenReply, TokenRequest } from '../../../yubikey-helper/src/protocol.js';
import { TOUCH_PROMPT } from './socket.js';
import type { TokenKeyStoreIo } from './token-key-store.js';
import { TokenKeyStore } from './token-key-store.js';
import { rejection } from './testing.js';

const NOW = new Date('2025-06-01T12:00:00Z');
const TOKEN = { label: 'trustlab', manufacturer: 'Yubico', model: 'YubiKey 5', serial: '1234' };
const PURPOSE = { kind: 'root-metadata', gun: 'docker.io/alice/alpine' } as const;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A root key as notary puts it on a YubiKey: the key and its CN=root certificate, DER in base64. */
function rootKeyOnToken(position = 0): {
  key: PrivateKey;
  view: { keyId: string; position: number; certificate: string };
} {
  const key = PrivateKey.generate('ecdsa');
  const der = decodePem(createRootCertificate(key, 'root', { now: NOW })).bytes;
  return { key, view: { keyId: key.id, position, certificate: Buffer.from(der).toString('base64') } };
}

/** What the test saw, in order: `out:` lines printed by the store and `request:` ops the socket got. */
interface Recorder {
  events: string[];
  requests: TokenRequest[];
  debug: string[];
  io: TokenKeyStoreIo;
}

function recorder(): Recorder {
  const events: string[] = [];
  const debug: string[] = [];
  return {
    events,
    requests: [],
    debug,
    io: { out: (text) => events.push(`out: ${text}`), debug: (message) => debug.push(message) },
  };
}

/** A fake token socket: each connection's request goes to `answer`, recorded in `seen`. */
async function tokenSocket(seen: Recorder, answer: (request: TokenRequest) => TokenReply): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'trustlab-token-store-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'token.sock');
  const server = net.createServer((socket) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      const request = JSON.parse(text.slice(0, newline)) as TokenRequest;
      seen.requests.push(request);
      seen.events.push(`request: ${request.op}`);
      socket.end(`${JSON.stringify(answer(request))}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return socketPath;
}

/** A store connected to a token holding `keys`; `answer` takes the requests after the first list. */
async function connected(
  keys: ReturnType<typeof rootKeyOnToken>['view'][],
  answer: (request: TokenRequest) => TokenReply = () => ({ ok: true, token: TOKEN }),
): Promise<{ store: TokenKeyStore; seen: Recorder }> {
  const seen = recorder();
  const socketPath = await tokenSocket(seen, (request) =>
    request.op === 'list' ? { ok: true, token: TOKEN, keys } : answer(request),
  );
  const store = await TokenKeyStore.connect({ TRUSTLAB_TOKEN: socketPath }, seen.io);
  expect(store).toBeInstanceOf(TokenKeyStore);
  return { store: store!, seen };
}

describe('TokenKeyStore.connect', () => {
  it('is undefined without TRUSTLAB_TOKEN, with notary’s debug line', async () => {
    const seen = recorder();
    expect(await TokenKeyStore.connect({}, seen.io)).toBeUndefined();
    expect(seen.debug).toEqual([
      'No yubikey found, using alternative key storage: no token socket (TRUSTLAB_TOKEN is not set)',
    ]);
    expect(seen.events).toEqual([]);
  });

  it('is undefined when no helper is paired, saying why', async () => {
    const seen = recorder();
    const socketPath = await tokenSocket(seen, () => ({
      ok: false,
      error: { code: 'NO_HELPER', message: 'no YubiKey helper is paired with this terminal' },
    }));
    expect(await TokenKeyStore.connect({ TRUSTLAB_TOKEN: socketPath }, seen.io)).toBeUndefined();
    expect(seen.debug).toEqual([
      'No yubikey found, using alternative key storage: no YubiKey helper is paired with this terminal',
    ]);
  });

  it('is undefined when the socket is gone', async () => {
    const seen = recorder();
    const dir = await mkdtemp(path.join(tmpdir(), 'trustlab-token-store-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    expect(
      await TokenKeyStore.connect({ TRUSTLAB_TOKEN: path.join(dir, 'none.sock') }, seen.io),
    ).toBeUndefined();
    expect(seen.debug[0]).toMatch(/^No yubikey found, using alternative key storage: /);
  });

  it('falls back to the files, saying why, when the token holds a certificate it cannot read', async () => {
    const seen = recorder();
    const socketPath = await tokenSocket(seen, () => ({
      ok: true,
      token: { label: 'yk', manufacturer: 'Yubico', model: 'YubiKey', serial: '1' },
      keys: [{ keyId: 'a'.repeat(64), position: 2, certificate: 'AAAA' }],
    }));
    expect(await TokenKeyStore.connect({ TRUSTLAB_TOKEN: socketPath }, seen.io)).toBeUndefined();
    expect(seen.debug.at(-1)).toMatch(
      /^No yubikey found, using alternative key storage: the token holds a certificate this client cannot read/,
    );
  });

  it('gives the token’s root keys with their canonical IDs and plain ecdsa public keys', async () => {
    const first = rootKeyOnToken(0);
    const second = rootKeyOnToken(2);
    const { store, seen } = await connected([first.view, second.view]);
    expect(seen.debug).toEqual(['Found a yubikey: trustlab (YubiKey 5), 2 root key(s)']);
    expect(store.location).toBe('yubikey');
    expect(store.token).toEqual(TOKEN);
    const keys = await store.rootKeys();
    expect(keys.map((k) => k.id)).toEqual([first.key.id, second.key.id]);
    for (const [i, { key }] of [first, second].entries()) {
      const publicKey = keys[i]!.publicKey;
      expect(publicKey.keytype).toBe('ecdsa');
      expect(publicKey.id).toBe(key.id);
      expect(publicKey.publicBytes).toEqual(key.publicKey().publicBytes);
    }
    expect(seen.requests).toEqual([{ op: 'list' }]);
  });
});

describe('signer', () => {
  it('prints the touch prompt before the request, and returns the token’s signature', async () => {
    const { key, view } = rootKeyOnToken();
    const message = new TextEncoder().encode('{"_type":"Root","version":1}');
    const { store, seen } = await connected([view], () => ({
      ok: true,
      token: TOKEN,
      signature: Buffer.from(key.sign(message)).toString('base64'),
    }));
    const [root] = await store.rootKeys();
    const signer = store.signer(root!.id, root!.publicKey, PURPOSE);
    expect(signer.publicKey).toBe(root!.publicKey);
    expect(signer.method).toBe('ecdsa');
    seen.events.length = 0;
    const signature = await signer.sign(message);
    expect(seen.events).toEqual([`out: ${TOUCH_PROMPT}\n`, 'request: sign']);
    expect(TOUCH_PROMPT).toBe('Please touch the attached Yubikey to perform signing.');
    expect(seen.requests.at(-1)).toEqual({
      op: 'sign',
      keyId: key.id,
      message: Buffer.from(message).toString('base64'),
      purpose: PURPOSE,
    });
    expect(verifySignature(key.publicKey(), 'ecdsa', message, signature)).toBe(true);
  });

  it('throws the failure a reply carries, with its code, message and suggestion', async () => {
    const { view } = rootKeyOnToken();
    const { store } = await connected([view], () => ({
      ok: false,
      error: {
        code: 'WRONG_PIN',
        message: 'the PIN was not accepted',
        suggestion: 'Enter the YubiKey PIV PIN (default 123456).',
      },
    }));
    const [root] = await store.rootKeys();
    const error = await rejection(store.signer(root!.id, root!.publicKey, PURPOSE).sign(new Uint8Array([1])));
    expect(error).toMatchObject({
      code: 'WRONG_PIN',
      message: 'the PIN was not accepted',
      suggestion: 'Enter the YubiKey PIV PIN (default 123456).',
    });
  });

  it('throws BAD_REPLY for a success without signature', async () => {
    const { view } = rootKeyOnToken();
    const { store } = await connected([view], () => ({ ok: true, token: TOKEN }));
    const [root] = await store.rootKeys();
    const error = await rejection(store.signer(root!.id, root!.publicKey, PURPOSE).sign(new Uint8Array([1])));
    expect(error.code).toBe('BAD_REPLY');
  });
});

describe('addRootKey', () => {
  it('imports the key’s secret with a CN=root certificate of the key, and lists it afterwards', async () => {
    const existing = rootKeyOnToken(0);
    const key = PrivateKey.generate('ecdsa');
    const { store, seen } = await connected([existing.view], (request) =>
      request.op === 'import'
        ? { ok: true, token: TOKEN, key: { keyId: key.id, position: 1, certificate: request.certificate } }
        : { ok: false, error: { code: 'BAD_REQUEST', message: `unexpected ${request.op}` } },
    );
    const before = Date.now();
    const stored = await store.addRootKey(key);
    expect(stored).toEqual({ id: key.id, position: 1, publicKey: key.publicKey() });

    const request = seen.requests.at(-1)!;
    expect(request.op).toBe('import');
    if (request.op !== 'import') return;
    expect(Buffer.from(request.secret, 'base64')).toEqual(Buffer.from(key.secretBytes()));
    const certificate = parseCertificate(new Uint8Array(Buffer.from(request.certificate, 'base64')));
    expect(certificate.commonName).toBe('root');
    expect(certificate.publicKeyType).toBe('ecdsa');
    expect(certificate.spkiDer).toEqual(key.publicKey().publicBytes);
    expect(certificate.isCA).toBe(false);
    // notary's YubiKey store: valid from now for 10 years.
    expect(certificate.notBefore.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(certificate.notAfter.getTime() - certificate.notBefore.getTime()).toBe(3650 * 24 * 3600 * 1000);

    expect((await store.rootKeys()).map((k) => k.id)).toEqual([existing.key.id, key.id]);
  });

  it('lists a key once when the token already held it (an import of a key stored there before)', async () => {
    const held = rootKeyOnToken(2);
    const { store } = await connected([held.view], (request) =>
      request.op === 'import'
        ? { ok: true, token: TOKEN, key: held.view }
        : { ok: false, error: { code: 'BAD_REQUEST', message: `unexpected ${request.op}` } },
    );
    await store.addRootKey(held.key);
    expect((await store.rootKeys()).map((k) => k.id)).toEqual([held.key.id]);
  });

  it('refuses a reply naming another key ID, and does not list it', async () => {
    const key = PrivateKey.generate('ecdsa');
    const other = rootKeyOnToken(3);
    const { store } = await connected([], () => ({ ok: true, token: TOKEN, key: other.view }));
    const error = await rejection(store.addRootKey(key));
    expect(error.code).toBe('BAD_REPLY');
    expect(error.message).toBe(`the token stored key ${other.key.id}, not ${key.id}`);
    expect(await store.rootKeys()).toEqual([]);
  });

  it('refuses a success that does not say where the key went', async () => {
    const { store } = await connected([], () => ({ ok: true, token: TOKEN }));
    expect((await rejection(store.addRootKey(PrivateKey.generate('ecdsa')))).code).toBe('BAD_REPLY');
  });

  it('throws the token’s failure (SLOTS_FULL) with its suggestion', async () => {
    const { store } = await connected([], () => ({
      ok: false,
      error: { code: 'SLOTS_FULL', message: 'all four positions hold a key', suggestion: 'Remove a key.' },
    }));
    const error = await rejection(store.addRootKey(PrivateKey.generate('ecdsa')));
    expect(error).toMatchObject({ code: 'SLOTS_FULL', suggestion: 'Remove a key.' });
  });
});
