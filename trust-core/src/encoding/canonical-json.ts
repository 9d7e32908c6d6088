/**
 * Canonical JSON exactly as notary signs it (github.com/docker/go/canonical/json,
 * `MarshalCanonical`), and the stored form of a metadata file.
 *
 * Invariants, each matching the Go code notary 0.7 and docker 28 share:
 * - object keys are sorted bytewise by their UTF-8 encoding (Go sorts strings
 *   by bytes; JavaScript compares UTF-16 code units, which differs above U+FFFF);
 * - no insignificant whitespace;
 * - inside strings only `"` and `\` are escaped; `<`, `>`, `&`, non-ASCII and
 *   even control characters are written raw;
 * - numbers must be integers (the verifier decodes into float64 and the
 *   canonical encoder refuses fractions).
 *
 * The file on disk or on the wire is *not* the signed bytes: notary writes the
 * envelope with `json.Marshal`, which escapes `<`, `>`, `&`, U+2028 and U+2029
 * inside `signed` (notary tuf/signed and docker/go canonical/json, tests/vectors/notary/targets_escaping.json). `toStoredForm`
 * applies that escaping; signatures are always computed over the raw form.
 */
import { MetadataError } from '../errors.js';
import { fromUtf8, utf8 } from './bytes.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Compare two strings by the bytes of their UTF-8 encoding, i.e. by code point. */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, which sort
    // after every BMP code point in UTF-8 even though U+E000..U+FFFF are larger
    // UTF-16 units. Lift surrogates above the rest of the BMP before comparing.
    const ka = ca >= 0xd800 && ca <= 0xdfff ? ca + 0x10000 : ca;
    const kb = cb >= 0xd800 && cb <= 0xdfff ? cb + 0x10000 : cb;
    return ka - kb;
  }
  return a.length - b.length;
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPE_ALL = /["\\]/g;
// Code units from U+D800 up: surrogates (astral code points) and the top of
// the BMP, where UTF-16 order and UTF-8 byte order can disagree.
const BEYOND_SURROGATES = /[\ud800-\uffff]/;

function encodeString(s: string): string {
  // Only `"` and `\` are escaped by docker/go's canonical encoder.
  return NEEDS_ESCAPE.test(s) ? '"' + s.replace(ESCAPE_ALL, (c) => '\\' + c) + '"' : '"' + s + '"';
}

function encodeNumber(n: number): string {
  if (!Number.isFinite(n) || !Number.isInteger(n)) {
    throw new MetadataError('CANONICAL_JSON', `canonical json only allows integers, got ${String(n)}`);
  }
  if (Object.is(n, -0)) return '0';
  return Math.abs(n) < 1e21 ? String(n) : BigInt(n).toString();
}

function sortedKeys(obj: JsonObject): string[] {
  const keys = Object.keys(obj);
  // Plain UTF-16 order equals UTF-8 byte order unless a key has a code unit
  // at or above U+D800; only then is the slower comparison needed.
  return keys.some((k) => BEYOND_SURROGATES.test(k)) ? keys.sort(compareUtf8) : keys.sort();
}

function encode(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return encodeNumber(value);
    case 'string':
      return encodeString(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + encode(value[i] as JsonValue);
        return out + ']';
      }
      let out = '{';
      let first = true;
      for (const key of sortedKeys(value)) {
        out += (first ? '' : ',') + encodeString(key) + ':' + encode(value[key] as JsonValue);
        first = false;
      }
      return out + '}';
    }
    default:
      throw new MetadataError(
        'CANONICAL_JSON',
        `canonical json cannot encode a value of type ${typeof value}`,
      );
  }
}

/** The canonical text of a JSON value (the string whose UTF-8 bytes are signed). */
export function canonicalString(value: JsonValue): string {
  return encode(value);
}

/** The canonical bytes of a JSON value: what notary signs and verifies. */
export function canonicalBytes(value: JsonValue): Uint8Array {
  return utf8(canonicalString(value));
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/**
 * Escape a canonical JSON text the way Go's `json.Marshal` does when it embeds
 * a `json.RawMessage`: `<`, `>`, `&`, U+2028 and U+2029 become `\uXXXX`.
 *
 * Go also validates the raw message while doing so, and a raw control
 * character inside a string literal is invalid JSON: notary fails the publish
 * with `invalid character '\t' in string literal` (notary tuf/signed and docker/go canonical/json). We refuse the
 * same input here, so nothing notary would reject is ever written.
 */
export function toStoredForm(canonical: string): string {
  const bad = CONTROL_CHARACTER.exec(canonical);
  if (bad) {
    const shown = JSON.stringify(bad[0]).slice(1, -1);
    throw new MetadataError(
      'CANONICAL_JSON',
      `json: error calling MarshalJSON for type *json.RawMessage: invalid character '${shown}' in string literal`,
      { suggestion: 'Remove control characters (tabs, newlines) from target names and custom data.' },
    );
  }
  return canonical.replace(
    /[<>&\u2028\u2029]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

/**
 * Parse JSON text into plain values. Duplicate keys keep the last value, as
 * Go's decoder does. A key such as `__proto__` becomes an ordinary own
 * property (JSON.parse defines properties, it does not assign them); models
 * copy what they keep into null-prototype maps, so data never reaches
 * Object.prototype.
 */
export function parseJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw new MetadataError('MALFORMED_JSON', 'metadata is not valid JSON', { cause });
  }
}

/** Parse JSON from bytes, which must be valid UTF-8. */
export function parseJsonBytes(bytes: Uint8Array): JsonValue {
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch (cause) {
    throw new MetadataError('MALFORMED_JSON', 'metadata is not valid UTF-8', { cause });
  }
  return parseJson(text);
}

export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value);
}
