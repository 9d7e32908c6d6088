/**
 * The helper's limits on what a token is used for: list, import, and signatures only over root
 * metadata or a root certificate for the GUN the request names. Mostly against a fake token that
 * records its calls; one suite runs the same requests on a real SoftHSM2 token.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requireBinariesForSuite } from '../../tests/support/binaries.js';
import type { SoftToken } from '../../tests/support/softhsm.js';
import { createSoftToken } from '../../tests/support/softhsm.js';
import { PrivateKey, createRootCertificate, decodePem, verifySignature } from '../../trust-core/src/index.js';
import type { OperationObserver } from './operations.js';
import { activityOf, perform, purposeProblem, tokenViewOf } from './operations.js';
import type { SignPurpose, TokenRequest } from './protocol.js';
import { tokenReplySchema } from './protocol.js';
import type { RootKeyToken, TokenErrorCode, TokenRootKey } from './token/index.js';
import { TokenError, openToken } from './token/index.js';

const GUN = 'docker.io/alice/alpine';
const NOW = new Date('2025-06-01T12:00:00Z');
const KEY_ID = 'c0ffee'.padEnd(64, '0');
const SIGNATURE = new Uint8Array(64).fill(7);

const encode = (text: string) => new TextEncoder().encode(text);
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The signed part of a root.json whose root keys are certificates for `gun` (one unless said). */
function rootMetadataFor(gun: string, { keys = 1 } = {}): Uint8Array {
  const certificates = Array.from({ length: keys }, () =>
    createRootCertificate(PrivateKey.generate('ecdsa'), gun, { now: NOW }),
  );
  const ids = certificates.map((_, index) => `${index}`.padStart(64, '0'));
  return encode(
    JSON.stringify({
      _type: 'Root',
      consistent_snapshot: false,
      expires: '2035-06-01T12:00:00Z',
      keys: Object.fromEntries(
        certificates.map((pem, index) => [
          ids[index],
          { keytype: 'ecdsa-x509', keyval: { private: null, public: Buffer.from(pem).toString('base64') } },
        ]),
      ),
      roles: { root: { keyids: ids, threshold: 1 } },
      version: 1,
    }),
  );
}
const rootMetadata = rootMetadataFor(GUN);
const targetsMetadata = encode('{"_type":"Targets","delegations":{},"expires":"x","targets":{},"version":2}');

/** The DER TBSCertificate of a root certificate for `gun`, as notary would have a token sign it. */
function rootTbs(gun: string, key = PrivateKey.generate('ecdsa')): Uint8Array {
  const der = decodePem(createRootCertificate(key, gun, { now: NOW })).bytes;
  return new Uint8Array(AsnConvert.serialize(AsnConvert.parse(der, Certificate).tbsCertificate));
}

function certificateDer(gun: string): Uint8Array {
  return decodePem(createRootCertificate(PrivateKey.generate('ecdsa'), gun, { now: NOW })).bytes;
}

/** An import request of a blank secret with a certificate whose CN is `commonName`. */
function importOf(commonName: string): TokenRequest {
  return {
    op: 'import',
    secret: base64(new Uint8Array(32)),
    certificate: base64(certificateDer(commonName)),
  };
}

interface FakeToken extends RootKeyToken {
  listRootKeys: ReturnType<typeof vi.fn<RootKeyToken['listRootKeys']>>;
  importRootKey: ReturnType<typeof vi.fn<RootKeyToken['importRootKey']>>;
  sign: ReturnType<typeof vi.fn<RootKeyToken['sign']>>;
}

const STORED: TokenRootKey = {
  keyId: KEY_ID,
  position: 2,
  certificateDer: new Uint8Array([0x30, 0x03, 1, 2, 3]),
};

function fakeToken(): FakeToken {
  return {
    // PKCS#11 pads these fields with spaces; the view trims them.
    description: {
      label: 'trustlab   ',
      manufacturer: 'Yubico (www.yubico.com)',
      model: 'YubiKey YK5',
      serial: `  ${'9'.repeat(70)}`,
      slot: 'Yubico YubiKey OTP+FIDO+CCID 00 00',
    },
    listRootKeys: vi.fn<RootKeyToken['listRootKeys']>(() => Promise.resolve([STORED])),
    importRootKey: vi.fn<RootKeyToken['importRootKey']>(() => Promise.resolve(STORED)),
    sign: vi.fn<RootKeyToken['sign']>(() => Promise.resolve(SIGNATURE)),
    close: vi.fn(),
  };
}

function recorder(): OperationObserver & { seen: (string | undefined)[] } {
  const seen: (string | undefined)[] = [];
  return { seen, activity: (text) => seen.push(text) };
}

const VIEW = {
  label: 'trustlab',
  manufacturer: 'Yubico (www.yubico.com)',
  model: 'YubiKey YK5',
  serial: '9'.repeat(64),
};
const STORED_VIEW = { keyId: KEY_ID, position: 2, certificate: base64(STORED.certificateDer) };

function signRequest(message: Uint8Array, purpose: SignPurpose): TokenRequest {
  return { op: 'sign', keyId: KEY_ID, message: base64(message), purpose };
}

describe('tokenViewOf', () => {
  it('trims and cuts the description to what the protocol carries, without the slot', () => {
    expect(tokenViewOf(fakeToken())).toEqual(VIEW);
  });
});

describe('perform', () => {
  it('lists the root keys', async () => {
    const token = fakeToken();
    const reply = await perform(token, { op: 'list' });
    expect(reply).toEqual({ ok: true, token: VIEW, keys: [STORED_VIEW] });
    expect(tokenReplySchema.safeParse(reply).success).toBe(true);
  });

  it('imports a key with the secret and certificate decoded from base64', async () => {
    const token = fakeToken();
    const secret = new Uint8Array(32).fill(9);
    const certificate = certificateDer('root');
    let received: Uint8Array | undefined;
    token.importRootKey.mockImplementation((input) => {
      received = Uint8Array.from(input.secret);
      return Promise.resolve(STORED);
    });
    const reply = await perform(token, {
      op: 'import',
      secret: base64(secret),
      certificate: base64(certificate),
    });
    expect(reply).toEqual({ ok: true, token: VIEW, key: STORED_VIEW });
    expect(received).toEqual(secret);
    expect(token.importRootKey.mock.calls[0]![0].certificateDer).toEqual(certificate);
    // The decoded secret is wiped once the token has it.
    expect(token.importRootKey.mock.calls[0]![0].secret.every((b) => b === 0)).toBe(true);
  });

  it('signs root metadata and returns the signature in base64', async () => {
    const token = fakeToken();
    const reply = await perform(token, signRequest(rootMetadata, { kind: 'root-metadata', gun: GUN }));
    expect(reply).toEqual({ ok: true, token: VIEW, signature: base64(SIGNATURE) });
    expect(token.sign).toHaveBeenCalledWith(KEY_ID, rootMetadata);
  });

  it('signs the TBSCertificate of the GUN’s root certificate, for the signing key only', async () => {
    const token = fakeToken();
    const key = PrivateKey.generate('ecdsa');
    const tbs = rootTbs(GUN, key);
    const request: TokenRequest = {
      op: 'sign',
      keyId: key.id,
      message: base64(tbs),
      purpose: { kind: 'root-certificate', gun: GUN },
    };
    const reply = await perform(token, request);
    expect(reply.ok).toBe(true);
    expect(token.sign).toHaveBeenCalledWith(key.id, tbs);
    // The same certificate, asked to be signed by another key on the token: refused.
    const other = await perform(token, { ...request, keyId: KEY_ID } as TokenRequest);
    expect(other).toMatchObject({ ok: false, error: { code: 'REFUSED' } });
    expect(token.sign).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['targets metadata as root metadata', targetsMetadata, { kind: 'root-metadata', gun: GUN }],
    [
      'another GUN’s certificate',
      rootTbs('docker.io/mallory/alpine'),
      { kind: 'root-certificate', gun: GUN },
    ],
    ['root metadata as a certificate', rootMetadata, { kind: 'root-certificate', gun: GUN }],
  ] as const)('refuses to sign %s, and never uses the token', async (_what, message, purpose) => {
    const token = fakeToken();
    const observer = recorder();
    const reply = await perform(token, signRequest(message, purpose), observer);
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.code).toBe('REFUSED');
    expect(reply.error.message).toMatch(/^the YubiKey helper refused to sign: /);
    expect(token.sign).not.toHaveBeenCalled();
    // No "touch your YubiKey" for a refused request.
    expect(observer.seen.filter((text) => text !== undefined)).toEqual([]);
  });

  it.each<[TokenErrorCode, string | undefined]>([
    ['WRONG_PIN', 'Enter the YubiKey PIV PIN (default 123456).'],
    ['PIN_LOCKED', 'Unblock it with the PUK.'],
    ['TOKEN_REMOVED', 'Plug the YubiKey back in and run the helper again.'],
    ['KEY_NOT_FOUND', undefined],
  ])(
    'turns a TokenError %s from the token into a failure reply with its suggestion',
    async (code, suggestion) => {
      const token = fakeToken();
      token.sign.mockRejectedValueOnce(
        new TokenError(code, `signing failed (${code})`, suggestion === undefined ? {} : { suggestion }),
      );
      const reply = await perform(token, signRequest(rootMetadata, { kind: 'root-metadata', gun: GUN }));
      expect(reply).toEqual({
        ok: false,
        error: {
          code,
          message: `signing failed (${code})`,
          ...(suggestion === undefined ? {} : { suggestion }),
        },
      });
      expect(tokenReplySchema.safeParse(reply).success).toBe(true);
    },
  );

  it('answers BAD_REQUEST, not a token failure, for a key or certificate the token refuses to import', async () => {
    const token = fakeToken();
    token.importRootKey.mockRejectedValueOnce(
      new TypeError('the certificate is for "targets", not for root'),
    );
    const reply = await perform(token, importOf('targets'));
    expect(reply).toEqual({
      ok: false,
      error: {
        code: 'BAD_REQUEST',
        message: 'the YubiKey helper refused the key: the certificate is for "targets", not for root',
      },
    });
  });

  it('carries a TokenError from list and import too (SLOTS_FULL)', async () => {
    const token = fakeToken();
    token.importRootKey.mockRejectedValueOnce(
      new TokenError('SLOTS_FULL', 'all four positions hold a key', { suggestion: 'Delete one.' }),
    );
    token.listRootKeys.mockRejectedValueOnce(new TokenError('NO_TOKEN', 'no YubiKey found'));
    const imported = await perform(token, importOf('root'));
    expect(imported).toEqual({
      ok: false,
      error: { code: 'SLOTS_FULL', message: 'all four positions hold a key', suggestion: 'Delete one.' },
    });
    expect(await perform(token, { op: 'list' })).toEqual({
      ok: false,
      error: { code: 'NO_TOKEN', message: 'no YubiKey found' },
    });
  });

  it('answers PKCS11 for a TokenError code the protocol does not know', async () => {
    const token = fakeToken();
    token.listRootKeys.mockRejectedValueOnce(new TokenError('SOMETHING_NEW' as TokenErrorCode, 'odd'));
    const reply = await perform(token, { op: 'list' });
    expect(reply).toEqual({ ok: false, error: { code: 'PKCS11', message: 'odd' } });
  });

  it('lets an error that is not a TokenError through, and still clears the activity', async () => {
    const token = fakeToken();
    const observer = recorder();
    const bug = new TypeError('a bug');
    token.sign.mockRejectedValueOnce(bug);
    await expect(
      perform(token, signRequest(rootMetadata, { kind: 'root-metadata', gun: GUN }), observer),
    ).rejects.toBe(bug);
    expect(observer.seen.at(-1)).toBeUndefined();
  });

  it('tells the observer what the token does while it does it, then clears it', async () => {
    const token = fakeToken();
    const observer = recorder();
    let during: (string | undefined)[] = [];
    token.sign.mockImplementationOnce(() => {
      during = [...observer.seen];
      return Promise.resolve(SIGNATURE);
    });
    const request = signRequest(rootMetadata, { kind: 'root-metadata', gun: GUN });
    await perform(token, request, observer);
    expect(during).toEqual([`signing for ${GUN} root — touch your YubiKey`]);
    expect(observer.seen).toEqual([activityOf(request), undefined]);
  });

  it('clears the activity after a failed import too', async () => {
    const token = fakeToken();
    const observer = recorder();
    token.importRootKey.mockRejectedValueOnce(new TokenError('WRONG_PIN', 'wrong PIN'));
    await perform(token, { op: 'import', secret: 'AA==', certificate: 'AA==' }, observer);
    expect(observer.seen).toEqual(['storing a new root key', undefined]);
  });

  it('names the GUN in the activity for a root certificate', () => {
    expect(activityOf(signRequest(rootMetadata, { kind: 'root-certificate', gun: GUN }))).toBe(
      `signing the root certificate of ${GUN} — touch your YubiKey`,
    );
    expect(activityOf({ op: 'list' })).toBe('listing the root keys');
  });
});

describe('purposeProblem', () => {
  const metadata = (gun = GUN): SignPurpose => ({ kind: 'root-metadata', gun });
  const certificate = (gun = GUN): SignPurpose => ({ kind: 'root-certificate', gun });

  it('accepts the signed part of a root.json', () => {
    expect(purposeProblem(rootMetadata, metadata())).toBeUndefined();
    expect(purposeProblem(rootMetadataFor(GUN, { keys: 2 }), metadata())).toBeUndefined();
  });

  it.each([
    ['another GUN', rootMetadataFor('docker.io/mallory/alpine'), /is not for docker\.io\/alice\/alpine/],
    ['a GUN with the same prefix', rootMetadataFor(`${GUN}-evil`), /is not for/],
    ['no root role', encode('{"_type":"Root","keys":{},"roles":{}}'), /names no root key/],
    [
      'a root role with no keys',
      encode('{"_type":"Root","keys":{},"roles":{"root":{"keyids":[],"threshold":1}}}'),
      /names no root key/,
    ],
    [
      'a root key it does not hold',
      encode('{"_type":"Root","keys":{},"roles":{"root":{"keyids":["ab"],"threshold":1}}}'),
      /names root key ab but does not hold it/,
    ],
    [
      'a root key that is no certificate',
      encode(
        '{"_type":"Root","keys":{"ab":{"keytype":"ecdsa","keyval":{"public":"AAAA"}}},"roles":{"root":{"keyids":["ab"]}}}',
      ),
      /root key ab of the root metadata is not a certificate/,
    ],
  ])(
    'refuses root metadata with %s: the learner is told which repository it is for',
    (_what, message, why) => {
      expect(purposeProblem(message, metadata())).toMatch(why);
    },
  );

  it.each([
    ['targets metadata', targetsMetadata, /its _type is not Root/],
    ['snapshot metadata', encode('{"_type":"Snapshot"}'), /its _type is not Root/],
    ['a lower-case root type', encode('{"_type":"root"}'), /its _type is not Root/],
    [
      'a whole root.json envelope',
      encode('{"signed":{"_type":"Root"},"signatures":[]}'),
      /its _type is not Root/,
    ],
    ['JSON null', encode('null'), /its _type is not Root/],
    ['a JSON array', encode('[{"_type":"Root"}]'), /its _type is not Root/],
    ['a JSON string', encode('"Root"'), /its _type is not Root/],
    ['text that is not JSON', encode('sign me'), /not JSON/],
    ['nothing', new Uint8Array(), /not JSON/],
    ['bytes that are not UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), /not JSON/],
    ['a TBSCertificate', rootTbs(GUN), /not JSON/],
  ])('refuses %s as root metadata', (_what, message, why) => {
    expect(purposeProblem(message, metadata())).toMatch(why);
  });

  it('accepts the TBSCertificate of a root certificate for the GUN', () => {
    expect(purposeProblem(rootTbs(GUN), certificate())).toBeUndefined();
    // What notary's YubiKey store makes for a new key, CN=root, is a root certificate for "root".
    expect(purposeProblem(rootTbs('root'), certificate('root'))).toBeUndefined();
  });

  it.each([
    ['another GUN', rootTbs('docker.io/mallory/alpine')],
    ['a GUN with the same prefix', rootTbs(`${GUN}-evil`)],
    ['a GUN that is a prefix', rootTbs('docker.io/alice')],
    ['a wildcard', rootTbs('docker.io/alice/*')],
  ])('refuses the certificate of %s', (_what, tbs) => {
    expect(purposeProblem(tbs, certificate())).toBe(
      `the certificate to sign is not the root certificate of ${GUN}`,
    );
  });

  it.each([
    ['root metadata', rootMetadata],
    ['a whole certificate rather than its TBS', certificateDer(GUN)],
    ['a truncated TBSCertificate', rootTbs(GUN).subarray(0, 40)],
    ['nothing', new Uint8Array()],
  ])('refuses %s as a certificate', (_what, message) => {
    expect(purposeProblem(message, certificate())).toBe('the data to sign is not a certificate');
  });

  // AsnConvert.parse reads the first DER element and ignores what follows: with bytes appended,
  // the token would sign something that is not what the purpose says.
  it('refuses a TBSCertificate followed by other bytes', () => {
    const message = new Uint8Array([...rootTbs(GUN), ...targetsMetadata]);
    expect(purposeProblem(message, certificate())).toBe('the data to sign is not a certificate');
  });
});

const ok = requireBinariesForSuite(['softhsm2-util']);

describe.skipIf(!ok)('perform on a SoftHSM2 token', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function open(): Promise<{ token: RootKeyToken; soft: SoftToken }> {
    const soft = await createSoftToken({ label: 'ops-test' });
    cleanups.push(() => soft.cleanup());
    process.env.SOFTHSM2_CONF = soft.conf;
    const token = await openToken({
      module: soft.module,
      pin: (request) => Promise.reject(new Error(`unexpected PIN request ${JSON.stringify(request)}`)),
    });
    cleanups.push(() => token.close());
    return { token, soft };
  }

  it('imports a root key, lists it and signs root metadata with it, refusing targets', async () => {
    const { token } = await open();
    const key = PrivateKey.generate('ecdsa');
    const certificate = decodePem(createRootCertificate(key, 'root', { now: NOW })).bytes;

    const imported = await perform(token, {
      op: 'import',
      secret: base64(key.secretBytes()),
      certificate: base64(certificate),
    });
    expect(imported.ok && imported.token.label).toBe('ops-test');
    expect(imported.ok && imported.key?.keyId).toBe(key.id);

    const listed = await perform(token, { op: 'list' });
    expect(listed.ok && listed.keys?.map((k) => k.keyId)).toEqual([key.id]);

    const signed = await perform(token, {
      op: 'sign',
      keyId: key.id,
      message: base64(rootMetadata),
      purpose: { kind: 'root-metadata', gun: GUN },
    });
    expect(signed.ok).toBe(true);
    if (!signed.ok) return;
    const signature = new Uint8Array(Buffer.from(signed.signature!, 'base64'));
    expect(verifySignature(key.publicKey(), 'ecdsa', rootMetadata, signature)).toBe(true);

    const refused = await perform(token, {
      op: 'sign',
      keyId: key.id,
      message: base64(targetsMetadata),
      purpose: { kind: 'root-metadata', gun: GUN },
    });
    expect(!refused.ok && refused.error.code).toBe('REFUSED');
  });
});
