/**
 * The ASN.1 plumbing of the keys layer, on top of @peculiar/asn1-schema: a
 * DER-only parse helper, the OIDs notary uses, and the few structures no
 * installed @peculiar package models (PKCS#5 PBES2/PBKDF2 parameters and
 * PKCS#1 RSAPublicKey; @peculiar/asn1-pkcs5 / asn1-rsa are not installed).
 * Internal to trust-core's crypto layer.
 *
 * The schema classes register their fields by calling asn1-schema's
 * `AsnProp` decorator factory directly: the project compiles with standard
 * (TC39) decorators, and asn1-schema's decorators are the legacy
 * `(prototype, key)` kind, so `@AsnProp` syntax would not type-check.
 */
import {
  AsnConvert,
  AsnIntegerArrayBufferConverter,
  AsnIntegerBigIntConverter,
  AsnProp,
  AsnPropTypes,
  OctetString,
} from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { id_ecPublicKey, id_secp256r1, id_secp384r1, id_secp521r1 } from '@peculiar/asn1-ecc';
import { bytesEqual } from '../encoding/bytes.js';

export const OID = {
  ecPublicKey: id_ecPublicKey,
  prime256v1: id_secp256r1,
  secp384r1: id_secp384r1,
  secp521r1: id_secp521r1,
  rsaEncryption: '1.2.840.113549.1.1.1',
  // notary tuf/utils/pkcs8.go: crypto/x509 had no ed25519 OID, so notary uses this one (not RFC 8410's 1.3.101.112).
  notaryEd25519: '1.3.6.1.4.1.11591.15.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA1: '1.2.840.113549.2.7',
  hmacWithSHA256: '1.2.840.113549.2.9',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

/** Thrown for anything that is not the DER we expect; callers wrap it in their own typed error. */
export class Asn1Error extends Error {}

/** A copy of `bytes` as the ArrayBuffer asn1-schema's structures hold. */
export function toBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

/** DER encoding of an asn1-schema structure. */
export function derOf(value: unknown): Uint8Array {
  return new Uint8Array(AsnConvert.serialize(value));
}

/**
 * Parse `bytes` as `schema`, accepting DER only. asn1-schema parses BER
 * (indefinite and non-minimal lengths, constructed strings, unused BIT STRING
 * bits, trailing data), while Go's encoding/asn1 — what notary reads keys
 * with — wants DER. asn1-schema always writes DER, so re-encoding the parsed
 * value must give back the input exactly. With `trailingBytes`, data after
 * the value is ignored, as Go's asn1.Unmarshal does for PKCS#8 and SEC1 keys
 * (x509.ParsePKCS8PrivateKey / ParseECPrivateKey drop its `rest`).
 */
export function parseDer<T>(
  bytes: Uint8Array,
  schema: new () => T,
  options?: { trailingBytes?: boolean },
): T {
  let value: T;
  try {
    value = AsnConvert.parse(bytes, schema);
  } catch (cause) {
    throw new Asn1Error(`malformed ${schema.name}`, { cause });
  }
  const der = derOf(value);
  const seen = options?.trailingBytes ? bytes.subarray(0, der.length) : bytes;
  if (!bytesEqual(der, seen)) throw new Asn1Error(`${schema.name} is not DER-encoded`);
  return value;
}

/**
 * RFC 8018 PBKDF2-params. `salt` is modelled as the `specified` OCTET STRING
 * only (the `otherSource` choice is reserved); `prf` is OPTIONAL here rather
 * than DEFAULT so that a missing PRF stays missing: notary writes none.
 */
export class Pbkdf2Params {
  salt = new OctetString();
  iterationCount = 0n;
  keyLength?: bigint;
  prf?: AlgorithmIdentifier;

  constructor(params: Partial<Pbkdf2Params> = {}) {
    Object.assign(this, params);
  }
}
AsnProp({ type: OctetString })(Pbkdf2Params.prototype, 'salt');
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerBigIntConverter })(
  Pbkdf2Params.prototype,
  'iterationCount',
);
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerBigIntConverter, optional: true })(
  Pbkdf2Params.prototype,
  'keyLength',
);
AsnProp({ type: AlgorithmIdentifier, optional: true })(Pbkdf2Params.prototype, 'prf');

/** RFC 8018 PBES2-params. */
export class Pbes2Params {
  keyDerivationFunc = new AlgorithmIdentifier();
  encryptionScheme = new AlgorithmIdentifier();

  constructor(params: Partial<Pbes2Params> = {}) {
    Object.assign(this, params);
  }
}
AsnProp({ type: AlgorithmIdentifier })(Pbes2Params.prototype, 'keyDerivationFunc');
AsnProp({ type: AlgorithmIdentifier })(Pbes2Params.prototype, 'encryptionScheme');

/** RFC 8017 RSAPublicKey; the INTEGERs are kept as their two's complement content octets. */
export class RsaPublicKey {
  modulus = new ArrayBuffer(0);
  publicExponent = new ArrayBuffer(0);
}
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  RsaPublicKey.prototype,
  'modulus',
);
AsnProp({ type: AsnPropTypes.Integer, converter: AsnIntegerArrayBufferConverter })(
  RsaPublicKey.prototype,
  'publicExponent',
);

/**
 * Two's complement INTEGER content octets for a non-negative big-endian
 * magnitude, minimal as DER (and Go's encoding/asn1) requires.
 */
export function unsignedIntegerContent(magnitude: Uint8Array): ArrayBuffer {
  let value = 0n;
  for (const b of magnitude) value = (value << 8n) | BigInt(b);
  return toBuffer(AsnIntegerBigIntConverter.toASN(value).valueBlock.valueHexView);
}
