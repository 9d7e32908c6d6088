/**
 * Byte helpers shared by trust-core: UTF-8, base64 (standard alphabet with
 * padding, as Go's encoding/base64.StdEncoding that notary uses), hex, and
 * digests. Kept tiny on purpose; the codecs come from @scure/base and the
 * hashes from @noble/hashes.
 */
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { base64 as b64, hex as hexCodec } from '@scure/base';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Decode UTF-8, throwing on invalid sequences (callers turn that into their own typed error). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

export function toBase64(bytes: Uint8Array): string {
  return b64.encode(bytes);
}

/** Strict standard base64; throws on anything else. */
export function fromBase64(text: string): Uint8Array {
  return b64.decode(text);
}

export function toHex(bytes: Uint8Array): string {
  return hexCodec.encode(bytes);
}

export function fromHex(text: string): Uint8Array {
  return hexCodec.decode(text);
}

/**
 * Where digests come from. The portable default is @noble/hashes; a host
 * with native hashing (Node: trust-core/src/node registers node:crypto)
 * swaps it in, since hashing multi-megabyte targets files is on the hot
 * path of every update.
 */
export interface DigestProvider {
  sha256(bytes: Uint8Array): Uint8Array;
  sha512(bytes: Uint8Array): Uint8Array;
}

let digests: DigestProvider = { sha256: nobleSha256, sha512: nobleSha512 };

export function useDigestProvider(provider: DigestProvider): void {
  digests = provider;
}

export function sha256(bytes: Uint8Array): Uint8Array {
  return digests.sha256(bytes);
}

export function sha512(bytes: Uint8Array): Uint8Array {
  return digests.sha512(bytes);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
