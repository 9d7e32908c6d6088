/**
 * Private key files exactly as notary 0.7 writes and reads them
 * (notary tuf/utils/pkcs8.go, tuf/utils/x509.go, storage/filestore.go).
 *
 * Written form: a PEM block `ENCRYPTED PRIVATE KEY` with headers `gun:` (only
 * when there is one) and `role:`, holding a PKCS#8 EncryptedPrivateKeyInfo:
 * PBES2 with PBKDF2 (HMAC-SHA1, 8-byte salt, 2048 iterations, 32-byte key)
 * and AES-256-CBC (16-byte IV, PKCS#7 padding). With an empty passphrase the
 * block is an unencrypted `PRIVATE KEY`.
 *
 * Inner PrivateKeyInfo (notary tuf/utils/pkcs8.go convertTUFKeyToPKCS8,
 * confirmed by decrypting a key the real notary 0.7.0 binary generated; note
 * that `openssl pkcs8` re-encodes the key, so look at the raw plaintext):
 * - ecdsa: version **1** (notary's own comment: "openssl set to v1 even
 *   publicKey is present"), AlgorithmIdentifier {ecPublicKey, prime256v1},
 *   and notary's stored SEC1 ECPrivateKey as Go's x509.MarshalECPrivateKey
 *   writes it: {1, d (32 bytes), [0] prime256v1, [1] uncompressed point};
 * - ed25519: version 0, AlgorithmIdentifier {1.3.6.1.4.1.11591.15.1} without
 *   parameters, and 96 raw bytes: public key ‖ Go ed25519.PrivateKey, where
 *   Go's private key is seed ‖ public key. So the bytes are pub ‖ seed ‖ pub
 *   (notary tuf/utils GenerateED25519Key / ED25519ToPrivateKey).
 * Reading also accepts the legacy blocks older notary releases wrote
 * (`EC PRIVATE KEY`, `ED25519 PRIVATE KEY`, optionally encrypted with the
 * OpenSSL `Proc-Type`/`DEK-Info` scheme), which notary 0.7 still reads.
 */
import { cbc } from '@noble/ciphers/aes.js';
import { p256 } from '@noble/curves/nist.js';
import { md5, sha1 } from '@noble/hashes/legacy.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import {
  EncryptedData,
  EncryptedPrivateKeyInfo,
  PrivateKey as Pkcs8PrivateKey,
  PrivateKeyInfo,
  Version,
} from '@peculiar/asn1-pkcs8';
import { ECParameters, ECPrivateKey } from '@peculiar/asn1-ecc';
import { KeyError } from '../errors.js';
import { bytesEqual, concatBytes, fromHex, utf8 } from '../encoding/bytes.js';
import { Asn1Error, OID, Pbes2Params, Pbkdf2Params, derOf, parseDer, toBuffer } from './asn1.js';
import type { PemBlock } from './pem.js';
import { encodePem } from './pem.js';
import { PrivateKey } from './signatures.js';
import { blockOf, ENCRYPTED_TYPE, isLegacyEncrypted, keyFileError } from './key-file-headers.js';

export { keyFileGun, readKeyFileHeaders } from './key-file-headers.js';
export type { KeyFileHeaders } from './key-file-headers.js';

/** notary tuf/utils/pkcs8.go: fixed parameters of the key file encryption. */
export const KEY_FILE_PBKDF2_ITERATIONS = 2048;
const SALT_BYTES = 8;
const IV_BYTES = 16;
const AES_KEY_BYTES = 32;
/** Refuse absurd iteration counts from a hostile file rather than hang. */
const MAX_PBKDF2_ITERATIONS = 10_000_000;

const PLAIN_TYPE = 'PRIVATE KEY';
const LEGACY_EC_TYPE = 'EC PRIVATE KEY';
const LEGACY_ED25519_TYPE = 'ED25519 PRIVATE KEY';
const LEGACY_RSA_TYPE = 'RSA PRIVATE KEY';

export interface KeyFileOptions {
  role: string;
  gun?: string;
  passphrase: string;
  /** Source of salt and IV; only for reproducible tests. */
  randomBytes?: (length: number) => Uint8Array;
}

export interface DecodedKeyFile {
  key: PrivateKey;
  role: string;
  gun?: string;
}

function wrongPassphrase(cause?: unknown): KeyError {
  return new KeyError('WRONG_PASSPHRASE', 'could not decrypt the private key: the passphrase is incorrect', {
    cause,
    suggestion: 'Check the passphrase for this key (root and repository keys usually have different ones).',
  });
}

// ---- inner PKCS#8 ----

function ed25519Bytes96(key: PrivateKey): Uint8Array {
  const seed = key.secretBytes();
  const pub = key.publicKey().publicBytes;
  return concatBytes(pub, seed, pub);
}

function algorithm(oid: string, parameters?: Uint8Array): AlgorithmIdentifier {
  const out = new AlgorithmIdentifier({ algorithm: oid });
  // Absent, not NULL, when there are none: notary's Ed25519 AlgorithmIdentifier and PBES2 write none.
  if (parameters) out.parameters = toBuffer(parameters);
  return out;
}

/** Unencrypted PKCS#8 PrivateKeyInfo, byte for byte as notary 0.7 writes it. */
export function privateKeyInfo(key: PrivateKey): Uint8Array {
  if (key.keytype === 'ecdsa') {
    const prime256v1 = new ECParameters({ namedCurve: OID.prime256v1 });
    // Go's x509.MarshalECPrivateKey: version 1, d, [0] named curve, [1] uncompressed point.
    const ecPrivateKey = new ECPrivateKey({
      version: 1,
      privateKey: new OctetString(key.secretBytes()),
      parameters: prime256v1,
      publicKey: toBuffer(p256.getPublicKey(key.secretBytes(), false)),
    });
    return derOf(
      new PrivateKeyInfo({
        // notary convertTUFKeyToPKCS8: "openssl set to v1 even publicKey is present", so version 1
        // where asn1-pkcs8's Version enum only names v1 = 0.
        version: 1 as Version,
        privateKeyAlgorithm: algorithm(OID.ecPublicKey, derOf(prime256v1)),
        privateKey: new Pkcs8PrivateKey(derOf(ecPrivateKey)),
      }),
    );
  }
  return derOf(
    new PrivateKeyInfo({
      version: Version.v1,
      privateKeyAlgorithm: algorithm(OID.notaryEd25519),
      privateKey: new Pkcs8PrivateKey(ed25519Bytes96(key)),
    }),
  );
}

/** SEC1 ECPrivateKey → P-256 key (Go x509.ParseECPrivateKey semantics, P-256 only). */
function parseEcPrivateKey(der: Uint8Array, curveFromAlgorithm?: string): PrivateKey {
  const ecKey = parseDer(der, ECPrivateKey, { trailingBytes: true });
  if (ecKey.version !== 1) throw new Asn1Error('unknown ECPrivateKey version');
  let curve = curveFromAlgorithm;
  if (ecKey.parameters) {
    if (ecKey.parameters.namedCurve === undefined) throw new Asn1Error('ECPrivateKey without a named curve');
    curve = ecKey.parameters.namedCurve;
  }
  if (curve !== undefined && curve !== OID.prime256v1) {
    throw new KeyError('UNSUPPORTED_KEY', `unsupported elliptic curve ${curve}; notary keys use P-256`);
  }
  const d = new Uint8Array(ecKey.privateKey.buffer);
  if (d.length > 32) throw new Asn1Error('P-256 private key too long');
  // Go left-pads short scalars to the curve size.
  const scalar = new Uint8Array(32);
  scalar.set(d, 32 - d.length);
  return PrivateKey.fromSecretBytes('ecdsa', scalar);
}

/** notary ED25519ToPrivateKey: 96 bytes = public ‖ seed ‖ public. */
function parseEd25519Bytes(bytes: Uint8Array): PrivateKey {
  if (bytes.length !== 96) throw new Asn1Error('malformed ed25519 private key');
  const pub = bytes.subarray(0, 32);
  const key = PrivateKey.fromSecretBytes('ed25519', bytes.subarray(32, 64));
  if (!bytesEqual(key.publicKey().publicBytes, pub) || !bytesEqual(bytes.subarray(64, 96), pub)) {
    throw new Asn1Error('ed25519 private key does not match its public key');
  }
  return key;
}

/**
 * The named curve in a PKCS#8 ecPublicKey AlgorithmIdentifier, if any. Like Go's
 * x509.ParsePKCS8PrivateKey, parameters that are not a curve OID are ignored
 * (the SEC1 key's own [0] parameters then decide).
 */
function namedCurveOf(parameters: ArrayBuffer | null | undefined): string | undefined {
  if (!parameters) return undefined;
  try {
    return parseDer(new Uint8Array(parameters), ECParameters).namedCurve;
  } catch {
    return undefined;
  }
}

/** Parse a PrivateKeyInfo; trailing bytes are ignored, as Go's x509.ParsePKCS8PrivateKey does. */
function parsePrivateKeyInfo(der: Uint8Array): PrivateKey {
  const info = parseDer(der, PrivateKeyInfo, { trailingBytes: true });
  if (Number(info.version) < 0) throw new Asn1Error('negative PKCS#8 version');
  const algorithmOid = info.privateKeyAlgorithm.algorithm;
  const keyBytes = new Uint8Array(info.privateKey.buffer);
  if (algorithmOid === OID.ecPublicKey) {
    return parseEcPrivateKey(keyBytes, namedCurveOf(info.privateKeyAlgorithm.parameters));
  }
  if (algorithmOid === OID.notaryEd25519) return parseEd25519Bytes(keyBytes);
  if (algorithmOid === OID.rsaEncryption) {
    throw new KeyError('UNSUPPORTED_KEY', 'RSA private keys are not supported', {
      suggestion: 'notary and docker create ecdsa keys; generate a new key with `notary key generate`.',
    });
  }
  throw new KeyError('UNSUPPORTED_KEY', `unsupported private key algorithm ${algorithmOid}`);
}

// ---- encryption ----

function pbes2Encrypt(plain: Uint8Array, passphrase: string, random: (n: number) => Uint8Array): Uint8Array {
  const salt = random(SALT_BYTES);
  const iv = random(IV_BYTES);
  // notary tuf/utils/pkcs8.go: no PRF is encoded, so PBKDF2 uses (the default) HMAC-SHA1.
  const aesKey = pbkdf2(sha1, utf8(passphrase), salt, {
    c: KEY_FILE_PBKDF2_ITERATIONS,
    dkLen: AES_KEY_BYTES,
  });
  const encrypted = cbc(aesKey, iv).encrypt(plain);
  // notary writes PBKDF2-params as {salt, iterationCount} only: no keyLength and no prf.
  const kdfParams = new Pbkdf2Params({
    salt: new OctetString(salt),
    iterationCount: BigInt(KEY_FILE_PBKDF2_ITERATIONS),
  });
  const pbes2Params = new Pbes2Params({
    keyDerivationFunc: algorithm(OID.pbkdf2, derOf(kdfParams)),
    encryptionScheme: algorithm(OID.aes256Cbc, derOf(new OctetString(iv))),
  });
  return derOf(
    new EncryptedPrivateKeyInfo({
      encryptionAlgorithm: algorithm(OID.pbes2, derOf(pbes2Params)),
      encryptedData: new EncryptedData(encrypted),
    }),
  );
}

function parametersOf(algorithmId: AlgorithmIdentifier): Uint8Array {
  if (!algorithmId.parameters) throw new Asn1Error(`no parameters for ${algorithmId.algorithm}`);
  return new Uint8Array(algorithmId.parameters);
}

function pbes2Decrypt(der: Uint8Array, passphrase: string): Uint8Array {
  let salt: Uint8Array, iterations: bigint, keyLength: bigint | undefined, prf: string | undefined;
  let iv: Uint8Array, encrypted: Uint8Array;
  try {
    const info = parseDer(der, EncryptedPrivateKeyInfo);
    if (info.encryptionAlgorithm.algorithm !== OID.pbes2) {
      throw new KeyError('KEY_FILE', 'pkcs8: only PBES2 supported');
    }
    const scheme = parseDer(parametersOf(info.encryptionAlgorithm), Pbes2Params);
    if (scheme.keyDerivationFunc.algorithm !== OID.pbkdf2) {
      throw new KeyError('KEY_FILE', 'pkcs8: only PBKDF2 supported');
    }
    const kdf = parseDer(parametersOf(scheme.keyDerivationFunc), Pbkdf2Params);
    salt = new Uint8Array(kdf.salt.buffer);
    iterations = kdf.iterationCount;
    keyLength = kdf.keyLength;
    prf = kdf.prf?.algorithm;
    if (iterations < 0n || (keyLength !== undefined && keyLength < 0n))
      throw new Asn1Error('negative INTEGER');
    if (scheme.encryptionScheme.algorithm !== OID.aes256Cbc) {
      throw new KeyError('KEY_FILE', 'pkcs8: only AES-256-CBC supported');
    }
    iv = new Uint8Array(parseDer(parametersOf(scheme.encryptionScheme), OctetString).buffer);
    encrypted = new Uint8Array(info.encryptedData.buffer);
  } catch (cause) {
    if (cause instanceof KeyError) throw keyFileError(cause.message, cause);
    throw keyFileError('the encrypted private key is malformed', cause);
  }
  if (iv.length !== IV_BYTES || encrypted.length === 0 || encrypted.length % 16 !== 0) {
    throw keyFileError('the encrypted private key is malformed');
  }
  if (
    iterations < 1n ||
    iterations > BigInt(MAX_PBKDF2_ITERATIONS) ||
    (keyLength !== undefined && keyLength !== BigInt(AES_KEY_BYTES))
  ) {
    throw keyFileError('unsupported PBKDF2 parameters in the key file');
  }
  // notary ignores an encoded PRF and always uses HMAC-SHA1; we also honour
  // HMAC-SHA256 so keys exported by OpenSSL can be read.
  let hash;
  if (prf === undefined || prf === OID.hmacWithSHA1) hash = sha1;
  else if (prf === OID.hmacWithSHA256) hash = sha256;
  else throw keyFileError(`unsupported PBKDF2 PRF ${prf}`);
  const aesKey = pbkdf2(hash, utf8(passphrase), salt, { c: Number(iterations), dkLen: AES_KEY_BYTES });
  try {
    return cbc(aesKey, iv).decrypt(encrypted);
  } catch (cause) {
    // Bad PKCS#7 padding: almost always a wrong passphrase.
    throw wrongPassphrase(cause);
  }
}

/**
 * Encode `key` as a notary key file. Headers are written as given; use
 * keyFileGun() to apply notary's rule of which keys record a GUN.
 */
export function encodeKeyFile(key: PrivateKey, options: KeyFileOptions): string {
  const headers: Record<string, string> = {};
  if (options.gun) headers.gun = options.gun;
  headers.role = options.role;
  const inner = privateKeyInfo(key);
  if (options.passphrase === '') return encodePem({ type: PLAIN_TYPE, headers, bytes: inner });
  const random = options.randomBytes ?? nobleRandomBytes;
  return encodePem({ type: ENCRYPTED_TYPE, headers, bytes: pbes2Encrypt(inner, options.passphrase, random) });
}

// OpenSSL EVP_BytesToKey with MD5 and one iteration, as Go's x509.DecryptPEMBlock uses.
function legacyKey(passphrase: string, salt: Uint8Array, length: number): Uint8Array {
  let out: Uint8Array = new Uint8Array(0);
  let prev: Uint8Array = new Uint8Array(0);
  while (out.length < length) {
    prev = md5(concatBytes(prev, utf8(passphrase), salt));
    out = concatBytes(out, prev);
  }
  return out.subarray(0, length);
}

function legacyDecrypt(block: PemBlock, passphrase: string): Uint8Array {
  const dek = /^(AES-(128|192|256)-CBC),([0-9A-Fa-f]{32})$/.exec(block.headers['DEK-Info'] ?? '');
  if (!dek) throw keyFileError(`unsupported legacy key encryption ${block.headers['DEK-Info'] ?? '(none)'}`);
  const iv = fromHex(dek[3]!.toLowerCase());
  const key = legacyKey(passphrase, iv.subarray(0, 8), Number(dek[2]) / 8);
  if (block.bytes.length === 0 || block.bytes.length % 16 !== 0)
    throw keyFileError('the legacy key is malformed');
  try {
    return cbc(key, iv).decrypt(block.bytes);
  } catch (cause) {
    throw wrongPassphrase(cause);
  }
}

/**
 * Decode a notary key file. Throws KeyError: WRONG_PASSPHRASE when the
 * passphrase does not decrypt it, KEY_FILE for a damaged or foreign file,
 * UNSUPPORTED_KEY for key types we cannot use (RSA, other curves).
 */
export function decodeKeyFile(pem: string, passphrase: string): DecodedKeyFile {
  const block = blockOf(pem);
  const headers = block.headers;
  let key: PrivateKey;
  if (block.type === ENCRYPTED_TYPE) {
    const plain = pbes2Decrypt(block.bytes, passphrase);
    try {
      key = parsePrivateKeyInfo(plain);
    } catch (cause) {
      if (cause instanceof KeyError && cause.code === 'UNSUPPORTED_KEY') throw cause;
      // notary: any parse failure after decryption is "pkcs8: incorrect password".
      throw wrongPassphrase(cause);
    }
  } else if (
    block.type === PLAIN_TYPE ||
    block.type === LEGACY_EC_TYPE ||
    block.type === LEGACY_ED25519_TYPE
  ) {
    const encrypted = isLegacyEncrypted(block);
    const bytes = encrypted ? legacyDecrypt(block, passphrase) : block.bytes;
    try {
      if (block.type === PLAIN_TYPE) key = parsePrivateKeyInfo(bytes);
      else if (block.type === LEGACY_EC_TYPE) key = parseEcPrivateKey(bytes);
      else key = parseEd25519Bytes(bytes);
    } catch (cause) {
      if (cause instanceof KeyError && cause.code === 'UNSUPPORTED_KEY') throw cause;
      if (encrypted) throw wrongPassphrase(cause);
      throw keyFileError('the private key is malformed', cause);
    }
  } else if (block.type === LEGACY_RSA_TYPE) {
    throw new KeyError('UNSUPPORTED_KEY', 'RSA private keys are not supported');
  } else {
    throw keyFileError(`unsupported key file type ${block.type}`);
  }
  const out: DecodedKeyFile = { key, role: headers.role ?? '' };
  if (headers.gun) out.gun = headers.gun;
  return out;
}
