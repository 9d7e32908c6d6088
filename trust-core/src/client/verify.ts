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
import type { Metadata, Root, Signed } from '../models/metadata.js';

export interface VerifyOptions {
  rsa?: RsaVerifier;
}

/** Count valid signatures from distinct keys of the role. */
export function countValidSignatures(
  md: Metadata<Signed>,
  keys: Readonly<Record<string, PublicKey>>,
  options: VerifyOptions = {},
): number {
  const counted = new Set<string>();
  for (const sig of md.signatures) {
    if (counted.has(sig.keyid)) continue;
    const key = keys[sig.keyid];
    if (!key || key.id !== sig.keyid) continue;
    if (verifySignature(key, sig.method, md.signedBytes, sig.sig, options)) counted.add(sig.keyid);
  }
  return counted.size;
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
 * notary trustpinning.ValidateRoot, for a root we already have a trusted
 * predecessor of (`previous`) or none (trust on first use).
 */
export function validateRoot(
  candidate: Metadata<Root>,
  previous: Metadata<Root> | undefined,
  gun: string,
  now: Date,
  options: VerifyOptions = {},
): void {
  if (previous) {
    // The new root must be signed by a threshold of the old root's keys.
    const oldKeys = previous.signed.roleKeys('root');
    const oldThreshold = previous.signed.role('root').threshold;
    if (countValidSignatures(candidate, oldKeys, options) < oldThreshold) {
      throw new VerificationError(
        'ROOT_ROTATION_FAILED',
        'could not rotate trust to a new trusted root: failed to validate data with current trusted certificates',
        { suggestion: 'The new root is not signed by the old root key: it may be forged.' },
      );
    }
  }
  const certKeys = validRootCertKeys(candidate.signed, gun, now);
  if (Object.keys(certKeys).length === 0) {
    throw new VerificationError(
      'BAD_CERTIFICATE',
      'could not validate the path to a trusted root: unable to retrieve valid leaf certificates',
    );
  }
  if (countValidSignatures(candidate, certKeys, options) < candidate.signed.role('root').threshold) {
    throw new VerificationError(
      'THRESHOLD_NOT_MET',
      'could not validate the path to a trusted root: failed to validate integrity of roots',
    );
  }
}
