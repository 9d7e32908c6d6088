/**
 * What can be read from a notary key file without decrypting it: its role
 * and GUN headers (all `notary key list` shows), and whether it is
 * encrypted. Kept apart from key-file.ts so listing keys loads no
 * cryptography.
 */
import { KeyError } from '../errors.js';
import type { PemBlock } from './pem.js';
import { decodePem, PemError } from './pem.js';

export const ENCRYPTED_TYPE = 'ENCRYPTED PRIVATE KEY';

const BASE_ROLES = new Set(['root', 'targets', 'snapshot', 'timestamp']);

export interface KeyFileHeaders {
  role?: string;
  gun?: string;
  encrypted: boolean;
}

/**
 * The GUN notary records for a key of `role` (trustmanager keystore AddKey):
 * root keys, delegation keys and any non-base role (e.g. docker's `alice`)
 * are stored without a GUN; targets/snapshot/timestamp keep theirs.
 */
export function keyFileGun(role: string, gun: string | undefined): string | undefined {
  if (!gun || role === 'root' || !BASE_ROLES.has(role)) return undefined;
  return gun;
}

export function keyFileError(message: string, cause?: unknown): KeyError {
  return new KeyError('KEY_FILE', message, {
    cause,
    suggestion: 'The key file is damaged or is not a notary private key; restore it from your backup.',
  });
}

export function blockOf(pem: string): PemBlock {
  try {
    return decodePem(pem);
  } catch (cause) {
    if (cause instanceof PemError) throw keyFileError(`not a private key file: ${cause.message}`, cause);
    throw cause;
  }
}

export function isLegacyEncrypted(block: PemBlock): boolean {
  return (block.headers['Proc-Type'] ?? '').includes('ENCRYPTED');
}

/** Read role and GUN from a key file's headers without decrypting it (what `notary key list` shows). */
export function readKeyFileHeaders(pem: string): KeyFileHeaders {
  const block = blockOf(pem);
  const out: KeyFileHeaders = { encrypted: block.type === ENCRYPTED_TYPE || isLegacyEncrypted(block) };
  if (block.headers.role !== undefined) out.role = block.headers.role;
  if (block.headers.gun) out.gun = block.headers.gun;
  return out;
}
