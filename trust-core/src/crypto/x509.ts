/**
 * Root certificates as notary makes and checks them.
 *
 * notary's root key in metadata is an `ecdsa-x509` key: a self-signed
 * certificate for the repository's GUN (notary cryptoservice/certificate.go
 * NewCertificate + Go's x509.CreateCertificate). `createRootCertificate`
 * reproduces that certificate field for field, so its DER has the same shape
 * as one real notary writes (tests compare TBS bytes with a real sample).
 *
 * `checkRootCertificate` applies the client's rules for a root leaf
 * certificate (notary trustpinning/certs.go validRootLeafCerts and
 * tuf/utils/x509.go ValidateCertificate).
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Time,
  Validity,
  Version,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_kp_codeSigning,
} from '@peculiar/asn1-x509';
import { OctetString } from '@peculiar/asn1-schema';
import { p256 } from '@noble/curves/nist.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { KeyError } from '../errors.js';
import { fromUtf8, sha256, utf8 } from '../encoding/bytes.js';
import { derOf, toBuffer, unsignedIntegerContent } from './asn1.js';
import { PublicKey, firstCertificateDer } from './keys.js';
import { encodePem } from './pem.js';
import type { PrivateKey } from './signatures.js';
import { parseSpki } from './spki.js';

const OID_CN = '2.5.4.3';
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';

const SIGNATURE_ALGORITHMS: Record<string, string> = {
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'rsassaPss',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10040.4.3': 'dsa-with-SHA1',
  '2.16.840.1.101.3.4.3.2': 'dsa-with-SHA256',
  '1.3.101.112': 'ED25519',
};

// tuf/utils/x509.go ValidateCertificate refuses these (x509.SHA1WithRSA, DSAWithSHA1, ECDSAWithSHA1).
const SHA1_ALGORITHMS = new Set(['sha1WithRSAEncryption', 'dsa-with-SHA1', 'ecdsa-with-SHA1']);

// notary.MinRSABitSize
const MIN_RSA_BITS = 2048;
const DAY_MS = 24 * 60 * 60 * 1000;

/** notary const.go: root certificates (like root metadata) last ten 365-day years. */
export const ROOT_CERT_VALIDITY_DAYS = 3650;

export interface ParsedCertificate {
  /** Subject CN (Go's pkix.Name keeps the last CN attribute); '' when there is none. */
  commonName: string;
  notBefore: Date;
  notAfter: Date;
  /** BasicConstraints CA flag. */
  isCA: boolean;
  /** OpenSSL-style name (`ecdsa-with-SHA256`), or the dotted OID when unknown. */
  signatureAlgorithm: string;
  spkiDer: Uint8Array;
  publicKeyType: 'ecdsa' | 'rsa';
  rsaBits?: number;
  /** The certificate's DER. */
  der: Uint8Array;
}

function badCert(message: string, cause?: unknown): KeyError {
  return new KeyError('BAD_CERTIFICATE', message, {
    cause,
    suggestion:
      'Root certificates are created by notary/docker when a repository is initialized; re-initialize or rotate the root key.',
  });
}

// Go encoding/asn1 isPrintable with asterisk and ampersand rejected, as used when marshaling.
function isPrintableString(s: string): boolean {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(s);
}

function whole(seconds: Date): Date {
  return new Date(Math.floor(seconds.getTime() / 1000) * 1000);
}

// Go encoding/asn1: UTCTime for years 1950..2049, GeneralizedTime otherwise.
function asnTime(date: Date): Time {
  const year = date.getUTCFullYear();
  return year >= 1950 && year < 2050 ? new Time({ utcTime: date }) : new Time({ generalTime: date });
}

function commonNameOnly(gun: string): Name {
  // Go's encoding/asn1 writes a plain string as PrintableString when every
  // character allows it, else UTF8String (GUNs with `_`, `*`, `&`, …).
  const value = isPrintableString(gun)
    ? new AttributeValue({ printableString: gun })
    : new AttributeValue({ utf8String: gun });
  return new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: OID_CN, value })])]);
}

export interface TbsFields {
  spkiDer: Uint8Array;
  commonName: string;
  /** Big-endian serial magnitude. */
  serial: Uint8Array;
  notBefore: Date;
  notAfter: Date;
}

/** TBSCertificate shaped exactly like notary's root certificates. */
function rootTbs(fields: TbsFields): TBSCertificate {
  const spki = AsnConvert.parse(fields.spkiDer, SubjectPublicKeyInfo);
  const extensions = new Extensions([
    // Go x509.CreateCertificate order: key usage, extended key usage, basic constraints.
    new Extension({
      extnID: id_ce_keyUsage,
      critical: true,
      extnValue: new OctetString(
        AsnConvert.serialize(new KeyUsage(KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment)),
      ),
    }),
    new Extension({
      extnID: id_ce_extKeyUsage,
      critical: false,
      extnValue: new OctetString(AsnConvert.serialize(new ExtendedKeyUsage([id_kp_codeSigning]))),
    }),
    new Extension({
      extnID: id_ce_basicConstraints,
      critical: true,
      extnValue: new OctetString(AsnConvert.serialize(new BasicConstraints({ cA: false }))),
    }),
  ]);
  const validity = new Validity();
  validity.notBefore = asnTime(whole(fields.notBefore));
  validity.notAfter = asnTime(whole(fields.notAfter));
  return new TBSCertificate({
    version: Version.v3,
    serialNumber: unsignedIntegerContent(fields.serial),
    // Go writes ecdsa-with-SHA256 with absent (not NULL) parameters.
    signature: new AlgorithmIdentifier({ algorithm: OID_ECDSA_SHA256 }),
    issuer: commonNameOnly(fields.commonName),
    validity,
    subject: commonNameOnly(fields.commonName),
    subjectPublicKeyInfo: spki,
    extensions,
  });
}

/** DER TBSCertificate shaped exactly like notary's root certificates. Exposed for tests. */
export function buildRootTbs(fields: TbsFields): Uint8Array {
  return derOf(rootTbs(fields));
}

/**
 * A self-signed root certificate for `gun`, as notary's NewCertificate makes it:
 * ecdsa-with-SHA256, random serial in [1, 2^128), Subject = Issuer = CN=<gun>,
 * valid from `now` for `validityDays` (3650), KeyUsage digitalSignature +
 * keyEncipherment (critical), EKU codeSigning, BasicConstraints CA:FALSE (critical).
 * Returns the PEM text (Go pem.Encode format, trailing newline).
 */
export function createRootCertificate(
  key: PrivateKey,
  gun: string,
  options: { now: Date; validityDays?: number },
): string {
  if (key.keytype !== 'ecdsa') {
    throw new KeyError('UNSUPPORTED_KEY', `notary root certificates need an ecdsa key, not ${key.keytype}`);
  }
  const { tbsCertificate, finish } = rootCertificateParts(key.publicKey().publicBytes, gun, options);
  return finish(key.sign(derOf(tbsCertificate)));
}

/**
 * The same certificate signed by someone else: a hardware token holding the
 * key (notary's YubiKey store signs the certificate it makes for a new
 * repository on the token). `spkiDer` is the key's SubjectPublicKeyInfo;
 * `sign` gets the DER TBSCertificate and returns the raw r‖s signature
 * (what notary's ECDSA signers return), which is checked before use.
 */
export async function createRootCertificateWith(
  spkiDer: Uint8Array,
  sign: (tbsDer: Uint8Array) => Promise<Uint8Array>,
  gun: string,
  options: { now: Date; validityDays?: number },
): Promise<string> {
  // Checked before the token is asked: a signature costs the attendee a PIN and a touch.
  const info = parseSpki(spkiDer);
  if (info.kind !== 'ecdsa' || info.curve !== 'P-256') {
    throw new KeyError('UNSUPPORTED_KEY', 'notary root certificates need a P-256 ecdsa key');
  }
  const { tbsCertificate, finish } = rootCertificateParts(spkiDer, gun, options);
  const tbsDer = derOf(tbsCertificate);
  const signature = await sign(tbsDer);
  // A token need not make low-S signatures, and Go's verifier has no low-S rule: neither has this check.
  const valid =
    signature.length === 64 &&
    p256.verify(signature, sha256(tbsDer), info.point, { prehash: false, lowS: false, format: 'compact' });
  if (!valid) {
    throw new KeyError('BAD_SIGNATURE', 'the signature over the root certificate does not verify');
  }
  return finish(signature);
}

function rootCertificateParts(
  spkiDer: Uint8Array,
  gun: string,
  options: { now: Date; validityDays?: number },
): { tbsCertificate: TBSCertificate; finish(rawSignature: Uint8Array): string } {
  if (gun === '') throw new KeyError('BAD_CERTIFICATE', 'a root certificate needs a GUN');
  const days = options.validityDays ?? ROOT_CERT_VALIDITY_DAYS;
  // notary: rand.Int(rand.Reader, 2^128); zero is skipped so the serial is positive.
  let serial = randomBytes(16);
  while (serial.every((b) => b === 0)) serial = randomBytes(16);
  const notBefore = options.now;
  const notAfter = new Date(notBefore.getTime() + days * DAY_MS);
  const tbsCertificate = rootTbs({ spkiDer, commonName: gun, serial, notBefore, notAfter });
  return {
    tbsCertificate,
    finish(rawSignature) {
      const signatureDer = p256.Signature.fromBytes(rawSignature, 'compact').toBytes('der');
      const der = derOf(
        new Certificate({
          // asn1-schema's DER is deterministic: this re-encodes to the very TBS bytes signed.
          tbsCertificate,
          signatureAlgorithm: new AlgorithmIdentifier({ algorithm: OID_ECDSA_SHA256 }),
          signatureValue: toBuffer(signatureDer),
        }),
      );
      return encodePem({ type: 'CERTIFICATE', headers: {}, bytes: der });
    },
  };
}

function attributeText(value: AttributeValue): string | undefined {
  return (
    value.printableString ?? value.utf8String ?? value.ia5String ?? value.teletexString ?? value.bmpString
  );
}

/** Parse the first certificate of a PEM text (or DER bytes). Throws KeyError('BAD_CERTIFICATE'). */
export function parseCertificate(pemOrDer: string | Uint8Array): ParsedCertificate {
  const der = typeof pemOrDer === 'string' ? firstCertificateDer(utf8(pemOrDer)) : pemOrDer;
  let cert: Certificate;
  try {
    cert = AsnConvert.parse(der, Certificate);
  } catch (cause) {
    throw badCert('could not parse the certificate', cause);
  }
  const tbs = cert.tbsCertificate;
  let commonName = '';
  for (const rdn of tbs.subject) {
    for (const atv of rdn) {
      if (atv.type !== OID_CN) continue;
      const text = attributeText(atv.value);
      if (text !== undefined) commonName = text;
    }
  }
  let isCA = false;
  for (const ext of tbs.extensions ?? []) {
    if (ext.extnID !== id_ce_basicConstraints) continue;
    try {
      isCA = AsnConvert.parse(ext.extnValue, BasicConstraints).cA;
    } catch (cause) {
      throw badCert('the certificate has malformed basic constraints', cause);
    }
  }
  const spkiDer = new Uint8Array(AsnConvert.serialize(tbs.subjectPublicKeyInfo));
  let info;
  try {
    info = parseSpki(spkiDer);
  } catch (cause) {
    throw badCert('the certificate has an unsupported public key', cause);
  }
  if (info.kind === 'other')
    throw badCert(`the certificate has an unsupported public key (${info.algorithmOid})`);
  const oidText = cert.signatureAlgorithm.algorithm;
  const parsed: ParsedCertificate = {
    commonName,
    notBefore: tbs.validity.notBefore.getTime(),
    notAfter: tbs.validity.notAfter.getTime(),
    isCA,
    signatureAlgorithm: SIGNATURE_ALGORITHMS[oidText] ?? oidText,
    spkiDer,
    publicKeyType: info.kind,
    der: Uint8Array.from(der),
  };
  if (info.kind === 'rsa') parsed.rsaBits = info.modulusBits;
  return parsed;
}

/** notary trustpinning/certs.go MatchCNToGun: exact, or `prefix*` matching every GUN starting with prefix. */
export function matchCommonNameToGun(commonName: string, gun: string): boolean {
  if (commonName.endsWith('*')) return gun.startsWith(commonName.replace(/\*+$/, ''));
  return commonName === gun;
}

function addMonthsUtc(date: Date, months: number): Date {
  const d = new Date(date.getTime());
  d.setUTCMonth(d.getUTCMonth() + months);
  return d;
}

export interface RootCertificateCheck {
  /** notary warns when a root certificate expires within six months. */
  nearExpiry: boolean;
}

/**
 * Check a root leaf certificate the way a notary client does before trusting
 * it for `gun` at time `now`. Throws KeyError('BAD_CERTIFICATE') with the reason.
 */
export function checkRootCertificate(cert: ParsedCertificate, gun: string, now: Date): RootCertificateCheck {
  if (cert.isCA) throw badCert(`certificate with CN ${cert.commonName} is a CA certificate, not a leaf`);
  if (!matchCommonNameToGun(cert.commonName, gun)) {
    throw badCert(`certificate CN ${cert.commonName} doesn't match the GUN ${gun}`);
  }
  if (cert.notBefore.getTime() > cert.notAfter.getTime())
    throw badCert('certificate validity window is invalid');
  if (SHA1_ALGORITHMS.has(cert.signatureAlgorithm)) {
    throw badCert(`certificate with CN ${cert.commonName} uses invalid SHA1 signature algorithm`);
  }
  if (cert.publicKeyType === 'rsa' && (cert.rsaBits ?? 0) < MIN_RSA_BITS)
    throw badCert('RSA bit length is too short');
  // ValidateCertificate: one day of leeway on NotBefore, none on NotAfter.
  const tomorrow = now.getTime() + DAY_MS;
  if (tomorrow < cert.notBefore.getTime() || now.getTime() > cert.notAfter.getTime()) {
    // notary data.ErrCertExpired wording.
    throw new KeyError('BAD_CERTIFICATE', `certificate for ${cert.commonName} is expired`, {
      suggestion:
        'The root certificate is outside its validity period; the repository owner must rotate the root key.',
    });
  }
  return { nearExpiry: cert.notAfter.getTime() < addMonthsUtc(now, 6).getTime() };
}

/**
 * The `ecdsa-x509` (or `rsa-x509`) metadata key for a certificate. Like
 * notary (utils.CertToPEM), `public` is the certificate re-encoded as one
 * PEM block, trailing newline included.
 */
export function rootPublicKey(pem: string): PublicKey {
  const cert = parseCertificate(pem);
  const text = encodePem({ type: 'CERTIFICATE', headers: {}, bytes: cert.der });
  return new PublicKey(cert.publicKeyType === 'ecdsa' ? 'ecdsa-x509' : 'rsa-x509', utf8(text));
}

/** The certificate PEM text held by an x509 public key. */
export function certificatePemOf(key: PublicKey): string {
  return fromUtf8(key.publicBytes);
}
