/**
 * What the token needs to know about a root certificate: its subject (for CKA_SUBJECT), its common
 * name and the notary key ID of its public key. The key ID is the *canonical* one notary shows for
 * a YubiKey key (yubikeystore.go yubiListKeys: data.NewECDSAPublicKey(MarshalPKIXPublicKey(cert
 * key)).ID()), i.e. the ID of the plain `ecdsa` key made of the certificate's SPKI.
 */
import { PublicKey, parseCertificate } from '../../../trust-core/src/index.js';

export interface RootCertificateInfo {
  commonName: string;
  /** The DER of the certificate's subject Name, byte for byte as in the certificate. */
  subjectDer: Uint8Array;
  /** The plain `ecdsa` key of the certificate's SPKI. */
  publicKey: PublicKey;
  /** Canonical notary key ID of that key. */
  keyId: string;
}

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first byte after the header. */
  body: number;
  /** Offset of the first byte after the value. */
  end: number;
}

/** One DER TLV at `offset` of `der` (definite lengths only, as DER requires). */
function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new RangeError('truncated DER');
  let body = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new RangeError('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = der[body + i];
      if (byte === undefined) throw new RangeError('truncated DER');
      length = length * 256 + byte;
    }
    body += count;
  }
  const end = body + length;
  if (end > der.length) throw new RangeError('truncated DER');
  return { tag, start: offset, body, end };
}

/**
 * The subject Name of an X.509 certificate, as its raw DER: Certificate → TBSCertificate →
 * [0] version (optional), serialNumber, signature, issuer, validity, subject.
 */
export function certificateSubjectDer(certificateDer: Uint8Array): Uint8Array {
  const certificate = readTlv(certificateDer, 0);
  const tbs = readTlv(certificateDer, certificate.body);
  let field = readTlv(certificateDer, tbs.body);
  // Skip the explicit [0] version, then serialNumber, signature, issuer and validity.
  const skip = field.tag === 0xa0 ? 5 : 4;
  for (let i = 0; i < skip; i++) field = readTlv(certificateDer, field.end);
  if (field.tag !== 0x30) throw new RangeError('certificate subject is not a SEQUENCE');
  return certificateDer.slice(field.start, field.end);
}

/**
 * Reads a root certificate (DER). Throws trust-core's KeyError('BAD_CERTIFICATE') when the
 * certificate cannot be parsed, a RangeError when its DER cannot be walked.
 */
export function readRootCertificate(certificateDer: Uint8Array): RootCertificateInfo {
  const parsed = parseCertificate(certificateDer);
  const publicKey = new PublicKey(parsed.publicKeyType, parsed.spkiDer);
  return {
    commonName: parsed.commonName,
    subjectDer: certificateSubjectDer(certificateDer),
    publicKey,
    keyId: publicKey.id,
  };
}
