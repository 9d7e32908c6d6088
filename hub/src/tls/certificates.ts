/**
 * The lab's TLS material: a CA and a server certificate signed by it.
 *
 * Docker only talks HTTPS to a registry that is not explicitly "insecure",
 * and trusts a private CA placed in `/etc/docker/certs.d/<host:port>/ca.crt`
 * (or the system store), so the lab makes its own CA on first start and
 * keeps it: learners install it once. Certificates are built with
 * @peculiar/asn1-x509 and signed with node:crypto (ECDSA P-256 / SHA-256).
 *
 * Files under `<dataDir>/hub/`: `ca.crt`, `ca.key` (0600), `server.crt`,
 * `server.key` (0600). The server certificate is re-issued (by the same CA)
 * when it no longer covers the configured names or nears its expiry.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  X509Certificate,
  createHash,
  type KeyObject,
} from 'node:crypto';
import { isIP } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { id_ecdsaWithSHA256 } from '@peculiar/asn1-ecc';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier,
  AttributeTypeAndValue,
  AttributeValue,
  AuthorityKeyIdentifier,
  BasicConstraints,
  Certificate,
  ExtendedKeyUsage,
  Extension,
  Extensions,
  GeneralName,
  id_ce_authorityKeyIdentifier,
  id_ce_basicConstraints,
  id_ce_extKeyUsage,
  id_ce_keyUsage,
  id_ce_subjectAltName,
  id_ce_subjectKeyIdentifier,
  id_kp_serverAuth,
  KeyIdentifier,
  KeyUsage,
  KeyUsageFlags,
  Name,
  RelativeDistinguishedName,
  SubjectAlternativeName,
  SubjectKeyIdentifier,
  SubjectPublicKeyInfo,
  TBSCertificate,
  Validity,
  Version,
} from '@peculiar/asn1-x509';
import { writeFileAtomic } from '../storage/durable-fs.js';

export interface TlsMaterial {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  /** Path of the CA certificate, for instructions ("copy it to /etc/docker/certs.d/…"). */
  caCertPath: string;
}

const DAY = 24 * 60 * 60 * 1000;
const CA_LIFETIME = 10 * 365 * DAY;
/** Under the 398-day ceiling browsers and macOS put on server certificates. */
const SERVER_LIFETIME = 397 * DAY;
const RENEW_BEFORE = 30 * DAY;
const OID_COMMON_NAME = '2.5.4.3';
const OID_ORGANIZATION = '2.5.4.10';

function name(commonName: string): Name {
  const rdn = (type: string, value: string) =>
    new RelativeDistinguishedName([
      new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) }),
    ]);
  return new Name([rdn(OID_ORGANIZATION, 'TrustLab'), rdn(OID_COMMON_NAME, commonName)]);
}

function extension(extnID: string, critical: boolean, value: unknown): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}

function spki(key: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(createPublicKey(key).export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bit string. */
function keyIdentifier(key: KeyObject): Buffer {
  return createHash('sha1')
    .update(Buffer.from(spki(key).subjectPublicKey))
    .digest();
}

/**
 * A random positive serial whose DER INTEGER is minimally encoded: the top
 * bit is clear (positive) and the next one set, so the first byte is never
 * 0x00. A leading zero byte before a byte below 0x80 is not valid DER, and
 * Go's x509 parser (docker, notary) refuses such certificates.
 */
export function serialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
}

interface IssueOptions {
  subject: Name;
  subjectKey: KeyObject;
  issuer: Name;
  issuerKey: KeyObject;
  lifetime: number;
  extensions: Extension[];
}

function issue(options: IssueOptions): string {
  const algorithm = new AlgorithmIdentifier({ algorithm: id_ecdsaWithSHA256 });
  const now = Date.now();
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: algorithm,
    issuer: options.issuer,
    // Backdated an hour to tolerate clock skew between the hub and docker's VM.
    validity: new Validity({
      notBefore: new Date(now - 60 * 60 * 1000),
      notAfter: new Date(now + options.lifetime),
    }),
    subject: options.subject,
    subjectPublicKeyInfo: spki(options.subjectKey),
    extensions: new Extensions(options.extensions),
  });
  const tbsDer = Buffer.from(AsnConvert.serialize(tbs));
  // node:crypto signs ECDSA as a DER ECDSA-Sig-Value, the form X.509 wants.
  const signature = sign('sha256', tbsDer, options.issuerKey);
  const certificate = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: algorithm,
    signatureValue: signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.length),
  });
  const der = Buffer.from(AsnConvert.serialize(certificate));
  const base64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64.trimEnd()}\n-----END CERTIFICATE-----\n`;
}

export function serverNames(hostnames: string[]): string[] {
  return [...new Set(['localhost', '127.0.0.1', '::1', ...hostnames])];
}

export function createCa(): { certPem: string; key: KeyObject } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const subject = name('TrustLab Lab CA');
  const certPem = issue({
    subject,
    subjectKey: privateKey,
    issuer: subject,
    issuerKey: privateKey,
    lifetime: CA_LIFETIME,
    extensions: [
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: true, pathLenConstraint: 0 })),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(privateKey))),
    ],
  });
  return { certPem, key: privateKey };
}

export function createServerCertificate(
  ca: { certPem: string; key: KeyObject },
  hostnames: string[],
): { certPem: string; key: KeyObject } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const names = serverNames(hostnames);
  const altNames = names.map((entry) =>
    isIP(entry) ? new GeneralName({ iPAddress: entry }) : new GeneralName({ dNSName: entry }),
  );
  const caCert = new X509Certificate(ca.certPem);
  const certPem = issue({
    subject: name(names.find((entry) => !isIP(entry) && entry !== 'localhost') ?? 'localhost'),
    subjectKey: privateKey,
    issuer: AsnConvert.parse(caCert.raw, Certificate).tbsCertificate.subject,
    issuerKey: ca.key,
    lifetime: SERVER_LIFETIME,
    extensions: [
      extension(id_ce_basicConstraints, true, new BasicConstraints({ cA: false })),
      extension(id_ce_keyUsage, true, new KeyUsage(KeyUsageFlags.digitalSignature)),
      extension(id_ce_extKeyUsage, false, new ExtendedKeyUsage([id_kp_serverAuth])),
      extension(id_ce_subjectAltName, false, new SubjectAlternativeName(altNames)),
      extension(id_ce_subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyIdentifier(privateKey))),
      extension(
        id_ce_authorityKeyIdentifier,
        false,
        new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(keyIdentifier(ca.key)) }),
      ),
    ],
  });
  return { certPem, key: privateKey };
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function serverCertificateUsable(
  certPem: string,
  keyPem: string,
  caCertPem: string,
  hostnames: string[],
): boolean {
  try {
    const cert = new X509Certificate(certPem);
    const ca = new X509Certificate(caCertPem);
    if (!cert.verify(ca.publicKey) || !cert.checkIssued(ca)) return false;
    if (new Date(cert.validTo).getTime() - Date.now() < RENEW_BEFORE) return false;
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) return false;
    return serverNames(hostnames).every((entry) =>
      isIP(entry) ? cert.checkIP(entry) : cert.checkHost(entry),
    );
  } catch {
    return false;
  }
}

export async function ensureTlsMaterial(hubDir: string, hostnames: string[]): Promise<TlsMaterial> {
  const files = {
    caCert: path.join(hubDir, 'ca.crt'),
    caKey: path.join(hubDir, 'ca.key'),
    serverCert: path.join(hubDir, 'server.crt'),
    serverKey: path.join(hubDir, 'server.key'),
  };
  const caCertPem = await readIfExists(files.caCert);
  const caKeyPem = await readIfExists(files.caKey);
  let ca: { certPem: string; key: KeyObject } | undefined;
  if (caCertPem !== undefined && caKeyPem !== undefined) {
    try {
      const key = createPrivateKey(caKeyPem);
      if (new X509Certificate(caCertPem).checkPrivateKey(key)) ca = { certPem: caCertPem, key };
    } catch {
      ca = undefined;
    }
  }
  if (ca === undefined) {
    // Key first: a crash in between leaves a key without a certificate, which is regenerated next time.
    ca = createCa();
    await writeFileAtomic(files.caKey, ca.key.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600);
    await writeFileAtomic(files.caCert, ca.certPem, 0o644);
  }
  let serverCertPem = await readIfExists(files.serverCert);
  let serverKeyPem = await readIfExists(files.serverKey);
  if (
    serverCertPem === undefined ||
    serverKeyPem === undefined ||
    !serverCertificateUsable(serverCertPem, serverKeyPem, ca.certPem, hostnames)
  ) {
    const server = createServerCertificate(ca, hostnames);
    serverKeyPem = server.key.export({ type: 'pkcs8', format: 'pem' }) as string;
    serverCertPem = server.certPem;
    await writeFileAtomic(files.serverKey, serverKeyPem, 0o600);
    await writeFileAtomic(files.serverCert, serverCertPem, 0o644);
  }
  return { caCertPem: ca.certPem, serverCertPem, serverKeyPem, caCertPath: files.caCert };
}
