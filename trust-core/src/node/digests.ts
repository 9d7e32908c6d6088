/**
 * Native SHA-256 and SHA-512 from node:crypto for trust-core's digest
 * provider. Importing trust-core/src/node installs them (see index.ts).
 */
import { createHash } from 'node:crypto';
import type { DigestProvider } from '../encoding/bytes.js';

function digest(algorithm: 'sha256' | 'sha512', bytes: Uint8Array): Uint8Array {
  const out = createHash(algorithm).update(bytes).digest();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

export const nodeDigests: DigestProvider = {
  sha256: (bytes) => digest('sha256', bytes),
  sha512: (bytes) => digest('sha512', bytes),
};
