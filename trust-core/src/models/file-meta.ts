/**
 * Hashes and file metadata, as notary's tuf/data types.go `FileMeta` and
 * `Hashes` write them: hashes are base64 of the raw digest (not hex), keyed by
 * algorithm name; `custom` is an opaque JSON value that notary signs raw and
 * verifies canonicalised (notary tuf/signed and docker/go canonical/json), so we keep it as parsed and always
 * serialise it canonically.
 */
import { MetadataError } from '../errors.js';
import type { JsonObject, JsonValue } from '../encoding/canonical-json.js';
import { bytesEqual, fromBase64, sha256, sha512, toBase64 } from '../encoding/bytes.js';
import { asInteger, asObject, asString, emptyObject, fail, unrecognized } from './fields.js';

/** Digest sizes notary knows (tuf/data/types.go CheckValidHashStructures). */
const KNOWN_HASH_LENGTHS: Record<string, number> = { sha256: 32, sha512: 64 };

export type Hashes = Record<string, Uint8Array>;

export function parseHashes(value: JsonValue | undefined, where: string): Hashes {
  const obj = asObject(value, where);
  const hashes = emptyObject<Uint8Array>();
  for (const [alg, encoded] of Object.entries(obj)) {
    let digest: Uint8Array;
    try {
      digest = fromBase64(asString(encoded, `${where}.${alg}`));
    } catch (cause) {
      throw new MetadataError('MALFORMED_METADATA', `${where}.${alg}: not valid base64`, { cause });
    }
    hashes[alg] = digest;
  }
  checkHashStructure(hashes, where);
  return hashes;
}

/**
 * notary CheckValidHashStructures: at least one known algorithm is present,
 * and every known one has the right digest length.
 */
export function checkHashStructure(hashes: Hashes, where: string): void {
  let known = 0;
  for (const [alg, digest] of Object.entries(hashes)) {
    const expected = KNOWN_HASH_LENGTHS[alg];
    if (expected === undefined) continue;
    known++;
    if (digest.length !== expected) fail(where, `invalid ${alg} checksum length ${digest.length}`);
  }
  if (known === 0) fail(where, 'at least one supported hash needed (sha256 or sha512)');
}

export function hashesToJSON(hashes: Hashes): JsonObject {
  const out = emptyObject<JsonValue>();
  for (const [alg, digest] of Object.entries(hashes)) out[alg] = toBase64(digest);
  return out;
}

/** Both hashes notary writes for metadata and `notary add` targets. */
export function computeHashes(bytes: Uint8Array): Hashes {
  return { sha256: sha256(bytes), sha512: sha512(bytes) };
}

export type HashCheck = { ok: true } | { ok: false; algorithm: string };

/**
 * Check bytes against every known hash present (notary CheckHashes: all
 * present hashes must match, and at least one must be known).
 */
export function checkHashes(bytes: Uint8Array, hashes: Hashes): HashCheck {
  let checked = 0;
  for (const [alg, expected] of Object.entries(hashes)) {
    const actual = alg === 'sha256' ? sha256(bytes) : alg === 'sha512' ? sha512(bytes) : undefined;
    if (actual === undefined) continue;
    checked++;
    if (!bytesEqual(actual, expected)) return { ok: false, algorithm: alg };
  }
  return checked > 0 ? { ok: true } : { ok: false, algorithm: 'none' };
}

export class FileMeta {
  constructor(
    readonly length: number,
    readonly hashes: Hashes,
    readonly custom: JsonValue | undefined = undefined,
    readonly unrecognizedFields: Record<string, JsonValue> = {},
  ) {}

  static fromJSON(value: JsonValue | undefined, where: string): FileMeta {
    const obj = asObject(value, where);
    const length = asInteger(obj.length, `${where}.length`);
    if (length < 0) fail(`${where}.length`, 'must not be negative');
    const hashes = parseHashes(obj.hashes, `${where}.hashes`);
    const custom = obj.custom === null ? undefined : obj.custom;
    return new FileMeta(length, hashes, custom, unrecognized(obj, ['length', 'hashes', 'custom']));
  }

  static forBytes(bytes: Uint8Array, custom?: JsonValue): FileMeta {
    return new FileMeta(bytes.length, computeHashes(bytes), custom);
  }

  /** sha256 digest as lower-case hex, if present (the form `notary list` prints). */
  get sha256(): Uint8Array | undefined {
    return this.hashes.sha256;
  }

  /** Built once: file metadata does not change, and a targets file re-signs thousands of them. */
  private json: JsonObject | undefined;

  toJSON(): JsonObject {
    if (this.json) return this.json;
    const out: JsonObject = {
      ...this.unrecognizedFields,
      hashes: hashesToJSON(this.hashes),
      length: this.length,
    };
    if (this.custom !== undefined) out.custom = this.custom;
    this.json = out;
    return out;
  }
}
