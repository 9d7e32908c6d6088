/**
 * Signature thresholds and root certificate rules, shared by the client's
 * trusted-metadata set and the server-side validation of a publish.
 *
 * Matches notary tuf/signed/verify.go VerifySignatures: signatures by keys
 * outside the role are ignored, a key counts once however many signatures it
 * made, the signature's keyid must be the key's own ID, and the method must
 * suit the key. The message is notary's, because the lab shows it.
 */
import { VerificationError } from '../errors.js';
import type { PublicKey } from '../crypto/keys.js';
import type { RsaVerifier } from '../crypto/signatures.js';
import { verifySignature } from '../crypto/signatures.js';
import { checkRootCertificate, parseCertificate } from '../crypto/x509.js';
import type { Metadata, Root, Signature, Signed } from '../models/metadata.js';

export interface VerifyOptions {
  rsa?: RsaVerifier;
}

/** Count valid signatures over `message` from distinct keys among `keys`. */
export function countValid(
  signatures: readonly Signature[],
  message: Uint8Array,
  keys: Readonly<Record<string, PublicKey>>,
  options: VerifyOptions = {},
): number {
  const counted = new Set<string>();
  for (const sig of signatures) {
    if (counted.has(sig.keyid)) continue;
    const key = keys[sig.keyid];
    if (!key || key.id !== sig.keyid) continue;
    if (verifySignature(key, sig.method, message, sig.sig, options)) counted.add(sig.keyid);
  }
  return counted.size;
}

/** Count valid signatures on a metadata file from distinct keys of the role. */
export function countValidSignatures(
  md: Metadata<Signed>,
  keys: Readonly<Record<string, PublicKey>>,
  options: VerifyOptions = {},
): number {
  return countValid(md.signatures, md.signedBytes, keys, options);
}

export function verifyThreshold(
  md: Metadata<Signed>,
  keys: Readonly<Record<string, PublicKey>>,
  threshold: number,
  role: string,
  options: VerifyOptions = {},
): void {
  if (md.signatures.length === 0) {
    throw new VerificationError('THRESHOLD_NOT_MET', `no signatures on ${role}`);
  }
  const valid = countValidSignatures(md, keys, options);
  if (valid < threshold) {
    throw new VerificationError('THRESHOLD_NOT_MET', `valid signatures did not meet threshold for ${role}`, {
      suggestion: `The ${role} metadata is not signed by enough of its keys: it may have been tampered with.`,
    });
  }
}

/**
 * The root role's keys whose certificates are valid for this GUN now
 * (notary trustpinning/certs.go: CN must match the GUN, not expired, not a CA,
 * no SHA-1, RSA ≥ 2048). Keys that are not certificates are skipped.
 */
export function validRootCertKeys(root: Root, gun: string, now: Date): Record<string, PublicKey> {
  const out: Record<string, PublicKey> = Object.create(null) as Record<string, PublicKey>;
  for (const [id, key] of Object.entries(root.roleKeys('root'))) {
    if (key.keytype !== 'ecdsa-x509' && key.keytype !== 'rsa-x509') continue;
    try {
      checkRootCertificate(parseCertificate(new TextDecoder().decode(key.publicBytes)), gun, now);
      out[id] = key;
    } catch {
      // An invalid certificate simply does not count, as in notary's
      // validRootLeafCerts; the caller reports when none is left.
    }
  }
  return out;
}

/**
 * The previous root's certificate keys that name this GUN, expiry not
 * checked: a rotation away from an expired root must still be possible
 * (notary validRootLeafCerts(…, checkExpiry=false)).
 */
function previousRootCertKeys(root: Root, gun: string): Record<string, PublicKey> {
  const out: Record<string, PublicKey> = Object.create(null) as Record<string, PublicKey>;
  for (const [id, key] of Object.entries(root.roleKeys('root'))) {
    if (key.keytype !== 'ecdsa-x509' && key.keytype !== 'rsa-x509') continue;
    try {
      const cert = parseCertificate(new TextDecoder().decode(key.publicBytes));
      // Checking at the certificate's own NotBefore applies every rule but the validity window.
      checkRootCertificate(cert, gun, new Date(cert.notBefore));
      out[id] = key;
    } catch {
      // not a usable certificate for this GUN: it does not count
    }
  }
  return out;
}

const ROOT_PATH_FAILURE = 'could not validate the path to a trusted root: ';

/**
 * notary trustpinning.ValidateRoot, in notary's order, for a root with a
 * trusted predecessor (`previous`) or without one (trust on first use):
 * 1. the candidate's leaf certificates must be valid for the GUN;
 * 2. with a predecessor, its GUN certificates (expiry ignored) must sign
 *    the candidate to their threshold;
 * 3. the candidate must meet its own threshold with its valid certificates.
 */
export function validateRoot(
  candidate: Metadata<Root>,
  previous: Metadata<Root> | undefined,
  gun: string,
  now: Date,
  options: VerifyOptions = {},
): void {
  const certKeys = validRootCertKeys(candidate.signed, gun, now);
  if (Object.keys(certKeys).length === 0) {
    throw new VerificationError(
      'BAD_CERTIFICATE',
      ROOT_PATH_FAILURE + 'unable to retrieve valid leaf certificates',
      {
        suggestion: `The root certificate is not valid for ${gun}: the trust data may belong to another repository.`,
      },
    );
  }
  if (previous) {
    const trusted = previousRootCertKeys(previous.signed, gun);
    if (Object.keys(trusted).length === 0) {
      throw new VerificationError(
        'ROOT_ROTATION_FAILED',
        ROOT_PATH_FAILURE + 'could not retrieve trusted certs from previous root role data',
      );
    }
    if (countValidSignatures(candidate, trusted, options) < previous.signed.role('root').threshold) {
      throw new VerificationError(
        'ROOT_ROTATION_FAILED',
        'could not rotate trust to a new trusted root: failed to validate data with current trusted certificates',
        { suggestion: 'The new root is not signed by the old root key: it may be forged.' },
      );
    }
  }
  if (countValidSignatures(candidate, certKeys, options) < candidate.signed.role('root').threshold) {
    throw new VerificationError(
      'THRESHOLD_NOT_MET',
      ROOT_PATH_FAILURE + 'failed to validate integrity of roots',
    );
  }
}
