/**
 * Field readers for metadata parsing. Each reader throws a MetadataError that
 * names the field, so a malformed file is refused with a message that says
 * exactly what is wrong. Unknown fields are collected so that models can keep
 * them (tuf-js and python-tuf keep `unrecognized_fields` the same way).
 */
import { MetadataError } from '../errors.js';
import type { JsonObject, JsonValue } from '../encoding/canonical-json.js';
import { isJsonObject } from '../encoding/canonical-json.js';

export function fail(where: string, what: string): never {
  throw new MetadataError('MALFORMED_METADATA', `${where}: ${what}`);
}

export function asObject(value: JsonValue | undefined, where: string): JsonObject {
  if (!isJsonObject(value)) fail(where, 'expected a JSON object');
  return value;
}

export function asString(value: JsonValue | undefined, where: string): string {
  if (typeof value !== 'string') fail(where, 'expected a string');
  return value;
}

export function asInteger(value: JsonValue | undefined, where: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(where, 'expected an integer');
  return value;
}

export function asBoolean(value: JsonValue | undefined, where: string): boolean {
  if (typeof value !== 'boolean') fail(where, 'expected a boolean');
  return value;
}

export function asArray(value: JsonValue | undefined, where: string): JsonValue[] {
  if (!Array.isArray(value)) fail(where, 'expected an array');
  return value;
}

export function asStringArray(value: JsonValue | undefined, where: string): string[] {
  return asArray(value, where).map((item, i) => asString(item, `${where}[${i}]`));
}

/** The fields of `obj` not in `known`, kept verbatim for serialization. */
export function unrecognized(obj: JsonObject, known: readonly string[]): Record<string, JsonValue> {
  const out = emptyObject<JsonValue>();
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) out[key] = obj[key] as JsonValue;
  }
  return out;
}

/** A null-prototype object, so that keys read from metadata can never reach Object.prototype. */
export function emptyObject<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
