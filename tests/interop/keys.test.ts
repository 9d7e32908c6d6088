/**
 * The keys layer against the real notary 0.7 binary: key files we write are
 * listed, decrypted and used for signing by notary; key files notary writes
 * are read by us; what notary signs with our keys verifies with our code; and
 * our root certificates have the same fields as notary's.
 * Fails on CI when a binary is missing; skips locally with a message.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NotaryServer, RunResult } from '../support/index.js';
import {
  TEST_PASSPHRASE,
  baseEnv,
  httpsGet,
  makeTempDir,
  removeTempDir,
  requireBinariesForSuite,
  requireBinary,
  runCommand,
  runNotary,
  startNotaryServer,
} from '../support/index.js';
import { canonicalBytes, isJsonObject, parseJson } from '../../trust-core/src/encoding/canonical-json.js';
import type { JsonValue } from '../../trust-core/src/encoding/canonical-json.js';
import { fromBase64, fromUtf8 } from '../../trust-core/src/encoding/bytes.js';
import { PublicKey } from '../../trust-core/src/crypto/keys.js';
import { PrivateKey, verifySignature } from '../../trust-core/src/crypto/signatures.js';
import { decodeKeyFile, encodeKeyFile, readKeyFileHeaders } from '../../trust-core/src/crypto/key-file.js';
import { encodePem } from '../../trust-core/src/crypto/pem.js';
import {
  checkRootCertificate,
  createRootCertificate,
  parseCertificate,
} from '../../trust-core/src/crypto/x509.js';
import { FileKeyStore } from '../../trust-core/src/node/file-key-store.js';

const available = requireBinariesForSuite(['notary', 'notary-server', 'openssl']);

const ROOT_CERT_SAMPLE = new URL('../vectors/notary/root-cert.pem', import.meta.url);

function expectSuccess(result: RunResult, what: string): RunResult {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

interface ListedKey {
  role: string;
  gun?: string;
  id: string;
}

/** Parse `notary key list`: ROLE, GUN (may be empty), KEY ID, LOCATION. */
function parseKeyList(stdout: string): ListedKey[] {
  const out: ListedKey[] = [];
  for (const line of stdout.split('\n')) {
    const tokens = line.trim().split(/\s+/);
    const idIndex = tokens.findIndex((t) => /^[0-9a-f]{64}$/.test(t));
    if (idIndex < 1) continue;
    const entry: ListedKey = { role: tokens[0]!, id: tokens[idIndex]! };
    if (idIndex === 2) entry.gun = tokens[1]!;
    out.push(entry);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

describe.skipIf(!available)('keys interop with the real notary 0.7', () => {
  let server: NotaryServer | undefined;
  let work: string;
  let counter = 0;

  beforeAll(async () => {
    work = await makeTempDir('keys-interop');
    server = await startNotaryServer();
  });

  afterAll(async () => {
    await server?.stop();
    if (work) await removeTempDir(work);
  });

  /** A fresh trust directory for one scenario. */
  function trustDir(): string {
    counter += 1;
    return path.join(work, `trust-${counter}`);
  }

  function notary(dir: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
    if (!server) throw new Error('notary-server is not running');
    return runNotary(args, {
      trustDir: dir,
      serverUrl: server.url,
      caCertPath: server.caCertPath,
      cwd: work,
      ...(env ? { env } : {}),
    });
  }

  async function fetchRole(gun: string, role: string): Promise<string> {
    if (!server) throw new Error('notary-server is not running');
    const response = await httpsGet(`${server.url}/v2/${gun}/_trust/tuf/${role}.json`, {
      caPem: server.caPem,
      timeoutMs: 5_000,
    });
    expect(response.status, `GET ${role}.json`).toBe(200);
    return response.body;
  }

  it('notary key list shows keys we write with the right role, GUN and ID', async () => {
    const dir = trustDir();
    const store = new FileKeyStore(dir);
    const keys = {
      root: PrivateKey.generate('ecdsa'),
      targets: PrivateKey.generate('ecdsa'),
      snapshot: PrivateKey.generate('ecdsa'),
      releases: PrivateKey.generate('ecdsa'),
      alice: PrivateKey.generate('ed25519'),
    };
    const gun = 'example.com/keys/app';
    await store.save(keys.root, { role: 'root' }, TEST_PASSPHRASE);
    await store.save(keys.targets, { role: 'targets', gun }, TEST_PASSPHRASE);
    await store.save(keys.snapshot, { role: 'snapshot', gun }, TEST_PASSPHRASE);
    await store.save(keys.releases, { role: 'targets/releases', gun }, TEST_PASSPHRASE);
    await store.save(keys.alice, { role: 'alice' }, TEST_PASSPHRASE);

    const listed = parseKeyList(expectSuccess(await notary(dir, ['key', 'list']), 'notary key list').stdout);
    const expected: ListedKey[] = [
      { role: 'root', id: keys.root.id },
      { role: 'targets', gun, id: keys.targets.id },
      { role: 'snapshot', gun, id: keys.snapshot.id },
      { role: 'targets/releases', id: keys.releases.id },
      { role: 'alice', id: keys.alice.id },
    ];
    expect(listed).toEqual(expected.sort((a, b) => (a.id < b.id ? -1 : 1)));
    // And our own listing agrees with notary's.
    expect(
      (await store.list()).map(({ id, role, gun: g }) => ({ id, role, ...(g ? { gun: g } : {}) })),
    ).toEqual(listed.map(({ id, role, gun: g }) => ({ id, role, ...(g ? { gun: g } : {}) })));
  });

  it('reads keys notary generates, and finds the IDs notary lists', async () => {
    const dir = trustDir();
    const generated: string[] = [];
    for (const role of ['root', 'targets']) {
      const result = expectSuccess(
        await notary(dir, ['key', 'generate', 'ecdsa', '--role', role]),
        `key generate ${role}`,
      );
      const match = /keyID: ([0-9a-f]{64})/.exec(result.stdout);
      expect(match, result.stdout).not.toBeNull();
      generated.push(match![1]!);
    }
    const listed = parseKeyList(expectSuccess(await notary(dir, ['key', 'list']), 'notary key list').stdout);
    expect(listed.map((k) => k.id).sort()).toEqual([...generated].sort());
    for (const entry of listed) {
      const text = await readFile(path.join(dir, 'private', `${entry.id}.key`), 'utf8');
      expect(readKeyFileHeaders(text)).toEqual({ role: entry.role, encrypted: true });
      const decoded = decodeKeyFile(text, TEST_PASSPHRASE);
      expect(decoded.key.id).toBe(entry.id);
      expect(decoded.role).toBe(entry.role);
      expect(() => decodeKeyFile(text, 'not-the-passphrase')).toThrow(
        expect.objectContaining({ code: 'WRONG_PASSPHRASE' }),
      );
    }
  });

  it('notary imports an unencrypted ed25519 key we write; we read the file notary re-encrypts', async () => {
    const dir = trustDir();
    const key = PrivateKey.generate('ed25519');
    const file = path.join(work, `import-${counter}.pem`);
    await writeFile(file, encodeKeyFile(key, { role: 'targets/releases', passphrase: '' }), { mode: 0o600 });
    expectSuccess(await notary(dir, ['key', 'import', file]), 'notary key import');
    const listed = parseKeyList(expectSuccess(await notary(dir, ['key', 'list']), 'notary key list').stdout);
    expect(listed).toEqual([{ role: 'targets/releases', id: key.id }]);
    const text = await readFile(path.join(dir, 'private', `${key.id}.key`), 'utf8');
    expect(text.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: targets/releases\n\n')).toBe(true);
    expect(decodeKeyFile(text, TEST_PASSPHRASE).key.id).toBe(key.id);
  });

  it('notary decrypts key files we write (key passwd), and refuses a wrong passphrase', async () => {
    const dir = trustDir();
    const store = new FileKeyStore(dir);
    const key = PrivateKey.generate('ecdsa');
    await store.save(key, { role: 'targets', gun: 'example.com/keys/pw' }, TEST_PASSPHRASE);
    const wrong = await notary(dir, ['key', 'passwd', key.id], {
      NOTARY_TARGETS_PASSPHRASE: 'wrong-passphrase',
    });
    expect(wrong.code).not.toBe(0);
    const ok = expectSuccess(await notary(dir, ['key', 'passwd', key.id]), 'notary key passwd');
    expect(ok.stdout).toContain(`Successfully updated passphrase for key ID: ${key.id}`);
    // notary rewrote the file with its own encryption; we still read it, headers intact.
    const text = await readFile(path.join(dir, 'private', `${key.id}.key`), 'utf8');
    expect(decodeKeyFile(text, TEST_PASSPHRASE)).toMatchObject({
      role: 'targets',
      gun: 'example.com/keys/pw',
    });
  });

  it('notary signs with our root and delegation keys; our code verifies everything it publishes', async () => {
    const dir = trustDir();
    const store = new FileKeyStore(dir);
    const gun = 'example.com/keys/signed';
    const rootKey = PrivateKey.generate('ecdsa');
    const releasesKey = PrivateKey.generate('ecdsa');
    await store.save(rootKey, { role: 'root' }, TEST_PASSPHRASE);
    await store.save(releasesKey, { role: 'targets/releases' }, TEST_PASSPHRASE);
    const pubFile = path.join(work, `releases-${counter}.pub`);
    await writeFile(
      pubFile,
      encodePem({
        type: 'PUBLIC KEY',
        headers: { role: 'targets/releases' },
        bytes: releasesKey.publicKey().publicBytes,
      }),
    );
    const payload = path.join(work, `payload-${counter}.txt`);
    await writeFile(payload, 'hello from trustlab\n');

    const init = expectSuccess(await notary(dir, ['init', '-p', gun]), 'notary init');
    expect(init.stdout).toContain(`Root key found, using: ${rootKey.id}`);
    expectSuccess(
      await notary(dir, ['delegation', 'add', '-p', gun, 'targets/releases', pubFile, '--all-paths']),
      'notary delegation add',
    );
    expectSuccess(
      await notary(dir, ['add', '-p', gun, 'v1', payload, '--roles', 'targets/releases']),
      'notary add',
    );

    const docs = new Map<string, JsonValue>();
    for (const role of ['root', 'targets', 'targets/releases', 'snapshot', 'timestamp']) {
      docs.set(role, parseJson(await fetchRole(gun, role)));
    }
    const keys = new Map<string, PublicKey>();
    for (const doc of docs.values()) {
      const signed = (doc as { signed: JsonValue }).signed;
      if (!isJsonObject(signed)) continue;
      for (const source of [
        signed.keys,
        isJsonObject(signed.delegations) ? signed.delegations.keys : undefined,
      ]) {
        if (!isJsonObject(source)) continue;
        for (const [id, json] of Object.entries(source)) {
          const key = PublicKey.fromJSON(json);
          expect(key.id).toBe(id);
          keys.set(id, key);
        }
      }
    }

    // The root key in metadata is notary's certificate for our key.
    const root = docs.get('root') as { signed: { roles: { root: { keyids: string[] } } } };
    const rootCertId = root.signed.roles.root.keyids[0]!;
    const rootCert = keys.get(rootCertId)!;
    expect(rootCert.keytype).toBe('ecdsa-x509');
    expect(rootCert.canonicalId()).toBe(rootKey.id);
    const parsed = parseCertificate(fromUtf8(rootCert.publicBytes));
    expect(() => checkRootCertificate(parsed, gun, new Date())).not.toThrow();
    expect(parsed.commonName).toBe(gun);

    // Every signature verifies: ecdsa from our keys and notary's, eddsa from the server's.
    const methods = new Set<string>();
    for (const [role, doc] of docs) {
      const { signed, signatures } = doc as {
        signed: JsonValue;
        signatures: { keyid: string; method: string; sig: string }[];
      };
      expect(signatures.length, role).toBeGreaterThan(0);
      for (const s of signatures) {
        const key = keys.get(s.keyid);
        expect(key, `${role}: key ${s.keyid}`).toBeDefined();
        expect(
          verifySignature(key!, s.method, canonicalBytes(signed), fromBase64(s.sig)),
          `${role} ${s.keyid}`,
        ).toBe(true);
        methods.add(s.method);
      }
    }
    expect([...methods].sort()).toEqual(['ecdsa', 'eddsa']);
    const releases = docs.get('targets/releases') as { signatures: { keyid: string }[] };
    expect(releases.signatures.map((s) => s.keyid)).toEqual([releasesKey.id]);
    const rootSigs = (docs.get('root') as { signatures: { keyid: string }[] }).signatures;
    expect(rootSigs.map((s) => s.keyid)).toEqual([rootCertId]);
  });

  it('our root certificate has the same fields as notary’s (openssl x509 -text)', async () => {
    const openssl = requireBinary('openssl');
    const sample = await readFile(ROOT_CERT_SAMPLE, 'utf8');
    const sampleCert = parseCertificate(sample);
    const ours = createRootCertificate(PrivateKey.generate('ecdsa'), sampleCert.commonName, {
      now: sampleCert.notBefore,
    });
    async function text(pem: string): Promise<string> {
      const result = await runCommand(openssl, ['x509', '-noout', '-text'], {
        env: baseEnv(work),
        stdin: pem,
        timeoutMs: 10_000,
      });
      expectSuccess(result, 'openssl x509 -text');
      // Blank out what must differ: serial, public key and signature bytes.
      return result.stdout
        .replace(/(Serial Number:\s*\n?\s*)[0-9a-f:]+/, '$1<serial>')
        .replace(/(pub:\n)(\s+[0-9a-f:]+\n)+/, '$1<point>\n')
        .replace(/(Signature Value:\n)(\s+[0-9a-f:]+\n)+/, '$1<signature>\n');
    }
    const [expected, actual] = await Promise.all([text(sample), text(ours)]);
    expect(actual).toBe(expected);
    expect(actual).toContain('Subject: CN = example.com/test/repo');
    expect(actual).toContain(
      'X509v3 Key Usage: critical\n                Digital Signature, Key Encipherment',
    );
  });
});
