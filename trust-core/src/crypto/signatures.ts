/**
 * Signing and signature verification as notary 0.7 does it
 * (notary tuf/signed/verifiers.go, tuf/data/keys.go).
 *
 * - `ecdsa`: SHA-256 of the message, signature is raw r‖s with each half
 *   padded to the curve size (64 bytes for P-256). notary 0.7's verifier only
 *   takes that fixed length (no ASN.1/DER form) and, being Go's
 *   ecdsa.Verify, accepts high-S values, so we must too.
 * - `eddsa`: plain Ed25519 over the message; only `ed25519` keys.
 * - `rsapss` (PSS, SHA-256, MGF1-SHA-256, salt 32), `rsapkcs1v15` and
 *   `pycrypto-pkcs#1 pss`: RSA keys of at least 2048 bits. RSA arithmetic
 *   is not in the portable core; it comes in through an `RsaVerifier`
 *   (trust-core/src/node/rsa-verifier.ts). notary cannot create RSA keys, so
 *   neither can we.
 * Each method only verifies the key types notary's verifier accepts for it.
 * `method` is compared lower-cased, as notary lower-cases it when parsing.
 *
 * Private keys are the two notary clients create: ECDSA P-256 and Ed25519.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { KeyError } from '../errors.js';
import { fromUtf8, sha256 } from '../encoding/bytes.js';
import { PublicKey, firstCertificateDer } from './keys.js';
import { decodePem } from './pem.js';
import type { EcCurve } from './spki.js';
import { certificateSpki, p256Spki, parseSpki } from './spki.js';

export type SignatureMethod = 'ecdsa' | 'eddsa' | 'rsapss' | 'rsapkcs1v15' | 'pycrypto-pkcs#1 pss';

export const SIGNATURE_METHODS: readonly SignatureMethod[] = [
  'ecdsa',
  'eddsa',
  'rsapss',
  'rsapkcs1v15',
  'pycrypto-pkcs#1 pss',
];

export type RsaSignatureMethod = 'rsapss' | 'rsapkcs1v15' | 'pycrypto-pkcs#1 pss';

/** notary parses `method` case-insensitively (it lower-cases it). Unknown methods give undefined. */
export function parseSignatureMethod(method: string): SignatureMethod | undefined {
  const lower = method.toLowerCase();
  return (SIGNATURE_METHODS as readonly string[]).includes(lower) ? (lower as SignatureMethod) : undefined;
}

/**
 * RSA verification, supplied by the host (node:crypto in trust-core/src/node).
 * Must implement: `rsapss` and `pycrypto-pkcs#1 pss` = RSASSA-PSS, SHA-256,
 * MGF1-SHA-256, salt length 32; `rsapkcs1v15` = PKCS#1 v1.5 with SHA-256.
 * Key size and signature length are already checked by verifySignature.
 */
export interface RsaVerifier {
  verify(
    method: RsaSignatureMethod,
    spkiDer: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): boolean;
}

export interface VerifyOptions {
  rsa?: RsaVerifier;
}

// notary tuf/signed/verifiers.go minRSAKeySizeBit / minRSAKeySizeByte.
const MIN_RSA_BITS = 2048;
const MIN_RSA_SIG_BYTES = MIN_RSA_BITS / 8;

const EC_CURVES = { 'P-256': p256, 'P-384': p384, 'P-521': p521 } as const;
const EC_COORDINATE_BYTES: Record<EcCurve, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };

/** The SPKI DER behind a plain or x509 key (undefined when it cannot be read). */
function spkiOf(key: PublicKey): Uint8Array | undefined {
  try {
    if (key.keytype === 'ecdsa' || key.keytype === 'rsa') return key.publicBytes;
    return certificateSpki(firstCertificateDer(key.publicBytes));
  } catch {
    return undefined;
  }
}

function verifyEcdsa(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (key.keytype !== 'ecdsa' && key.keytype !== 'ecdsa-x509') return false;
  const spki = spkiOf(key);
  if (!spki) return false;
  let info;
  try {
    info = parseSpki(spki);
  } catch {
    return false;
  }
  if (info.kind !== 'ecdsa') return false;
  // notary 0.7: expectedOctetLength = 2 * ((bitSize + 7) >> 3); anything else (DER included) fails.
  if (signature.length !== 2 * EC_COORDINATE_BYTES[info.curve]) return false;
  try {
    // Go's ecdsa.Verify has no low-S rule and notary hashes with SHA-256 whatever the curve.
    return EC_CURVES[info.curve].verify(signature, sha256(message), info.point, {
      prehash: false,
      lowS: false,
      format: 'compact',
    });
  } catch {
    return false;
  }
}

function verifyEd25519(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (key.keytype !== 'ed25519' || key.publicBytes.length !== 32 || signature.length !== 64) return false;
  try {
    // zip215: false = RFC 8032 strict checks, which is closest to Go's crypto/ed25519.
    return ed25519.verify(signature, message, key.publicBytes, { zip215: false });
  } catch {
    return false;
  }
}

function verifyRsa(
  method: RsaSignatureMethod,
  key: PublicKey,
  message: Uint8Array,
  signature: Uint8Array,
  rsa: RsaVerifier | undefined,
): boolean {
  let spki: Uint8Array | undefined;
  if (method === 'pycrypto-pkcs#1 pss') {
    // notary RSAPyCryptoVerifier: only `rsa` keys, whose `public` it reads as PEM.
    if (key.keytype !== 'rsa') return false;
    try {
      spki = decodePem(fromUtf8(key.publicBytes)).bytes;
    } catch {
      return false;
    }
  } else {
    if (key.keytype !== 'rsa' && key.keytype !== 'rsa-x509') return false;
    spki = spkiOf(key);
  }
  if (!spki) return false;
  let info;
  try {
    info = parseSpki(spki);
  } catch {
    return false;
  }
  if (info.kind !== 'rsa' || info.modulusBits < MIN_RSA_BITS || signature.length < MIN_RSA_SIG_BYTES)
    return false;
  if (!rsa) {
    throw new KeyError('UNSUPPORTED_KEY', `verifying ${method} signatures needs an RSA verifier`, {
      suggestion: 'Pass { rsa: nodeRsaVerifier } (trust-core/src/node) to verifySignature.',
    });
  }
  try {
    return rsa.verify(method, spki, message, signature);
  } catch {
    return false;
  }
}

/**
 * Verify `signature` over `message` (the canonical bytes of `signed`) with `key`.
 * Returns false for any bad data: wrong method for the key type, wrong length,
 * unreadable key, unknown key type or method, failed check. Throws only when
 * an RSA signature must be checked and no `options.rsa` was given.
 */
export function verifySignature(
  key: PublicKey,
  method: string,
  message: Uint8Array,
  signature: Uint8Array,
  options: VerifyOptions = {},
): boolean {
  const parsed = parseSignatureMethod(method);
  if (parsed === undefined || !key.isKnownType) return false;
  switch (parsed) {
    case 'ecdsa':
      return verifyEcdsa(key, message, signature);
    case 'eddsa':
      return verifyEd25519(key, message, signature);
    default:
      return verifyRsa(parsed, key, message, signature, options.rsa);
  }
}

/**
 * Something that can sign metadata. Async so a hardware token (YubiKey via
 * PKCS#11, a remote signer) can implement it too.
 */
export interface Signer {
  /** The key that goes into metadata and whose ID goes into `keyid` (an x509 key for root). */
  readonly publicKey: PublicKey;
  readonly method: SignatureMethod;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export type PrivateKeyType = 'ecdsa' | 'ed25519';

/** An ECDSA P-256 or Ed25519 private key (the key types notary clients and servers create). */
export class PrivateKey {
  readonly keytype: PrivateKeyType;
  readonly #secret: Uint8Array;
  #public: PublicKey | undefined;

  private constructor(keytype: PrivateKeyType, secret: Uint8Array) {
    this.keytype = keytype;
    this.#secret = secret;
  }

  /** A fresh random key (notary client keys are `ecdsa`; server-held keys are `ed25519`). */
  static generate(type: PrivateKeyType = 'ecdsa'): PrivateKey {
    if (type === 'ecdsa') return new PrivateKey('ecdsa', p256.utils.randomSecretKey());
    if (type === 'ed25519') return new PrivateKey('ed25519', ed25519.utils.randomSecretKey());
    throw new KeyError('UNSUPPORTED_KEY', `cannot generate ${String(type)} keys`, {
      suggestion: 'notary generates ecdsa keys (and ed25519 on the server).',
    });
  }

  /**
   * Rebuild a key from its secret: the 32-byte big-endian P-256 scalar, or the
   * 32-byte Ed25519 seed. Throws KeyError('BAD_KEY') for anything else.
   */
  static fromSecretBytes(type: PrivateKeyType, secret: Uint8Array): PrivateKey {
    if (type === 'ecdsa') {
      if (secret.length !== 32 || !p256.utils.isValidSecretKey(secret)) {
        throw new KeyError('BAD_KEY', 'invalid P-256 private key');
      }
    } else if (type === 'ed25519') {
      if (secret.length !== 32) throw new KeyError('BAD_KEY', 'an ed25519 seed is 32 bytes');
    } else {
      throw new KeyError('UNSUPPORTED_KEY', `unsupported private key type ${String(type)}`);
    }
    return new PrivateKey(type, Uint8Array.from(secret));
  }

  /** The P-256 scalar or the Ed25519 seed (a copy), for writing key files. */
  secretBytes(): Uint8Array {
    return Uint8Array.from(this.#secret);
  }

  /** The signature method notary writes for this key type. */
  get method(): SignatureMethod {
    return this.keytype === 'ecdsa' ? 'ecdsa' : 'eddsa';
  }

  /** ecdsa: DER SPKI of the uncompressed point (as Go's MarshalPKIXPublicKey); ed25519: raw 32 bytes. */
  publicKey(): PublicKey {
    if (!this.#public) {
      this.#public =
        this.keytype === 'ecdsa'
          ? new PublicKey('ecdsa', p256Spki(p256.getPublicKey(this.#secret, false)))
          : new PublicKey('ed25519', ed25519.getPublicKey(this.#secret));
    }
    return this.#public;
  }

  /** The key ID (plain keys: ID and canonical ID are the same). */
  get id(): string {
    return this.publicKey().id;
  }

  /** ecdsa: SHA-256 then raw r‖s (64 bytes, low-S); ed25519: 64-byte Ed25519 signature. */
  sign(message: Uint8Array): Uint8Array {
    if (this.keytype === 'ecdsa') {
      return p256.sign(sha256(message), this.#secret, { prehash: false, lowS: true, format: 'compact' });
    }
    return ed25519.sign(message, this.#secret);
  }

  /**
   * A Signer for this key. `publicKeyOverride` is for root keys, whose
   * metadata key is the `ecdsa-x509` certificate key: it must carry this
   * key's public key (same canonical ID), otherwise KeyError('BAD_KEY').
   */
  signer(publicKeyOverride?: PublicKey): Signer {
    const publicKey = publicKeyOverride ?? this.publicKey();
    if (publicKeyOverride) {
      let canonical: string | undefined;
      try {
        canonical = publicKeyOverride.canonicalId();
      } catch {
        canonical = undefined;
      }
      if (canonical !== this.id) {
        throw new KeyError(
          'BAD_KEY',
          `public key ${publicKeyOverride.id} does not belong to private key ${this.id}`,
        );
      }
    }
    const method = this.method;
    return {
      publicKey,
      method,
      sign: (message: Uint8Array) => Promise.resolve(this.sign(message)),
    };
  }
}
