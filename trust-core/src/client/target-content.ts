/**
 * Checking downloaded target content (for docker: the image manifest)
 * against the length and hashes trust data gives for it (TUF 5.7.3). docker
 * pulls by the signed digest and the registry client checks the bytes; this
 * is the same check for callers that fetch the content themselves.
 */
import { VerificationError } from '../errors.js';
import { toHex } from '../encoding/bytes.js';
import type { FileMeta } from '../models/file-meta.js';
import { checkHashes } from '../models/file-meta.js';

export function verifyTargetContent(name: string, meta: FileMeta, content: Uint8Array): void {
  if (content.length !== meta.length) {
    throw new VerificationError(
      'LENGTH_MISMATCH',
      `target ${name} is ${content.length} bytes, but trust data says ${meta.length}`,
      { suggestion: 'The content does not match what was signed: it may have been tampered with.' },
    );
  }
  const check = checkHashes(content, meta.hashes);
  if (!check.ok) {
    const expected = meta.hashes[check.algorithm];
    throw new VerificationError(
      'HASH_MISMATCH',
      `${check.algorithm} checksum for ${name} did not match: expected ${expected ? toHex(expected) : 'a known hash'}`,
      { suggestion: 'The content does not match what was signed: it may have been tampered with.' },
    );
  }
}
