/**
 * The first parse notary-server applies to each uploaded part, before any
 * TUF validation (notary server/handlers/default.go atomicUpdateHandler):
 * `json.NewDecoder(part).Decode(&data.SignedMeta{})`.
 *
 * What that Go call accepts, and so what we accept here:
 * - only the FIRST JSON value of the part is read; anything after it is not
 *   looked at (the later, stricter parse of the TUF builder may still refuse it);
 * - `null` at the top level, or for `signed`, `signatures`, or any field, is
 *   fine (the field keeps its zero value, so `version` becomes 0);
 * - object keys match struct fields case-insensitively (`Signed` = `signed`),
 *   unknown keys are ignored;
 * - a wrong JSON type anywhere in the decoded fields is an error:
 *   `signed` must be an object, `_type` a string, `expires` an RFC 3339 time
 *   string (Go time.Time), `version` an integer literal (no fraction or
 *   exponent), `signatures` an array of objects with string `keyid`/`method`
 *   and a standard-base64 `sig` (Go []byte).
 * Invalid UTF-8 is accepted (Go substitutes U+FFFD). Any failure is
 * MALFORMED_JSON; the version read here is the one notary records and
 * compares in storage.
 */
import type { JsonValue } from '../encoding/canonical-json.js';
import { isJsonObject, parseJson } from '../encoding/canonical-json.js';

/** Index just past the first JSON value of `text` (after leading whitespace), or -1 if it never ends. */
export function firstJsonValueEnd(text: string): number {
  let i = 0;
  while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  if (i >= text.length) return -1;
  const first = text[i] as string;
  if (first !== '{' && first !== '[' && first !== '"') {
    // A literal or number: it ends at the first structural character or whitespace.
    let j = i;
    while (j < text.length && !' \t\n\r,]}[{:"'.includes(text[j] as string)) j++;
    return j;
  }
  let depth = 0;
  let inString = false;
  for (let j = i; j < text.length; j++) {
    const c = text[j] as string;
    if (inString) {
      if (c === '\\') j++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return j + 1;
      }
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const INTEGER_LITERAL = /^-?(0|[1-9]\d*)$/;
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The value of the last key equal to `name` ignoring ASCII case (Go's field matching; later keys win). */
function field(obj: Record<string, JsonValue>, name: string): JsonValue | undefined {
  let found: JsonValue | undefined;
  for (const key of Object.keys(obj)) if (key.toLowerCase() === name) found = obj[key];
  return found;
}

class GoDecodeError extends Error {}

function checkString(value: JsonValue | undefined, what: string): void {
  if (value !== undefined && value !== null && typeof value !== 'string')
    throw new GoDecodeError(`${what}: not a string`);
}

/**
 * Decode like notary's handler does. Returns the `signed.version` notary
 * records (0 when absent), or undefined when Go's decoder would fail.
 * JSON.parse loses the difference between `2` and `2.0`, so version literals
 * are re-read from the text (any `"version":` number in the part, which is
 * stricter than Go only if some other field named `version` holds a fraction).
 */
export function decodeSignedMeta(bytes: Uint8Array): { version: number } | undefined {
  const text = new TextDecoder('utf-8').decode(bytes);
  const end = firstJsonValueEnd(text);
  if (end < 0) return undefined;
  const first = text.slice(0, end);
  let value: JsonValue;
  try {
    value = parseJson(first);
  } catch {
    return undefined;
  }
  try {
    return { version: checkEnvelope(value, first) };
  } catch (error) {
    if (error instanceof GoDecodeError) return undefined;
    throw error;
  }
}

function checkEnvelope(value: JsonValue, text: string): number {
  if (value === null) return 0;
  if (!isJsonObject(value)) throw new GoDecodeError('not an object');
  let version = 0;
  const signed = field(value, 'signed');
  if (signed !== undefined && signed !== null) {
    if (!isJsonObject(signed)) throw new GoDecodeError('signed: not an object');
    checkString(field(signed, '_type'), '_type');
    const expires = field(signed, 'expires');
    if (expires !== undefined && expires !== null) {
      if (typeof expires !== 'string' || !RFC3339.test(expires) || Number.isNaN(Date.parse(expires)))
        throw new GoDecodeError('expires: not an RFC 3339 time');
    }
    const v = field(signed, 'version');
    if (v !== undefined && v !== null) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || !versionLiteralIsInteger(text))
        throw new GoDecodeError('version: not an integer');
      version = v;
    }
  }
  const sigs = field(value, 'signatures');
  if (sigs !== undefined && sigs !== null) {
    if (!Array.isArray(sigs)) throw new GoDecodeError('signatures: not an array');
    for (const sig of sigs) {
      if (sig === null) continue;
      if (!isJsonObject(sig)) throw new GoDecodeError('signature: not an object');
      checkString(field(sig, 'keyid'), 'keyid');
      checkString(field(sig, 'method'), 'method');
      const s = field(sig, 'sig');
      if (s !== undefined && s !== null && (typeof s !== 'string' || !STD_BASE64.test(s)))
        throw new GoDecodeError('sig: not base64');
    }
  }
  return version;
}

/** Every `"version":<number>` literal in the text is a plain integer (Go refuses `2.0` or `2e0` for an int). */
function versionLiteralIsInteger(text: string): boolean {
  const re = /"version"\s*:\s*(-?[0-9][0-9.eE+-]*)/gi;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (!INTEGER_LITERAL.test(m[1] as string)) return false;
  }
  return true;
}
