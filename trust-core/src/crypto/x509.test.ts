import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { describe, expect, it, vi } from 'vitest';
import { fromBase64, fromUtf8 } from '../encoding/bytes.js';
import { parseJson } from '../encoding/canonical-json.js';
import type { JsonValue } from '../encoding/canonical-json.js';
import { PublicKey } from './keys.js';
import { PrivateKey, verifySignature } from './signatures.js';
import {
  buildRootTbs,
  checkRootCertificate,
  createRootCertificate,
  createRootCertificateWith,
  matchCommonNameToGun,
  parseCertificate,
  rootPublicKey,
} from './x509.js';

const vector = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../../../tests/vectors/notary/${name}`, import.meta.url)), 'utf8');

const SAMPLE_PEM = vector('root-cert.pem');
const SAMPLE_CERT_ID = '19faddaa9281c3808d712f26693032b3a24293adc38f2f830abb12162bc50480';
const DAY = 24 * 60 * 60 * 1000;

function tbsAndSerial(der: Uint8Array): { tbs: Uint8Array; serial: Uint8Array } {
  // The TBS bytes exactly as found in the certificate, not re-encoded.
  const cert = AsnConvert.parse(der, Certificate);
  return {
    tbs: new Uint8Array(cert.tbsCertificateRaw!),
    serial: new Uint8Array(cert.tbsCertificate.serialNumber),
  };
}

describe('parseCertificate', () => {
  it('reads the real notary root certificate', () => {
    const cert = parseCertificate(SAMPLE_PEM);
    expect(cert.commonName).toBe('example.com/test/repo');
    expect(cert.notBefore.toISOString()).toBe('2026-11-26T12:40:25.000Z');
    expect(cert.notAfter.toISOString()).toBe('2036-11-23T12:40:25.000Z');
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(3650 * DAY);
    expect(cert.isCA).toBe(false);
    expect(cert.signatureAlgorithm).toBe('ecdsa-with-SHA256');
    expect(cert.publicKeyType).toBe('ecdsa');
    expect(cert.rsaBits).toBeUndefined();
    expect(new PublicKey('ecdsa', cert.spkiDer).id).toBe(
      'c9df48575526ebd972ac41e79b90d9ed0663f53a39b62c2fe62aa24540b7a3f7',
    );
  });

  it('refuses things that are not certificates', () => {
    expect(() => parseCertificate('hello')).toThrow(expect.objectContaining({ code: 'BAD_CERTIFICATE' }));
    expect(() => parseCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')).toThrow(
      expect.objectContaining({ code: 'BAD_CERTIFICATE' }),
    );
  });
});

describe('rootPublicKey', () => {
  it('reproduces the sample root key: public = the PEM text, trailing newline included', () => {
    const root = parseJson(vector('root.json')) as { signed: { keys: Record<string, JsonValue> } };
    const sampleKey = root.signed.keys[SAMPLE_CERT_ID] as { keyval: { public: string } };
    expect(fromUtf8(fromBase64(sampleKey.keyval.public))).toBe(SAMPLE_PEM);
    const key = rootPublicKey(SAMPLE_PEM);
    expect(key.keytype).toBe('ecdsa-x509');
    expect(key.id).toBe(SAMPLE_CERT_ID);
    expect(fromUtf8(key.publicBytes).endsWith('-----END CERTIFICATE-----\n')).toBe(true);
  });
});

describe('createRootCertificate', () => {
  it('builds the TBSCertificate byte for byte like the real notary sample', () => {
    const sample = parseCertificate(SAMPLE_PEM);
    const { tbs, serial } = tbsAndSerial(sample.der);
    const mine = buildRootTbs({
      spkiDer: sample.spkiDer,
      commonName: sample.commonName,
      serial,
      notBefore: sample.notBefore,
      notAfter: sample.notAfter,
    });
    expect(Buffer.from(mine).toString('hex')).toBe(Buffer.from(tbs).toString('hex'));
  });

  it('makes a self-signed, verifiable certificate with notary’s fields', () => {
    const key = PrivateKey.generate('ecdsa');
    const now = new Date('2027-03-04T05:06:07.891Z');
    const pem = createRootCertificate(key, 'localhost:5000/test/app', { now });
    expect(pem).toMatch(
      /^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{64}\n)+[A-Za-z0-9+/=]{1,64}\n-----END CERTIFICATE-----\n$/,
    );
    const cert = parseCertificate(pem);
    expect(cert.commonName).toBe('localhost:5000/test/app');
    expect(cert.notBefore.toISOString()).toBe('2027-03-04T05:06:07.000Z');
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(3650 * DAY);
    expect(cert.isCA).toBe(false);
    expect(cert.signatureAlgorithm).toBe('ecdsa-with-SHA256');
    // The certificate key's canonical ID is the private key's ID.
    expect(rootPublicKey(pem).canonicalId()).toBe(key.id);
    // Self-signed: the DER signature over the TBS verifies with the key.
    const { tbs } = tbsAndSerial(cert.der);
    const sigBits = new Uint8Array(AsnConvert.parse(cert.der, Certificate).signatureValue);
    const compact = p256.Signature.fromBytes(sigBits, 'der').toBytes('compact');
    expect(verifySignature(key.publicKey(), 'ecdsa', tbs, compact)).toBe(true);
    // Positive serial below 2^128 (at most 16 magnitude bytes).
    const { serial } = tbsAndSerial(cert.der);
    expect(serial.length).toBeLessThanOrEqual(17);
    expect(serial[0]! & 0x80).toBe(0);
  });

  it('uses PrintableString when Go would, UTF8String otherwise', () => {
    const key = PrivateKey.generate('ecdsa');
    const now = new Date();
    const printable = parseCertificate(createRootCertificate(key, 'example.com/a-b/c', { now })).der;
    const utf8 = parseCertificate(createRootCertificate(key, 'docker.io/library/my_repo', { now })).der;
    // 0x13 = PrintableString, 0x0c = UTF8String, right after the CN OID 2.5.4.3.
    expect(Buffer.from(printable).includes(Buffer.from('06035504031311', 'hex'))).toBe(true);
    expect(Buffer.from(utf8).includes(Buffer.from('0603550403', 'hex'))).toBe(true);
    expect(Buffer.from(utf8).includes(Buffer.from('06035504030c19', 'hex'))).toBe(true);
    expect(parseCertificate(utf8).commonName).toBe('docker.io/library/my_repo');
  });

  it('honours validityDays and refuses ed25519 keys', () => {
    const now = new Date();
    const cert = parseCertificate(
      createRootCertificate(PrivateKey.generate('ecdsa'), 'g', { now, validityDays: 1 }),
    );
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(DAY);
    expect(() => createRootCertificate(PrivateKey.generate('ed25519'), 'g', { now })).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_KEY' }),
    );
  });
});

describe('createRootCertificateWith (a token signs)', () => {
  const key = PrivateKey.generate('ecdsa');
  const spki = key.publicKey().publicBytes;
  const gun = 'docker.io/alice/alpine';
  const now = new Date('2027-01-02T03:04:05Z');

  it('makes the same certificate as with the key in hand, signed by the callback over the TBS', async () => {
    const seen: Uint8Array[] = [];
    const pem = await createRootCertificateWith(
      spki,
      (tbs) => {
        seen.push(tbs);
        return Promise.resolve(key.sign(tbs));
      },
      gun,
      { now },
    );
    const cert = parseCertificate(pem);
    expect(cert.commonName).toBe(gun);
    expect(rootPublicKey(pem).canonicalId()).toBe(key.id);
    expect(Buffer.from(seen[0]!).equals(Buffer.from(tbsAndSerial(cert.der).tbs))).toBe(true);
  });

  it('takes a high-S signature, as a token may make and Go accepts', async () => {
    const pem = await createRootCertificateWith(
      spki,
      (tbs) => {
        const low = p256.Signature.fromBytes(key.sign(tbs), 'compact');
        const high = new p256.Signature(low.r, p256.Point.CURVE().n - low.s);
        return Promise.resolve(high.toBytes('compact'));
      },
      gun,
      { now },
    );
    expect(parseCertificate(pem).commonName).toBe(gun);
  });

  it('refuses a signature that does not verify, and a key that is not P-256 ecdsa', async () => {
    const other = PrivateKey.generate('ecdsa');
    await expect(
      createRootCertificateWith(spki, (tbs) => Promise.resolve(other.sign(tbs)), gun, { now }),
    ).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    await expect(
      createRootCertificateWith(spki, () => Promise.resolve(new Uint8Array(63)), gun, { now }),
    ).rejects.toMatchObject({ code: 'BAD_SIGNATURE' });
    // A key that is not P-256 is refused before the token is asked: a signature costs a touch.
    const ed = PrivateKey.generate('ed25519');
    // RFC 8410: the SubjectPublicKeyInfo of an Ed25519 key.
    const edSpki = Buffer.concat([
      Buffer.from('302a300506032b6570032100', 'hex'),
      ed.publicKey().publicBytes,
    ]);
    const sign = vi.fn(() => Promise.resolve(new Uint8Array(64)));
    await expect(createRootCertificateWith(edSpki, sign, gun, { now })).rejects.toMatchObject({
      code: 'UNSUPPORTED_KEY',
    });
    expect(sign).not.toHaveBeenCalled();
  });
});

describe('checkRootCertificate (notary trustpinning/certs.go rules)', () => {
  const key = PrivateKey.generate('ecdsa');
  const issued = new Date('2030-01-01T00:00:00Z');
  const cert = parseCertificate(createRootCertificate(key, 'example.com/test/repo', { now: issued }));
  const bad = expect.objectContaining({ code: 'BAD_CERTIFICATE' });

  it('accepts a fresh certificate for its GUN', () => {
    expect(checkRootCertificate(cert, 'example.com/test/repo', new Date(issued.getTime() + DAY))).toEqual({
      nearExpiry: false,
    });
  });

  it('requires the CN to match the GUN, or a prefix* wildcard', () => {
    expect(() => checkRootCertificate(cert, 'example.com/test/other', issued)).toThrow(bad);
    expect(matchCommonNameToGun('example.com/test/*', 'example.com/test/repo')).toBe(true);
    expect(matchCommonNameToGun('example.com/test/**', 'example.com/test/repo')).toBe(true);
    expect(matchCommonNameToGun('example.com/prod/*', 'example.com/test/repo')).toBe(false);
    expect(matchCommonNameToGun('example.com/test/rep', 'example.com/test/repo')).toBe(false);
    const wildcard = parseCertificate(createRootCertificate(key, 'example.com/*', { now: issued }));
    expect(() => checkRootCertificate(wildcard, 'example.com/test/repo', issued)).not.toThrow();
  });

  it('tolerates NotBefore up to one day ahead, and refuses expired certificates', () => {
    expect(() =>
      checkRootCertificate(cert, 'example.com/test/repo', new Date(issued.getTime() - DAY + 1000)),
    ).not.toThrow();
    expect(() =>
      checkRootCertificate(cert, 'example.com/test/repo', new Date(issued.getTime() - DAY - 1000)),
    ).toThrow(bad);
    const expiry = cert.notAfter.getTime();
    expect(checkRootCertificate(cert, 'example.com/test/repo', new Date(expiry - 30 * DAY)).nearExpiry).toBe(
      true,
    );
    expect(() => checkRootCertificate(cert, 'example.com/test/repo', new Date(expiry + 1000))).toThrow(bad);
  });

  it('refuses SHA-1 signatures, short RSA keys and CA certificates', () => {
    const gun = 'example.com/test/repo';
    expect(() =>
      checkRootCertificate({ ...cert, signatureAlgorithm: 'ecdsa-with-SHA1' }, gun, issued),
    ).toThrow(bad);
    expect(() =>
      checkRootCertificate({ ...cert, signatureAlgorithm: 'sha1WithRSAEncryption' }, gun, issued),
    ).toThrow(bad);
    expect(() => checkRootCertificate({ ...cert, publicKeyType: 'rsa', rsaBits: 1024 }, gun, issued)).toThrow(
      bad,
    );
    expect(() =>
      checkRootCertificate({ ...cert, publicKeyType: 'rsa', rsaBits: 2048 }, gun, issued),
    ).not.toThrow();
    expect(() => checkRootCertificate({ ...cert, isCA: true }, gun, issued)).toThrow(bad);
  });

  it('accepts the real sample certificate during its validity', () => {
    const sample = parseCertificate(SAMPLE_PEM);
    expect(() =>
      checkRootCertificate(sample, 'example.com/test/repo', new Date('2027-01-01T00:00:00Z')),
    ).not.toThrow();
  });
});
