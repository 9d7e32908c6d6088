import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeKeyFile, encodeKeyFile } from '../crypto/key-file.js';
import type { PassphraseRequest } from '../crypto/passphrase.js';
import { fixedPassphraseRetriever } from '../crypto/passphrase.js';
import { encodePem, decodePem } from '../crypto/pem.js';
import { PrivateKey } from '../crypto/signatures.js';
import { FileKeyStore } from './file-key-store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'trustlab-keystore-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('FileKeyStore', () => {
  it('saves keys as private/<id>.key with notary’s modes and headers, and lists them', async () => {
    const store = new FileKeyStore(dir);
    const root = PrivateKey.generate('ecdsa');
    const targets = PrivateKey.generate('ecdsa');
    const releases = PrivateKey.generate('ed25519');
    await store.save(root, { role: 'root', gun: 'ignored/for/root' }, 'root-pass');
    await store.save(targets, { role: 'targets', gun: 'example.com/app' }, 'repo-pass');
    await store.save(releases, { role: 'targets/releases', gun: 'ignored' }, 'deleg-pass');

    expect((await fs.stat(store.privateDir)).mode & 0o777).toBe(0o700);
    const file = path.join(store.privateDir, `${root.id}.key`);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(store.privateDir)).toHaveLength(3); // no temp files left behind

    const listed = await store.list();
    expect(listed).toEqual(
      [
        { id: root.id, role: 'root', path: file },
        {
          id: targets.id,
          role: 'targets',
          gun: 'example.com/app',
          path: path.join(store.privateDir, `${targets.id}.key`),
        },
        {
          id: releases.id,
          role: 'targets/releases',
          path: path.join(store.privateDir, `${releases.id}.key`),
        },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  it('loads with a retriever, retrying after wrong passphrases', async () => {
    const store = new FileKeyStore(dir);
    const key = PrivateKey.generate('ecdsa');
    await store.save(key, { role: 'snapshot', gun: 'g/r' }, 'the-right-one');
    const requests: PassphraseRequest[] = [];
    const answers = ['nope-nope', 'the-right-one'];
    const loaded = await store.load(key.id, (request) => {
      requests.push(request);
      return Promise.resolve(answers[request.attempt]!);
    });
    expect(loaded.key.id).toBe(key.id);
    expect(loaded).toMatchObject({ role: 'snapshot', gun: 'g/r' });
    expect(requests.map((r) => r.attempt)).toEqual([0, 1]);
    expect(requests[0]).toEqual({
      keyId: key.id,
      role: 'snapshot',
      gun: 'g/r',
      createNew: false,
      attempt: 0,
    });

    await expect(store.load(key.id, () => Promise.resolve('always-wrong'))).rejects.toMatchObject({
      code: 'PASSPHRASE_ATTEMPTS',
    });
    await expect(
      store.load(key.id, fixedPassphraseRetriever({ snapshot: 'bad-bad-bad' })),
    ).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
    });
    await expect(store.load('0'.repeat(64), () => Promise.resolve('x'))).rejects.toMatchObject({
      code: 'KEY_NOT_FOUND',
    });
  });

  it('asks a retriever for new passphrases and enforces 8 characters', async () => {
    const store = new FileKeyStore(dir);
    const key = PrivateKey.generate('ecdsa');
    await expect(store.save(key, { role: 'root' }, () => Promise.resolve('short'))).rejects.toMatchObject({
      code: 'PASSPHRASE_TOO_SHORT',
    });
    await store.save(key, { role: 'root' }, fixedPassphraseRetriever({ root: 'long-enough' }));
    const loaded = await store.load(key.id, fixedPassphraseRetriever({ root: 'long-enough' }));
    expect(loaded.key.id).toBe(key.id);
  });

  it('removes keys', async () => {
    const store = new FileKeyStore(dir);
    const key = PrivateKey.generate('ecdsa');
    await store.save(key, { role: 'root' }, 'pass-pass');
    await store.remove(key.id);
    expect(await store.list()).toEqual([]);
    await expect(store.remove(key.id)).rejects.toMatchObject({ code: 'KEY_NOT_FOUND' });
  });

  it('migrates the pre-0.4 root_keys/ and tuf_keys/<gun>/ layout', async () => {
    const root = PrivateKey.generate('ecdsa');
    const targets = PrivateKey.generate('ecdsa');
    const legacyRoot = path.join(dir, 'private', 'root_keys');
    const legacyRepo = path.join(dir, 'private', 'tuf_keys', 'example.com', 'app');
    await fs.mkdir(legacyRoot, { recursive: true });
    await fs.mkdir(legacyRepo, { recursive: true });
    const strip = (pem: string) => {
      const block = decodePem(pem);
      return encodePem({ type: block.type, headers: {}, bytes: block.bytes });
    };
    await fs.writeFile(
      path.join(legacyRoot, `${root.id}_root.key`),
      strip(encodeKeyFile(root, { role: 'root', passphrase: 'p-root-1' })),
    );
    await fs.writeFile(
      path.join(legacyRepo, `${targets.id}_targets.key`),
      strip(encodeKeyFile(targets, { role: 'targets', passphrase: 'p-targ-1' })),
    );
    const store = new FileKeyStore(dir);
    const listed = await store.list();
    expect(listed.map(({ id, role, gun }) => ({ id, role, gun }))).toEqual(
      [
        { id: root.id, role: 'root', gun: undefined },
        { id: targets.id, role: 'targets', gun: 'example.com/app' },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    await expect(fs.stat(path.join(dir, 'private', 'root_keys'))).rejects.toThrow();
    await expect(fs.stat(path.join(dir, 'private', 'tuf_keys'))).rejects.toThrow();
    const text = await fs.readFile(path.join(store.privateDir, `${targets.id}.key`), 'utf8');
    expect(decodeKeyFile(text, 'p-targ-1').key.id).toBe(targets.id);
  });
});
