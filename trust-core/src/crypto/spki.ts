/**
 * SubjectPublicKeyInfo (RFC 5280) helpers: read the algorithm and key out of
 * the DER that notary stores for `ecdsa` and `rsa` keys, build the DER for a
 * P-256 point exactly as Go's x509.MarshalPKIXPublicKey does, and find the
 * SPKI inside a certificate (for x509 keys' canonical IDs and verification).
 * Internal to trust-core's crypto layer.
 */
import {
  DerError,
  OID,
  TAG_NULL,
  TAG_OID,
  TAG_SEQUENCE,
  bitString,
  bitStringBytes,
  decodeOid,
  expectTag,
  oid,
  parseDer,
  sequence,
  sequenceItems,
  unsignedIntegerBytes,
} from './der.js';

export type EcCurve = 'P-256' | 'P-384' | 'P-521';

export type SpkiInfo =
  | { kind: 'ecdsa'; curve: EcCurve; point: Uint8Array }
  | { kind: 'rsa'; modulusBits: number }
  | { kind: 'other'; algorithmOid: string };

const CURVES: Record<string, EcCurve> = {
  [OID.prime256v1]: 'P-256',
  [OID.secp384r1]: 'P-384',
  [OID.secp521r1]: 'P-521',
};

/** Parse DER SubjectPublicKeyInfo; throws DerError when it is not one. */
export function parseSpki(der: Uint8Array): SpkiInfo {
  const [algorithm, key, ...rest] = sequenceItems(parseDer(der, TAG_SEQUENCE));
  if (!algorithm || !key || rest.length > 0) throw new DerError('SubjectPublicKeyInfo needs two fields');
  const [algOid, params] = sequenceItems(algorithm);
  const algorithmOid = decodeOid(expectTag(algOid, TAG_OID, 'an algorithm OID'));
  const keyBytes = bitStringBytes(key);
  if (algorithmOid === OID.ecPublicKey) {
    const curveOid = decodeOid(expectTag(params, TAG_OID, 'a named curve'));
    const curve = CURVES[curveOid];
    if (!curve) throw new DerError(`unsupported elliptic curve ${curveOid}`);
    return { kind: 'ecdsa', curve, point: keyBytes };
  }
  if (algorithmOid === OID.rsaEncryption) {
    if (params && params.tag !== TAG_NULL) throw new DerError('RSA parameters must be NULL');
    const [modulus] = sequenceItems(parseDer(keyBytes, TAG_SEQUENCE));
    const n = unsignedIntegerBytes(expectTag(modulus, 0x02, 'an RSA modulus'));
    const modulusBits = n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
    return { kind: 'rsa', modulusBits };
  }
  return { kind: 'other', algorithmOid };
}

/** DER SPKI for an uncompressed P-256 point, byte for byte what Go's x509.MarshalPKIXPublicKey writes. */
export function p256Spki(uncompressedPoint: Uint8Array): Uint8Array {
  return sequence(sequence(oid(OID.ecPublicKey), oid(OID.prime256v1)), bitString(uncompressedPoint));
}

/** The raw SubjectPublicKeyInfo DER inside an X.509 certificate. */
export function certificateSpki(certDer: Uint8Array): Uint8Array {
  const [tbs] = sequenceItems(parseDer(certDer, TAG_SEQUENCE));
  if (!tbs) throw new DerError('certificate has no TBSCertificate');
  const fields = sequenceItems(tbs);
  // TBSCertificate: [0] version (optional), serial, signature, issuer, validity, subject, spki, …
  const start = fields[0]?.tag === 0xa0 ? 1 : 0;
  const spki = fields[start + 5];
  if (!spki || spki.tag !== TAG_SEQUENCE) throw new DerError('certificate has no SubjectPublicKeyInfo');
  return spki.raw;
}
