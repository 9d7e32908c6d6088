import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { fromBase64, sha256, utf8 } from '../encoding/bytes.js';
import { canonicalBytes, isJsonObject, parseJson } from '../encoding/canonical-json.js';
import type { JsonValue } from '../encoding/canonical-json.js';
import { PublicKey } from './keys.js';
import type { RsaVerifier } from './signatures.js';
import { PrivateKey, parseSignatureMethod, verifySignature } from './signatures.js';
import { p256Spki } from './spki.js';
import { createRootCertificate, rootPublicKey } from './x509.js';

const VECTORS = fileURLToPath(new URL('../../../tests/vectors/notary/', import.meta.url));

function jsonFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return jsonFiles(full);
    return name.endsWith('.json') ? [full] : [];
  });
}

interface SampleSignature {
  file: string;
  key: PublicKey;
  method: string;
  message: Uint8Array;
  sig: Uint8Array;
}

/**
 * Some samples (targets_escaping.json) come without the root that holds their
 * key. An ECDSA public key can be recovered from a signature: the candidate
 * whose key ID equals `keyid` is the signer's key, which also proves the
 * message is exactly what was signed.
 */
function recoverEcdsaKey(keyid: string, message: Uint8Array, sig: Uint8Array): PublicKey | undefined {
  for (let bit = 0; bit < 4; bit++) {
    try {
      const point = p256.Signature.fromBytes(sig, 'compact')
        .addRecoveryBit(bit)
        .recoverPublicKey(sha256(message));
      const key = new PublicKey('ecdsa', p256Spki(point.toBytes(false)));
      if (key.id === keyid) return key;
    } catch {
      // not a valid recovery for this bit
    }
  }
  return undefined;
}

/** Every signature of every sample, with the key that made it (looked up across all samples). */
function sampleSignatures(): SampleSignature[] {
  const docs = jsonFiles(VECTORS).map((file) => ({ file, doc: parseJson(readFileSync(file, 'utf8')) }));
  const keys = new Map<string, PublicKey>();
  for (const { doc } of docs) {
    if (!isJsonObject(doc) || !isJsonObject(doc.signed)) continue;
    const sources = [
      doc.signed.keys,
      isJsonObject(doc.signed.delegations) ? doc.signed.delegations.keys : undefined,
    ];
    for (const source of sources) {
      if (!isJsonObject(source)) continue;
      for (const [id, json] of Object.entries(source)) keys.set(id, PublicKey.fromJSON(json));
    }
  }
  const out: SampleSignature[] = [];
  for (const { file, doc } of docs) {
    if (!isJsonObject(doc) || !Array.isArray(doc.signatures)) continue;
    // Signatures cover the raw canonical form of `signed`, not the stored (escaped) bytes.
    const message = canonicalBytes(doc.signed as JsonValue);
    for (const s of doc.signatures) {
      const { keyid, method, sig } = s as { keyid: string; method: string; sig: string };
      const key = keys.get(keyid) ?? recoverEcdsaKey(keyid, message, fromBase64(sig));
      if (!key) throw new Error(`${file}: no key ${keyid}`);
      out.push({ file: path.relative(VECTORS, file), key, method, message, sig: fromBase64(sig) });
    }
  }
  return out;
}

const N = p256.Point.CURVE().n;

function toBytes32(n: bigint): Uint8Array {
  return Uint8Array.from(Buffer.from(n.toString(16).padStart(64, '0'), 'hex'));
}

function highS(sig: Uint8Array): Uint8Array {
  const s = BigInt('0x' + Buffer.from(sig.subarray(32)).toString('hex'));
  const out = Uint8Array.from(sig);
  out.set(toBytes32(N - s), 32);
  return out;
}

describe('verifySignature on real notary/docker samples', () => {
  const samples = sampleSignatures();

  it('verifies every signature in every sample', () => {
    expect(samples.length).toBeGreaterThanOrEqual(30);
    const methods = new Set<string>();
    for (const s of samples) {
      methods.add(s.method);
      expect(verifySignature(s.key, s.method, s.message, s.sig), `${s.file} ${s.key.id}`).toBe(true);
    }
    expect([...methods].sort()).toEqual(['ecdsa', 'eddsa']);
  });

  it('covers the escaping sample, whose stored bytes differ from the signed bytes', () => {
    const escaping = samples.filter((s) => s.file === 'targets_escaping.json');
    expect(escaping.length).toBeGreaterThan(0);
    const stored = readFileSync(path.join(VECTORS, 'targets_escaping.json'), 'utf8');
    expect(stored).toContain('x\\u003cy\\u0026z\\u003e');
    for (const s of escaping) expect(verifySignature(s.key, s.method, s.message, s.sig)).toBe(true);
  });

  it('fails when one bit of the signature or the message flips', () => {
    for (const s of samples) {
      const sig = Uint8Array.from(s.sig);
      sig[sig.length - 1]! ^= 1;
      expect(verifySignature(s.key, s.method, s.message, sig)).toBe(false);
      const message = Uint8Array.from(s.message);
      message[10]! ^= 0x80;
      expect(verifySignature(s.key, s.method, message, s.sig)).toBe(false);
    }
  });

  it('accepts the high-S twin of an ECDSA signature, as Go does', () => {
    const ecdsa = samples.filter((s) => s.method === 'ecdsa');
    expect(ecdsa.length).toBeGreaterThan(0);
    for (const s of ecdsa) expect(verifySignature(s.key, s.method, s.message, highS(s.sig))).toBe(true);
  });

  it('refuses 65-byte and DER ECDSA signatures (notary 0.7 wants exactly r‖s)', () => {
    const s = samples.find((x) => x.method === 'ecdsa' && x.key.keytype === 'ecdsa')!;
    const der = p256.Signature.fromBytes(s.sig, 'compact').toBytes('der');
    expect(verifySignature(s.key, 'ecdsa', s.message, der)).toBe(false);
    expect(verifySignature(s.key, 'ecdsa', s.message, Uint8Array.of(...s.sig, 0))).toBe(false);
    expect(verifySignature(s.key, 'ecdsa', s.message, Uint8Array.of(0, ...s.sig))).toBe(false);
    expect(verifySignature(s.key, 'ecdsa', s.message, s.sig.subarray(0, 63))).toBe(false);
  });

  it('lower-cases the method, and requires it to fit the key type', () => {
    const ec = samples.find((x) => x.method === 'ecdsa')!;
    const ed = samples.find((x) => x.method === 'eddsa')!;
    expect(verifySignature(ec.key, 'ECDSA', ec.message, ec.sig)).toBe(true);
    expect(verifySignature(ed.key, 'EdDSA', ed.message, ed.sig)).toBe(true);
    expect(verifySignature(ec.key, 'eddsa', ec.message, ec.sig)).toBe(false);
    expect(verifySignature(ed.key, 'ecdsa', ed.message, ed.sig)).toBe(false);
    expect(verifySignature(ec.key, 'rsapss', ec.message, ec.sig)).toBe(false);
    expect(verifySignature(ec.key, 'hmac', ec.message, ec.sig)).toBe(false);
    expect(parseSignatureMethod('PyCrypto-PKCS#1 PSS')).toBe('pycrypto-pkcs#1 pss');
  });

  it('never verifies with an unknown key type', () => {
    const ec = samples.find((x) => x.method === 'ecdsa' && x.key.keytype === 'ecdsa')!;
    const opaque = new PublicKey('ecdsa-future', ec.key.publicBytes);
    expect(verifySignature(opaque, 'ecdsa', ec.message, ec.sig)).toBe(false);
  });
});

describe('PrivateKey', () => {
  const message = utf8('{"signed":"anything"}');

  it('signs and verifies with ecdsa: 64-byte r‖s, DER SPKI public key', () => {
    const key = PrivateKey.generate('ecdsa');
    const sig = key.sign(message);
    expect(sig.length).toBe(64);
    expect(key.method).toBe('ecdsa');
    const pub = key.publicKey();
    expect(pub.keytype).toBe('ecdsa');
    expect(pub.publicBytes.length).toBe(91);
    expect(Buffer.from(pub.publicBytes.subarray(0, 27)).toString('base64')).toBe(
      'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE',
    );
    expect(verifySignature(pub, 'ecdsa', message, sig)).toBe(true);
    expect(key.id).toBe(pub.id);
  });

  it('signs and verifies with ed25519 (raw 32-byte public key, method eddsa)', () => {
    const key = PrivateKey.generate('ed25519');
    const sig = key.sign(message);
    expect(sig.length).toBe(64);
    expect(key.method).toBe('eddsa');
    expect(key.publicKey().publicBytes.length).toBe(32);
    expect(verifySignature(key.publicKey(), 'eddsa', message, sig)).toBe(true);
  });

  it('round-trips through its secret bytes', () => {
    for (const type of ['ecdsa', 'ed25519'] as const) {
      const key = PrivateKey.generate(type);
      expect(PrivateKey.fromSecretBytes(type, key.secretBytes()).id).toBe(key.id);
    }
    expect(() => PrivateKey.fromSecretBytes('ecdsa', new Uint8Array(32))).toThrow(
      expect.objectContaining({ code: 'BAD_KEY' }),
    );
    expect(() => PrivateKey.generate('rsa' as 'ecdsa')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_KEY' }),
    );
  });

  it('gives async signers, with an ecdsa-x509 override for root keys', async () => {
    const key = PrivateKey.generate('ecdsa');
    const cert = rootPublicKey(createRootCertificate(key, 'example.com/test/repo', { now: new Date() }));
    const signer = key.signer(cert);
    expect(signer.publicKey.id).toBe(cert.id);
    expect(signer.method).toBe('ecdsa');
    const sig = await signer.sign(message);
    expect(verifySignature(cert, 'ecdsa', message, sig)).toBe(true);
    expect(key.signer().publicKey.id).toBe(key.id);
    const other = PrivateKey.generate('ecdsa');
    expect(() => other.signer(cert)).toThrow(expect.objectContaining({ code: 'BAD_KEY' }));
  });
});

describe('RSA through RsaVerifier', () => {
  // A 2048-bit RSA SPKI (modulus bytes are arbitrary: the stub does the arithmetic).
  const modulus = Uint8Array.from({ length: 256 }, (_, i) => (i === 0 ? 0xc3 : i));
  function rsaSpki(): Uint8Array {
    const n = Uint8Array.of(0x02, 0x82, 0x01, 0x01, 0x00, ...modulus);
    const e = Uint8Array.of(0x02, 0x03, 0x01, 0x00, 0x01);
    const rsaKey = Uint8Array.of(0x30, 0x82, 0x01, 0x0a, ...n, ...e);
    const bit = Uint8Array.of(0x03, 0x82, 0x01, 0x0f, 0x00, ...rsaKey);
    const alg = Uint8Array.of(
      0x30,
      0x0d,
      0x06,
      0x09,
      0x2a,
      0x86,
      0x48,
      0x86,
      0xf7,
      0x0d,
      0x01,
      0x01,
      0x01,
      0x05,
      0x00,
    );
    const body = Uint8Array.of(...alg, ...bit);
    return Uint8Array.of(0x30, 0x82, body.length >> 8, body.length & 0xff, ...body);
  }
  const calls: string[] = [];
  const stub: RsaVerifier = {
    verify(method, spki, _message, signature) {
      calls.push(method);
      return spki.length > 0 && signature[0] === 1;
    },
  };

  it('hands rsa keys to the verifier with the SPKI, after notary’s size checks', () => {
    const key = new PublicKey('rsa', rsaSpki());
    const good = new Uint8Array(256).fill(1);
    expect(verifySignature(key, 'rsapss', utf8('m'), good, { rsa: stub })).toBe(true);
    expect(verifySignature(key, 'RSAPKCS1V15', utf8('m'), good, { rsa: stub })).toBe(true);
    expect(verifySignature(key, 'rsapss', utf8('m'), new Uint8Array(255).fill(1), { rsa: stub })).toBe(false);
    expect(calls).toEqual(['rsapss', 'rsapkcs1v15']);
    expect(verifySignature(key, 'eddsa', utf8('m'), good, { rsa: stub })).toBe(false);
    expect(() => verifySignature(key, 'rsapss', utf8('m'), good)).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_KEY' }),
    );
  });

  it('reads the pycrypto method’s key as PEM text, as notary does', () => {
    const pemText = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(rsaSpki()).toString('base64')}\n-----END PUBLIC KEY-----\n`;
    const key = new PublicKey('rsa', utf8(pemText));
    expect(
      verifySignature(key, 'pycrypto-pkcs#1 pss', utf8('m'), new Uint8Array(256).fill(1), { rsa: stub }),
    ).toBe(true);
  });
});
