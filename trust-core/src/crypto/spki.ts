/**
 * SubjectPublicKeyInfo (RFC 5280) helpers: read the algorithm and key out of
 * the DER that notary stores for `ecdsa` and `rsa` keys, build the DER for a
 * P-256 point exactly as Go's x509.MarshalPKIXPublicKey does, and find the
 * SPKI inside a certificate (for x509 keys' canonical IDs and verification).
 * The structures are @peculiar/asn1-x509's and asn1-ecc's (RSAPublicKey is
 * in ./asn1.ts). Internal to trust-core's crypto layer.
 */
import { ECParameters } from '@peculiar/asn1-ecc';
import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Certificate, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { Asn1Error, OID, RsaPublicKey, derOf, parseDer, toBuffer } from './asn1.js';

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

/** Parse DER SubjectPublicKeyInfo (Go x509.ParsePKIXPublicKey accepts DER only); throws Asn1Error when it is not one. */
export function parseSpki(der: Uint8Array): SpkiInfo {
  const spki = parseDer(der, SubjectPublicKeyInfo);
  const { algorithm, parameters } = spki.algorithm;
  const keyBytes = new Uint8Array(spki.subjectPublicKey);
  if (algorithm === OID.ecPublicKey) {
    if (!parameters) throw new Asn1Error('expected a named curve');
    const curveOid = parseDer(new Uint8Array(parameters), ECParameters).namedCurve;
    if (curveOid === undefined) throw new Asn1Error('expected a named curve');
    const curve = CURVES[curveOid];
    if (!curve) throw new Asn1Error(`unsupported elliptic curve ${curveOid}`);
    return { kind: 'ecdsa', curve, point: keyBytes };
  }
  if (algorithm === OID.rsaEncryption) {
    // Absent or NULL (asn1-schema reads NULL as null).
    if (parameters) throw new Asn1Error('RSA parameters must be NULL');
    const n = new Uint8Array(parseDer(keyBytes, RsaPublicKey).modulus);
    if (n.length === 0 || (n[0]! & 0x80) !== 0) throw new Asn1Error('RSA modulus is not positive');
    let i = 0;
    while (i < n.length && n[i] === 0) i++;
    const modulusBits = i === n.length ? 0 : (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!));
    return { kind: 'rsa', modulusBits };
  }
  return { kind: 'other', algorithmOid: algorithm };
}

/** DER SPKI for an uncompressed P-256 point, byte for byte what Go's x509.MarshalPKIXPublicKey writes. */
export function p256Spki(uncompressedPoint: Uint8Array): Uint8Array {
  return derOf(
    new SubjectPublicKeyInfo({
      algorithm: new AlgorithmIdentifier({
        algorithm: OID.ecPublicKey,
        parameters: toBuffer(derOf(new ECParameters({ namedCurve: OID.prime256v1 }))),
      }),
      subjectPublicKey: toBuffer(uncompressedPoint),
    }),
  );
}

/**
 * The SubjectPublicKeyInfo DER inside an X.509 certificate, re-encoded from
 * the parsed certificate, like notary's X509PublicKeyID re-marshals
 * cert.PublicKey (for a DER certificate these are its own SPKI bytes, and
 * the same bytes parseCertificate reports as `spkiDer`). The certificate is
 * not held to a DER round trip: asn1-x509 would re-encode details Go accepts
 * (e.g. an explicit `critical FALSE`), so only the SPKI is.
 */
export function certificateSpki(certDer: Uint8Array): Uint8Array {
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(certDer, Certificate);
  } catch (cause) {
    throw new Asn1Error('not an X.509 certificate', { cause });
  }
  return derOf(cert.tbsCertificate.subjectPublicKeyInfo);
}
