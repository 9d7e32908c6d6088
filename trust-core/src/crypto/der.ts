/**
 * A minimal DER reader and writer for the handful of small structures the keys
 * layer builds or checks byte for byte: SubjectPublicKeyInfo, PKCS#8
 * PrivateKeyInfo and EncryptedPrivateKeyInfo, SEC1 ECPrivateKey and the parts
 * of an X.509 certificate needed to find its public key.
 *
 * Writing these by hand keeps the output identical to what Go's encoding/asn1
 * produces for notary (minimal lengths, minimal INTEGERs) without depending on
 * a schema library's encoding choices. Certificates themselves are built with
 * @peculiar/asn1-x509 (see x509.ts). Internal to trust-core's crypto layer.
 */

export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_SEQUENCE = 0x30;

export interface DerNode {
  /** The full identifier octet (class, constructed bit and number); multi-byte tags are not supported. */
  readonly tag: number;
  /** The content octets. */
  readonly content: Uint8Array;
  /** Header plus content, exactly as found. */
  readonly raw: Uint8Array;
}

/** Thrown for anything that is not the DER we expect; callers wrap it in their own typed error. */
export class DerError extends Error {}

/** Read one TLV at `offset`. Only definite, minimally encoded lengths are accepted (DER). */
export function readTlv(bytes: Uint8Array, offset = 0): { node: DerNode; next: number } {
  if (offset + 2 > bytes.length) throw new DerError('truncated DER header');
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported');
  let pos = offset + 1;
  const first = bytes[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported DER length');
    if (pos + count > bytes.length) throw new DerError('truncated DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[pos++]!;
    if (length < 0x80 || (count > 1 && bytes[pos - count] === 0))
      throw new DerError('non-minimal DER length');
  }
  if (pos + length > bytes.length) throw new DerError('truncated DER content');
  return {
    node: { tag, content: bytes.subarray(pos, pos + length), raw: bytes.subarray(offset, pos + length) },
    next: pos + length,
  };
}

/** Parse a whole buffer as exactly one TLV (no trailing bytes). */
export function parseDer(bytes: Uint8Array, expectedTag?: number): DerNode {
  const { node, next } = readTlv(bytes, 0);
  if (next !== bytes.length) throw new DerError('trailing bytes after DER value');
  if (expectedTag !== undefined && node.tag !== expectedTag) {
    throw new DerError(`expected DER tag 0x${expectedTag.toString(16)}, got 0x${node.tag.toString(16)}`);
  }
  return node;
}

/** The children of a constructed value. */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError('DER value is not constructed');
  const out: DerNode[] = [];
  let pos = 0;
  while (pos < node.content.length) {
    const { node: child, next } = readTlv(node.content, pos);
    out.push(child);
    pos = next;
  }
  return out;
}

/** Children of a SEQUENCE, checking the tag. */
export function sequenceItems(node: DerNode): DerNode[] {
  if (node.tag !== TAG_SEQUENCE) throw new DerError('expected a DER SEQUENCE');
  return children(node);
}

export function expectTag(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (node === undefined || node.tag !== tag) throw new DerError(`expected ${what}`);
  return node;
}

/** Decode an OBJECT IDENTIFIER's content to dotted form. */
export function decodeOid(node: DerNode): string {
  expectTag(node, TAG_OID, 'an OBJECT IDENTIFIER');
  const c = node.content;
  if (c.length === 0) throw new DerError('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < c.length; i++) {
    const b = c[i]!;
    if (value === 0 && b === 0x80) throw new DerError('non-minimal OBJECT IDENTIFIER arc');
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new DerError('OBJECT IDENTIFIER arc too large');
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) {
        const head = value < 40 ? 0 : value < 80 ? 1 : 2;
        arcs.push(head, value - head * 40);
      } else {
        arcs.push(value);
      }
      value = 0;
    } else if (i === c.length - 1) {
      throw new DerError('truncated OBJECT IDENTIFIER');
    }
  }
  return arcs.join('.');
}

/** Content of a non-negative INTEGER with leading zero octets removed (an empty array for zero). */
export function unsignedIntegerBytes(node: DerNode): Uint8Array {
  expectTag(node, TAG_INTEGER, 'an INTEGER');
  const c = node.content;
  if (c.length === 0) throw new DerError('empty INTEGER');
  if ((c[0]! & 0x80) !== 0) throw new DerError('negative INTEGER');
  let i = 0;
  while (i < c.length && c[i] === 0) i++;
  return c.subarray(i);
}

/** A small non-negative INTEGER as a number. */
export function smallInteger(node: DerNode): number {
  const bytes = unsignedIntegerBytes(node);
  if (bytes.length > 6) throw new DerError('INTEGER too large');
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  return n;
}

/** Content of a BIT STRING with no unused bits (keys and signatures always are whole octets). */
export function bitStringBytes(node: DerNode): Uint8Array {
  expectTag(node, TAG_BIT_STRING, 'a BIT STRING');
  if (node.content.length === 0 || node.content[0] !== 0) throw new DerError('BIT STRING with unused bits');
  return node.content.subarray(1);
}

// ---- writing ----

function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const len = encodeLength(content.length);
  const out = new Uint8Array(1 + len.length + content.length);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

export function sequence(...items: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const item of items) total += item.length;
  const content = new Uint8Array(total);
  let pos = 0;
  for (const item of items) {
    content.set(item, pos);
    pos += item.length;
  }
  return tlv(TAG_SEQUENCE, content);
}

/** A non-negative INTEGER from big-endian magnitude bytes, minimally encoded as Go's encoding/asn1 does. */
export function integerFromBytes(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  let body = magnitude.subarray(i);
  if (body.length === 0) body = Uint8Array.of(0);
  if ((body[0]! & 0x80) !== 0) {
    const padded = new Uint8Array(body.length + 1);
    padded.set(body, 1);
    body = padded;
  }
  return tlv(TAG_INTEGER, body);
}

export function integer(value: number): Uint8Array {
  const bytes: number[] = [];
  let n = value;
  do {
    bytes.unshift(n & 0xff);
    n = Math.floor(n / 256);
  } while (n > 0);
  return integerFromBytes(Uint8Array.from(bytes));
}

export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG_OCTET_STRING, bytes);
}

export function bitString(bytes: Uint8Array): Uint8Array {
  const content = new Uint8Array(bytes.length + 1);
  content.set(bytes, 1);
  return tlv(TAG_BIT_STRING, content);
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => Number(a));
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) {
    throw new DerError(`bad OBJECT IDENTIFIER ${dotted}`);
  }
  const out: number[] = [];
  const push = (value: number): void => {
    const groups: number[] = [value & 0x7f];
    for (let n = Math.floor(value / 128); n > 0; n = Math.floor(n / 128)) groups.unshift((n & 0x7f) | 0x80);
    out.push(...groups);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(TAG_OID, Uint8Array.from(out));
}

/** [n] EXPLICIT wrapper (context-specific, constructed). */
export function explicit(n: number, content: Uint8Array): Uint8Array {
  return tlv(0xa0 | n, content);
}

export const OID = {
  ecPublicKey: '1.2.840.10045.2.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  prime256v1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  secp521r1: '1.3.132.0.35',
  // notary tuf/utils/pkcs8.go: crypto/x509 had no ed25519 OID, so notary uses this one (not RFC 8410's 1.3.101.112).
  notaryEd25519: '1.3.6.1.4.1.11591.15.1',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  hmacWithSHA1: '1.2.840.113549.2.7',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;
