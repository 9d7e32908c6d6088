import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cbc } from '@noble/ciphers/aes.js';
import { md5, sha1 } from '@noble/hashes/legacy.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { EncryptedPrivateKeyInfo, PrivateKeyInfo } from '@peculiar/asn1-pkcs8';
import {
  AsnArray,
  AsnConvert,
  AsnPropTypes,
  AsnType,
  AsnTypeTypes,
  OctetString,
} from '@peculiar/asn1-schema';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, utf8 } from '../encoding/bytes.js';
import { Pbes2Params, Pbkdf2Params } from './asn1.js';
import { decodeKeyFile, encodeKeyFile, keyFileGun, privateKeyInfo, readKeyFileHeaders } from './key-file.js';
import { decodePem, encodePem } from './pem.js';
import { PrivateKey } from './signatures.js';

// Written by the real notary 0.7.0 binary: `notary key generate ecdsa --role root`
// with NOTARY_ROOT_PASSPHRASE=rootpass123 (a throwaway test key).
const NOTARY_ROOT_KEY = `-----BEGIN ENCRYPTED PRIVATE KEY-----
role: root

MIHuMEkGCSqGSIb3DQEFDTA8MBsGCSqGSIb3DQEFDDAOBAiZ1Wl1o2yepAICCAAw
HQYJYIZIAWUDBAEqBBBJeREiQNgC4t9rj5poSYIMBIGgYF4E9QQJtCOESQJKcbM3
0XoTkwKsagyRQKOa8mwSl3aOPCZF3WWOGpHfFbeWHkLRuS//5BcuPMQ6fBNmETg/
ApLlqUHVwQUInu/fqLWJhwDavTz+mF+AAhmojAcJQoyZLtBqkd8VZ3fRwkAz+YtX
Hvt/6dCvC7nTUng6g6hPyMEtmtIsh2xvAktE95uQcM/i+j2ykZ1CRbdn0h7If8vo
gg==
-----END ENCRYPTED PRIVATE KEY-----
`;
const NOTARY_ROOT_KEY_ID = 'cfc5a195c01157128596d02495e477cab5b2169ab8204761bab2331243d6f8a9';
// Its decrypted PrivateKeyInfo, padding removed.
const NOTARY_ROOT_KEY_PKCS8 =
  '308193020101301306072a8648ce3d020106082a8648ce3d030107047930770201010420e8376770cc9484060ad1b354' +
  '5fb6ab3919819ffbdf2a41b71147455650c1b79fa00a06082a8648ce3d030107a144034200046ad33929caaba649be7d' +
  '39bbecb409914c24d16822cba81c961850902ed4d586bcd868b19ce5ed4a94d85224da244f3e0542624e3f0dba458e38' +
  'a41d3fca2856';

// An ed25519 key re-encrypted by the real notary 0.7.0 (`notary key import` of an
// unencrypted key, NOTARY_DELEGATION_PASSPHRASE=delegpass123).
const NOTARY_ED25519_KEY = `-----BEGIN ENCRYPTED PRIVATE KEY-----
role: targets/releases

MIHOMEkGCSqGSIb3DQEFDTA8MBsGCSqGSIb3DQEFDDAOBAhM5fXO9TuQKgICCAAw
HQYJYIZIAWUDBAEqBBDTzzD4KY/pVF4/ftjKzJ7wBIGA6rr+d7KOSBw31n2AEIJB
CpXVCU8iz+M87TfdkhTfA2WoMDHFXMHeClndLvAqrXmM7IjEnEPvbRREN3N9oSNk
8n25xMELHeh7wK/RfVH4plfw+UMZDyZ90Uq+MtlGNUg3Ka4aNBeUmVTC0PKynDWm
Coy0/NjgohpszdiateFZy8I=
-----END ENCRYPTED PRIVATE KEY-----
`;
const NOTARY_ED25519_KEY_ID = 'd789264c82afbc0c2ba09281fae146ad660894dc6d7a6686ca61fc76024c12b6';

/** Any SEQUENCE, element by element: counts the fields actually written. */
class AnySequence extends AsnArray<ArrayBuffer> {}
AsnType({ type: AsnTypeTypes.Sequence, itemType: AsnPropTypes.Any })(AnySequence);

/** Independent PBES2 decryption (test-side), returning the padded plaintext and the parameters. */
function rawDecrypt(pem: string, passphrase: string) {
  const info = AsnConvert.parse(decodePem(pem).bytes, EncryptedPrivateKeyInfo);
  const params = AsnConvert.parse(info.encryptionAlgorithm.parameters!, Pbes2Params);
  const kdf = params.keyDerivationFunc;
  const enc = params.encryptionScheme;
  const kdfParams = AsnConvert.parse(kdf.parameters!, Pbkdf2Params);
  const salt = new Uint8Array(kdfParams.salt.buffer);
  const iterations = Number(kdfParams.iterationCount);
  const iv = new Uint8Array(AsnConvert.parse(enc.parameters!, OctetString).buffer);
  const key = pbkdf2(sha1, utf8(passphrase), salt, { c: iterations, dkLen: 32 });
  return {
    oids: [info.encryptionAlgorithm.algorithm, kdf.algorithm, enc.algorithm],
    kdfFieldCount: AsnConvert.parse(kdf.parameters!, AnySequence).length,
    salt,
    iterations,
    iv,
    plain: cbc(key, iv).decrypt(new Uint8Array(info.encryptedData.buffer)),
  };
}

const HEADER_SAMPLES = readFileSync(
  fileURLToPath(new URL('../../../tests/vectors/notary/keyfile-headers.txt', import.meta.url)),
  'utf8',
);

describe('reading keys written by the real notary', () => {
  it('decrypts an ecdsa root key and finds the ID notary listed', () => {
    const decoded = decodeKeyFile(NOTARY_ROOT_KEY, 'rootpass123');
    expect(decoded.role).toBe('root');
    expect(decoded.gun).toBeUndefined();
    expect(decoded.key.keytype).toBe('ecdsa');
    expect(decoded.key.id).toBe(NOTARY_ROOT_KEY_ID);
  });

  it('writes the same inner PKCS#8 bytes notary wrote (version 1, SEC1 key with curve and point)', () => {
    const key = decodeKeyFile(NOTARY_ROOT_KEY, 'rootpass123').key;
    expect(toHex(privateKeyInfo(key))).toBe(NOTARY_ROOT_KEY_PKCS8);
    const raw = rawDecrypt(NOTARY_ROOT_KEY, 'rootpass123');
    expect(toHex(raw.plain)).toBe(NOTARY_ROOT_KEY_PKCS8);
  });

  it('decrypts an ed25519 key (96 bytes: public ‖ seed ‖ public)', () => {
    const decoded = decodeKeyFile(NOTARY_ED25519_KEY, 'delegpass123');
    expect(decoded.role).toBe('targets/releases');
    expect(decoded.key.keytype).toBe('ed25519');
    expect(decoded.key.id).toBe(NOTARY_ED25519_KEY_ID);
    expect(toHex(rawDecrypt(NOTARY_ED25519_KEY, 'delegpass123').plain)).toBe(
      toHex(privateKeyInfo(decoded.key)),
    );
  });

  it('reads headers without a passphrase', () => {
    expect(readKeyFileHeaders(NOTARY_ROOT_KEY)).toEqual({ role: 'root', encrypted: true });
  });
});

// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` then
// `openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:secret-pass` (OpenSSL 3.0, a throwaway
// test key): PBKDF2 with an explicit PRF, hmacWithSHA256 with NULL parameters, and an inner
// SEC1 key without [0] parameters (the curve is only in the PKCS#8 AlgorithmIdentifier).
const OPENSSL_KEY = `-----BEGIN ENCRYPTED PRIVATE KEY-----
MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAg6EXxUq8qMegICCAAw
DAYIKoZIhvcNAgkFADAdBglghkgBZQMEASoEEN7amnQvqIHeSVLUw8moj7EEgZC4
obcpE+JDryI/odeNFdTbYQk/ncdstroA06ko4JeqE6rQphXGmJllW0C3DIED6kFz
HFn54D2YdKhdnNTnHFslrd8bukp3pRb6ETQGAFx+1GBCnajDoWJYcDbB568clhQ6
H3WAKp4Fs+xGM896pexTvyM85OOz0DQtMuEgKbyDKo1adNoRW67CNo7/oSnfc/o=
-----END ENCRYPTED PRIVATE KEY-----
`;
const OPENSSL_KEY_ID = 'a0610e4826befd651b1508d7998473daf09d1b8ed37aa9b15d361f91fd484bf1';

describe('reading keys written by OpenSSL', () => {
  it('honours an encoded HMAC-SHA256 PRF and finds the curve in the AlgorithmIdentifier', () => {
    const decoded = decodeKeyFile(OPENSSL_KEY, 'secret-pass');
    expect(decoded.key.keytype).toBe('ecdsa');
    expect(decoded.key.id).toBe(OPENSSL_KEY_ID);
    expect(() => decodeKeyFile(OPENSSL_KEY, 'secret-pasS')).toThrow(
      expect.objectContaining({ code: 'WRONG_PASSPHRASE' }),
    );
  });
});

describe('encodeKeyFile', () => {
  it('uses notary’s PBES2 parameters: PBKDF2 (no PRF = SHA-1), 8-byte salt, 2048 rounds, AES-256-CBC', () => {
    const key = PrivateKey.generate('ecdsa');
    const pem = encodeKeyFile(key, { role: 'root', passphrase: 'correct horse' });
    const raw = rawDecrypt(pem, 'correct horse');
    expect(raw.oids).toEqual(['1.2.840.113549.1.5.13', '1.2.840.113549.1.5.12', '2.16.840.1.101.3.4.1.42']);
    expect(raw.kdfFieldCount).toBe(2);
    expect(raw.salt.length).toBe(8);
    expect(raw.iterations).toBe(2048);
    expect(raw.iv.length).toBe(16);
    expect(toHex(raw.plain)).toBe(toHex(privateKeyInfo(key)));
    // Same outer size as notary's own root key file.
    expect(decodePem(pem).bytes.length).toBe(decodePem(NOTARY_ROOT_KEY).bytes.length);
  });

  it('round-trips ecdsa and ed25519 keys', () => {
    for (const type of ['ecdsa', 'ed25519'] as const) {
      const key = PrivateKey.generate(type);
      const pem = encodeKeyFile(key, {
        role: 'targets',
        gun: 'example.com/test/repo',
        passphrase: 'pass-1234',
      });
      const decoded = decodeKeyFile(pem, 'pass-1234');
      expect(decoded.key.id).toBe(key.id);
      expect(decoded.key.keytype).toBe(type);
      expect(decoded).toMatchObject({ role: 'targets', gun: 'example.com/test/repo' });
    }
  });

  it('writes the headers byte for byte like the real key files (gun before role, blank line)', () => {
    const key = PrivateKey.generate('ecdsa');
    const cases: [string, string | undefined][] = [
      ['targets/releases', undefined],
      ['snapshot', 'example.com/escape/repo'],
      ['root', undefined],
      ['targets', 'localhost:14451/test/dockerrepo'],
      ['alice', undefined],
    ];
    for (const [role, gun] of cases) {
      const pem = encodeKeyFile(key, { role, ...(gun ? { gun } : {}), passphrase: 'pass-1234' });
      const headerBlock = pem.slice(0, pem.indexOf('\n\n') + 1);
      // keyfile-headers.txt shows each sample's BEGIN line and headers, then its END line.
      const expected = headerBlock + '-----END ENCRYPTED PRIVATE KEY-----\n';
      expect(HEADER_SAMPLES).toContain(expected);
      const lines = pem.split('\n');
      const body = lines.slice(lines.indexOf('') + 1, -2);
      expect(body.slice(0, -1).every((l) => l.length === 64)).toBe(true);
      expect(pem.endsWith('-----END ENCRYPTED PRIVATE KEY-----\n')).toBe(true);
    }
  });

  it('writes an unencrypted PRIVATE KEY for an empty passphrase', () => {
    const key = PrivateKey.generate('ed25519');
    const pem = encodeKeyFile(key, { role: 'targets/releases', passphrase: '' });
    expect(pem.startsWith('-----BEGIN PRIVATE KEY-----\nrole: targets/releases\n\n')).toBe(true);
    expect(readKeyFileHeaders(pem)).toEqual({ role: 'targets/releases', encrypted: false });
    expect(decodeKeyFile(pem, 'ignored').key.id).toBe(key.id);
  });

  it('records GUNs only for targets/snapshot/timestamp keys (notary key store rule)', () => {
    expect(keyFileGun('root', 'g')).toBeUndefined();
    expect(keyFileGun('targets/releases', 'g')).toBeUndefined();
    expect(keyFileGun('alice', 'g')).toBeUndefined();
    expect(keyFileGun('targets', 'g')).toBe('g');
    expect(keyFileGun('snapshot', 'g')).toBe('g');
    expect(keyFileGun('targets', undefined)).toBeUndefined();
  });
});

describe('decodeKeyFile errors', () => {
  const key = PrivateKey.generate('ecdsa');
  const pem = encodeKeyFile(key, { role: 'root', passphrase: 'right-passphrase' });

  it('says WRONG_PASSPHRASE for a wrong passphrase', () => {
    for (const wrong of ['wrong-passphrase', '', 'right-passphrasE']) {
      expect(() => decodeKeyFile(pem, wrong)).toThrow(expect.objectContaining({ code: 'WRONG_PASSPHRASE' }));
    }
    expect(() => decodeKeyFile(NOTARY_ROOT_KEY, 'rootpass12')).toThrow(
      expect.objectContaining({ code: 'WRONG_PASSPHRASE' }),
    );
  });

  it('says KEY_FILE for a truncated or garbage file', () => {
    const lines = pem.split('\n');
    const truncated = [...lines.slice(0, 5), lines.at(-2), ''].join('\n');
    expect(() => decodeKeyFile(truncated, 'right-passphrase')).toThrow(
      expect.objectContaining({ code: 'KEY_FILE' }),
    );
    expect(() => decodeKeyFile(pem.slice(0, 120), 'right-passphrase')).toThrow(
      expect.objectContaining({ code: 'KEY_FILE' }),
    );
    expect(() => decodeKeyFile('hello world', 'x')).toThrow(expect.objectContaining({ code: 'KEY_FILE' }));
    expect(() =>
      decodeKeyFile('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', 'x'),
    ).toThrow(expect.objectContaining({ code: 'KEY_FILE' }));
    expect(() =>
      decodeKeyFile(
        '-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n\n!!!!\n-----END ENCRYPTED PRIVATE KEY-----\n',
        'x',
      ),
    ).toThrow(expect.objectContaining({ code: 'KEY_FILE' }));
  });
});

describe('legacy key files (still read by notary 0.7)', () => {
  function legacyEncrypt(
    type: string,
    der: Uint8Array,
    passphrase: string,
    headers: Record<string, string>,
  ): string {
    const iv = Uint8Array.from({ length: 16 }, (_, i) => i * 7 + 1);
    let derived: Uint8Array = new Uint8Array(0);
    let prev: Uint8Array = new Uint8Array(0);
    while (derived.length < 32) {
      prev = md5(concatBytes(prev, utf8(passphrase), iv.subarray(0, 8)));
      derived = concatBytes(derived, prev);
    }
    const bytes = cbc(derived.subarray(0, 32), iv).encrypt(der);
    return encodePem({
      type,
      headers: {
        'Proc-Type': '4,ENCRYPTED',
        'DEK-Info': `AES-256-CBC,${toHex(iv).toUpperCase()}`,
        ...headers,
      },
      bytes,
    });
  }

  it('reads EC PRIVATE KEY blocks, plain or with Proc-Type encryption', () => {
    const key = decodeKeyFile(NOTARY_ROOT_KEY, 'rootpass123').key;
    // The SEC1 ECPrivateKey inside notary's PKCS#8 (x509.MarshalECPrivateKey output).
    const pkcs8 = AsnConvert.parse(Buffer.from(NOTARY_ROOT_KEY_PKCS8, 'hex'), PrivateKeyInfo);
    const ecPrivateKey = new Uint8Array(pkcs8.privateKey.buffer);
    const plain = encodePem({ type: 'EC PRIVATE KEY', headers: { role: 'root' }, bytes: ecPrivateKey });
    expect(decodeKeyFile(plain, '').key.id).toBe(key.id);
    const encrypted = legacyEncrypt('EC PRIVATE KEY', ecPrivateKey, 'old-pass', {
      role: 'snapshot',
      gun: 'g/r',
    });
    expect(encrypted.split('\n').slice(1, 5)).toEqual([
      'Proc-Type: 4,ENCRYPTED',
      expect.stringMatching(/^DEK-Info: AES-256-CBC,/),
      'gun: g/r',
      'role: snapshot',
    ]);
    expect(readKeyFileHeaders(encrypted)).toEqual({ role: 'snapshot', gun: 'g/r', encrypted: true });
    expect(decodeKeyFile(encrypted, 'old-pass')).toMatchObject({ role: 'snapshot', gun: 'g/r' });
    expect(decodeKeyFile(encrypted, 'old-pass').key.id).toBe(key.id);
    expect(() => decodeKeyFile(encrypted, 'new-pass')).toThrow(
      expect.objectContaining({ code: 'WRONG_PASSPHRASE' }),
    );
  });

  it('reads ED25519 PRIVATE KEY blocks (96 raw bytes)', () => {
    const key = PrivateKey.generate('ed25519');
    const raw = concatBytes(key.publicKey().publicBytes, key.secretBytes(), key.publicKey().publicBytes);
    const pem = encodePem({ type: 'ED25519 PRIVATE KEY', headers: { role: 'timestamp' }, bytes: raw });
    expect(decodeKeyFile(pem, '').key.id).toBe(key.id);
  });

  it('refuses RSA keys clearly', () => {
    const pem = encodePem({ type: 'RSA PRIVATE KEY', headers: {}, bytes: Uint8Array.of(0x30, 0) });
    expect(() => decodeKeyFile(pem, '')).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_KEY' }));
  });
});
