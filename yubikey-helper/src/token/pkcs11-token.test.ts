/**
 * The token layer against a real SoftHSM2 token (Debian package softhsm2), standing in for a
 * YubiKey. Each test makes its own token directory; SoftHSM2 reads SOFTHSM2_CONF at C_Initialize,
 * so every token is closed (and the module finalised) before the next test opens another.
 */
import pkcs11js from 'pkcs11js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PrivateKey,
  createRootCertificate,
  decodePem,
  rootPublicKey,
  verifySignature,
} from '../../../trust-core/src/index.js';
import { requireBinariesForSuite } from '../../../tests/support/binaries.js';
import type { SoftToken } from '../../../tests/support/softhsm.js';
import { createSoftToken } from '../../../tests/support/softhsm.js';
import type { PinRequest, PinSource, RootKeyToken } from './index.js';
import { DEFAULT_USER_PIN, TokenError, openToken } from './index.js';
import { certificateSubjectDer } from './root-certificate.js';

const ok = requireBinariesForSuite(['softhsm2-util']);

const PRIME256V1_OID = '06082a8648ce3d030107';
const message = new TextEncoder().encode('{"signed":"root metadata"}');

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function softToken(options: Parameters<typeof createSoftToken>[0] = {}): Promise<SoftToken> {
  const soft = await createSoftToken(options);
  cleanups.push(() => soft.cleanup());
  return soft;
}

/** A PinSource that must not be asked. */
const neverAsked: PinSource = (request) =>
  Promise.reject(new Error(`unexpected PIN request ${JSON.stringify(request)}`));

/** A PinSource answering from a list (undefined = give up), recording the requests. */
function answers(...pins: (string | undefined)[]): PinSource & { requests: PinRequest[] } {
  const requests: PinRequest[] = [];
  const source = (request: PinRequest) => {
    requests.push(request);
    return Promise.resolve(pins.shift());
  };
  return Object.assign(source, { requests });
}

async function open(soft: SoftToken, pin: PinSource = neverAsked): Promise<RootKeyToken> {
  process.env.SOFTHSM2_CONF = soft.conf;
  const token = await openToken({ module: soft.module, pin });
  cleanups.push(() => token.close());
  return token;
}

function rootKey(): { key: PrivateKey; secret: Uint8Array; certificateDer: Uint8Array; pem: string } {
  const key = PrivateKey.generate('ecdsa');
  const pem = createRootCertificate(key, 'root', { now: new Date() });
  return { key, secret: key.secretBytes(), certificateDer: decodePem(pem).bytes, pem };
}

async function rejection(promise: Promise<unknown>): Promise<TokenError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(TokenError);
  return error as TokenError;
}

/** Opens the token's module directly (the token layer must be closed) and logs in as user. */
function inspect<T>(soft: SoftToken, userPin: string, look: (p11: pkcs11js.PKCS11, session: Buffer) => T): T {
  process.env.SOFTHSM2_CONF = soft.conf;
  const p11 = new pkcs11js.PKCS11();
  p11.load(soft.module);
  p11.C_Initialize();
  try {
    const slot = p11
      .C_GetSlotList(true)
      .find((s) => p11.C_GetTokenInfo(s).flags & pkcs11js.CKF_TOKEN_INITIALIZED);
    if (slot === undefined) throw new Error('no initialised token');
    const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    p11.C_Login(session, pkcs11js.CKU_USER, userPin);
    return look(p11, session);
  } finally {
    p11.C_Finalize();
    p11.close();
  }
}

function find(p11: pkcs11js.PKCS11, session: Buffer, template: pkcs11js.Template): Buffer[] {
  p11.C_FindObjectsInit(session, template);
  const found = p11.C_FindObjects(session, 100);
  p11.C_FindObjectsFinal(session);
  return found;
}

function attribute(p11: pkcs11js.PKCS11, session: Buffer, object: Buffer, type: number): Buffer {
  const [result] = p11.C_GetAttributeValue(session, object, [{ type }]);
  if (result === undefined) throw new Error(`no attribute ${type}`);
  return result.value;
}

const ulong = (value: Buffer): number => Number(value.readBigUInt64LE(0));

describe.skipIf(!ok)('PKCS#11 root keys on SoftHSM2', () => {
  it('describes the token and lists no keys on an empty token, without asking a PIN', async () => {
    const soft = await softToken({ label: 'lab-token' });
    const token = await open(soft);
    expect(token.description).toMatchObject({
      label: 'lab-token',
      manufacturer: 'SoftHSM project',
      model: 'SoftHSM v2',
    });
    expect(token.description.serial).toMatch(/^[0-9a-f]+$/);
    expect(token.description.slot).toMatch(/^SoftHSM slot/);
    expect(await token.listRootKeys()).toEqual([]);
  });

  it('imports a root key at position 2 and lists it under its canonical notary key ID', async () => {
    const soft = await softToken();
    const token = await open(soft);
    const { key, secret, certificateDer } = rootKey();
    const imported = await token.importRootKey({ secret, certificateDer });
    expect(imported).toEqual({ keyId: key.id, position: 2, certificateDer });
    expect(await token.listRootKeys()).toEqual([{ keyId: key.id, position: 2, certificateDer }]);
    // notary addKey: importing the same key again writes nothing.
    expect(await token.importRootKey({ secret, certificateDer })).toEqual(imported);
    token.close();
    // The keys outlive the session: a new one lists them from the certificates.
    const again = await open(soft);
    expect((await again.listRootKeys()).map((k) => k.keyId)).toEqual([key.id]);
  });

  it('fills positions 2, 1, 3, 0 and then refuses with SLOTS_FULL', async () => {
    const soft = await softToken();
    const token = await open(soft);
    const keys = [rootKey(), rootKey(), rootKey(), rootKey()];
    const positions = [];
    for (const { secret, certificateDer } of keys) {
      positions.push((await token.importRootKey({ secret, certificateDer })).position);
    }
    expect(positions).toEqual([2, 1, 3, 0]);
    expect(await token.listRootKeys()).toEqual(
      [keys[3], keys[1], keys[0], keys[2]].map((k, position) => ({
        keyId: k?.key.id,
        position,
        certificateDer: k?.certificateDer,
      })),
    );
    const fifth = rootKey();
    const error = await rejection(
      token.importRootKey({ secret: fifth.secret, certificateDer: fifth.certificateDer }),
    );
    expect(error.code).toBe('SLOTS_FULL');
    expect(error.suggestion).toBeDefined();
    expect(await token.listRootKeys()).toHaveLength(4);
  });

  it('signs SHA-256 of the message with CKM_ECDSA: raw r‖s that verifies under the key and its certificate', async () => {
    const soft = await softToken();
    const token = await open(soft);
    const { key, secret, certificateDer, pem } = rootKey();
    await token.importRootKey({ secret, certificateDer });
    const signature = await token.sign(key.id, message);
    expect(signature).toHaveLength(64);
    expect(verifySignature(key.publicKey(), 'ecdsa', message, signature)).toBe(true);
    // The ecdsa-x509 key that goes into root.json verifies it too.
    expect(verifySignature(rootPublicKey(pem), 'ecdsa', message, signature)).toBe(true);
    expect(verifySignature(key.publicKey(), 'ecdsa', new TextEncoder().encode('other'), signature)).toBe(
      false,
    );
    // Logged in once: a second signature asks nothing more.
    expect(verifySignature(key.publicKey(), 'ecdsa', message, await token.sign(key.id, message))).toBe(true);
  });

  it('stores a certificate object and an EC private key object as notary does', async () => {
    const soft = await softToken();
    const token = await open(soft);
    const { secret, certificateDer } = rootKey();
    await token.importRootKey({ secret, certificateDer });
    token.close();

    inspect(soft, DEFAULT_USER_PIN, (p11, session) => {
      const all = find(p11, session, [{ type: pkcs11js.CKA_TOKEN, value: true }]);
      // Just the two objects; SoftHSM2 makes no public key object from an imported private key.
      expect(all).toHaveLength(2);

      const [certificate] = find(p11, session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      ]);
      if (certificate === undefined) throw new Error('no certificate object');
      expect(ulong(attribute(p11, session, certificate, pkcs11js.CKA_CERTIFICATE_TYPE))).toBe(
        pkcs11js.CKC_X_509,
      );
      expect([...attribute(p11, session, certificate, pkcs11js.CKA_ID)]).toEqual([2]);
      expect([...attribute(p11, session, certificate, pkcs11js.CKA_TOKEN)]).toEqual([1]);
      expect([...attribute(p11, session, certificate, pkcs11js.CKA_PRIVATE)]).toEqual([0]);
      expect(new Uint8Array(attribute(p11, session, certificate, pkcs11js.CKA_SUBJECT))).toEqual(
        certificateSubjectDer(certificateDer),
      );
      expect(new Uint8Array(attribute(p11, session, certificate, pkcs11js.CKA_VALUE))).toEqual(
        certificateDer,
      );

      const [privateKey] = find(p11, session, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      ]);
      if (privateKey === undefined) throw new Error('no private key object');
      expect(ulong(attribute(p11, session, privateKey, pkcs11js.CKA_KEY_TYPE))).toBe(pkcs11js.CKK_EC);
      expect(attribute(p11, session, privateKey, pkcs11js.CKA_EC_PARAMS).toString('hex')).toBe(
        PRIME256V1_OID,
      );
      expect([...attribute(p11, session, privateKey, pkcs11js.CKA_ID)]).toEqual([2]);
      expect([...attribute(p11, session, privateKey, pkcs11js.CKA_SIGN)]).toEqual([1]);
      expect([...attribute(p11, session, privateKey, pkcs11js.CKA_TOKEN)]).toEqual([1]);
      // SoftHSM2 refuses CKA_VENDOR_DEFINED (CKR_ATTRIBUTE_TYPE_INVALID), so the key was written
      // without notary's touch/PIN policy; a YubiKey gets it.
      expect(() =>
        p11.C_GetAttributeValue(session, privateKey, [{ type: pkcs11js.CKA_VENDOR_DEFINED }]),
      ).toThrow(/CKR_ATTRIBUTE_TYPE_INVALID/);
      // The secret cannot be read back, as from a YubiKey.
      expect([...attribute(p11, session, privateKey, pkcs11js.CKA_SENSITIVE)]).toEqual([1]);
      expect([...attribute(p11, session, privateKey, pkcs11js.CKA_EXTRACTABLE)]).toEqual([0]);
      expect(() => attribute(p11, session, privateKey, pkcs11js.CKA_VALUE)).toThrow(
        /CKR_ATTRIBUTE_SENSITIVE/,
      );
    });
  });

  it('asks the PinSource when the default user PIN fails, and the right PIN works', async () => {
    const soft = await softToken({ userPin: '654321' });
    const pins = answers('654321');
    const token = await open(soft, pins);
    const { key, secret, certificateDer } = rootKey();
    // The SO write of the private key falls back to user (SoftHSM2), which needs the user PIN.
    await token.importRootKey({ secret, certificateDer });
    const signature = await token.sign(key.id, message);
    expect(verifySignature(key.publicKey(), 'ecdsa', message, signature)).toBe(true);
    // Asked once: the default 123456 failed first, which SoftHSM2 flags as CKF_USER_PIN_COUNT_LOW.
    expect(pins.requests).toEqual([
      { kind: 'user', attempt: 0, tokenLabel: 'trustlab-softhsm', retries: 'low' },
    ]);
  });

  it('gives up with WRONG_PIN (and the retries the token reports) when the PinSource does', async () => {
    const soft = await softToken({ userPin: '654321' });
    const { key, secret, certificateDer } = rootKey();
    const setup = await open(soft, answers('654321'));
    await setup.importRootKey({ secret, certificateDer });
    setup.close();

    const pins = answers('111111', undefined);
    const token = await open(soft, pins);
    const error = await rejection(token.sign(key.id, message));
    expect(error.code).toBe('WRONG_PIN');
    expect(error.retries).toBe('low');
    expect(error.suggestion).toMatch(/few tries are left/);
    expect(pins.requests.map((r) => [r.kind, r.attempt])).toEqual([
      ['user', 0],
      ['user', 1],
    ]);
    // Nothing was signed; and a PinSource that keeps answering wrong is stopped after three asks.
    const stubborn = answers('111111', '222222', '333333', '444444');
    token.close();
    const again = await open(soft, stubborn);
    const exceeded = await rejection(again.sign(key.id, message));
    expect(exceeded.code).toBe('WRONG_PIN');
    expect(stubborn.requests).toHaveLength(3);
  });

  it('leaves no half-written key when the PIN for the write is not given', async () => {
    const soft = await softToken({ userPin: '654321' });
    const token = await open(soft, answers(undefined));
    const { secret, certificateDer } = rootKey();
    const error = await rejection(token.importRootKey({ secret, certificateDer }));
    expect(error.code).toBe('WRONG_PIN');
    expect(await token.listRootKeys()).toEqual([]);
  });

  it('writes as SO like notary, asking the SO PIN when the default management key fails', async () => {
    const soft = await softToken({ soPin: '0011223344556677' });
    const pins = answers('0011223344556677');
    const token = await open(soft, pins);
    const { key, secret, certificateDer } = rootKey();
    await token.importRootKey({ secret, certificateDer });
    expect(pins.requests).toEqual([
      { kind: 'so', attempt: 0, tokenLabel: 'trustlab-softhsm', retries: 'low' },
    ]);
    expect(await token.sign(key.id, message)).toHaveLength(64);
  });

  it('ends a call with a TokenError when close() comes during its PIN prompt, then lets the module go', async () => {
    const soft = await softToken({ userPin: '654321' });
    const { key, secret, certificateDer } = rootKey();
    const setup = await open(soft, answers('654321'));
    await setup.importRootKey({ secret, certificateDer });
    setup.close();

    let answer: (pin: string) => void = () => undefined;
    let asked: () => void = () => undefined;
    const prompted = new Promise<void>((resolve) => (asked = resolve));
    const token = await open(soft, () => {
      asked();
      return new Promise((resolve) => (answer = resolve));
    });
    const signing = rejection(token.sign(key.id, message));
    await prompted;
    token.close();
    // The call in progress still holds the module (initialisation is process-wide: a second
    // instance sees it) ...
    const observer = new pkcs11js.PKCS11();
    observer.load(soft.module);
    cleanups.push(() => observer.close());
    expect(observer.C_GetSlotList(true).length).toBeGreaterThan(0);
    answer('654321');
    const error = await signing;
    expect(error.code).toBe('TOKEN_REMOVED');
    expect(error.message).toMatch(/session is closed/);
    // ... and lets it go once it has ended.
    expect(() => observer.C_GetSlotList(true)).toThrow(/CKR_CRYPTOKI_NOT_INITIALIZED/);
    const again = await open(soft, answers('654321'));
    expect(await again.sign(key.id, message)).toHaveLength(64);
  });

  it('refuses to sign with a key that is not on the token: KEY_NOT_FOUND, no PIN asked', async () => {
    const soft = await softToken();
    const token = await open(soft);
    const error = await rejection(token.sign(rootKey().key.id, message));
    expect(error.code).toBe('KEY_NOT_FOUND');
    expect(error.suggestion).toBeDefined();
  });

  it('refuses a certificate that does not belong to the secret', async () => {
    const soft = await softToken();
    const token = await open(soft);
    const a = rootKey();
    const b = rootKey();
    await expect(token.importRootKey({ secret: a.secret, certificateDer: b.certificateDer })).rejects.toThrow(
      TypeError,
    );
    const targets = decodePem(createRootCertificate(a.key, 'targets', { now: new Date() })).bytes;
    await expect(token.importRootKey({ secret: a.secret, certificateDer: targets })).rejects.toThrow(
      /not for root/,
    );
    expect(await token.listRootKeys()).toEqual([]);
  });

  it('throws a TokenError, not a crash, after close(); close() is idempotent', async () => {
    const soft = await softToken();
    const token = await open(soft);
    const { key, secret, certificateDer } = rootKey();
    await token.importRootKey({ secret, certificateDer });
    token.close();
    token.close();
    for (const call of [
      token.listRootKeys(),
      token.sign(key.id, message),
      token.importRootKey({ secret, certificateDer }),
    ]) {
      const error = await rejection(call);
      expect(error.code).toBe('TOKEN_REMOVED');
      expect(error.message).toMatch(/session is closed/);
    }
  });

  it('reports TOKEN_REMOVED when its session is closed under it (CKR_SESSION_HANDLE_INVALID)', async () => {
    // A YubiKey pulled out and plugged back in leaves the helper with a dead session handle. The
    // same return value is produced here for real by closing every session of the slot from a
    // second pkcs11js instance in this process (it shares the module's initialisation).
    const soft = await softToken();
    const token = await open(soft);
    const { key, secret, certificateDer } = rootKey();
    await token.importRootKey({ secret, certificateDer });
    const other = new pkcs11js.PKCS11();
    other.load(soft.module);
    try {
      for (const slot of other.C_GetSlotList(true)) other.C_CloseAllSessions(slot);
    } finally {
      other.close();
    }
    const error = await rejection(token.sign(key.id, message));
    expect(error.code).toBe('TOKEN_REMOVED');
    expect(error.message).toContain('CKR_SESSION_HANDLE_INVALID');
    expect(error.suggestion).toBe('Plug the YubiKey back in and run the helper again.');
  });

  it('shares one initialisation of the module between tokens open at once', async () => {
    const soft = await softToken();
    const first = await open(soft);
    const second = await open(soft);
    const { key, secret, certificateDer } = rootKey();
    await first.importRootKey({ secret, certificateDer });
    first.close();
    // Closing the first did not finalise the module under the second.
    expect((await second.listRootKeys()).map((k) => k.keyId)).toEqual([key.id]);
    expect(await second.sign(key.id, message)).toHaveLength(64);
  });

  it('serialises calls made at the same time on one session', async () => {
    const soft = await softToken();
    const token = await open(soft);
    const keys = [rootKey(), rootKey()];
    const imported = await Promise.all(keys.map((k) => token.importRootKey(k)));
    expect(imported.map((k) => k.position).sort()).toEqual([1, 2]);
    const signatures = await Promise.all([
      token.sign(keys[0]!.key.id, message),
      token.listRootKeys(),
      token.sign(keys[1]!.key.id, message),
    ]);
    expect(verifySignature(keys[0]!.key.publicKey(), 'ecdsa', message, signatures[0] as Uint8Array)).toBe(
      true,
    );
    expect(verifySignature(keys[1]!.key.publicKey(), 'ecdsa', message, signatures[2] as Uint8Array)).toBe(
      true,
    );
  });
});
