import { describe, expect, it } from 'vitest';
import { PrivateKey } from '../crypto/signatures.js';
import { verifyThreshold } from '../client/verify.js';
import { FileMeta } from '../models/file-meta.js';
import { Metadata, Targets } from '../models/metadata.js';
import { fromUtf8, toBase64, utf8 } from './bytes.js';
import { canonicalString, compareUtf8, parseJson, toStoredForm } from './canonical-json.js';

describe('canonical JSON (docker/go canonical MarshalCanonical)', () => {
  it('sorts keys bytewise and writes no whitespace', () => {
    expect(canonicalString({ b: 1, a: [true, null, 'x'], A: {} })).toBe('{"A":{},"a":[true,null,"x"],"b":1}');
  });

  it('sorts by UTF-8 bytes, not UTF-16 units', () => {
    // U+FF5E is a larger UTF-16 unit than the surrogates of U+1F600, but a smaller code point.
    const keys = ['\u{1F600}', '\uFF5E', 'z'];
    expect(keys.sort(compareUtf8)).toEqual(['z', '\uFF5E', '\u{1F600}']);
    expect(canonicalString({ '\u{1F600}': 1, '\uFF5E': 2 })).toBe('{"\uFF5E":2,"\u{1F600}":1}');
  });

  it('escapes only " and \\ and writes <, >, &, non-ASCII and control characters raw', () => {
    expect(canonicalString('q"b\\ <&> café\t')).toBe('"q\\"b\\\\ <&> café\t"');
  });

  it('allows integers only', () => {
    expect(canonicalString([0, -1, 2 ** 53 - 1])).toBe('[0,-1,9007199254740991]');
    expect(() => canonicalString(1.5)).toThrow(expect.objectContaining({ code: 'CANONICAL_JSON' }));
    expect(() => canonicalString(Number.NaN)).toThrow(expect.objectContaining({ code: 'CANONICAL_JSON' }));
  });
});

describe('stored form (Go json.Marshal of a RawMessage)', () => {
  it('escapes <, >, &, U+2028 and U+2029', () => {
    expect(toStoredForm('"x<y&z>\u2028\u2029"')).toBe('"x\\u003cy\\u0026z\\u003e\\u2028\\u2029"');
  });

  it('refuses control characters with notary’s message', () => {
    expect(() => toStoredForm('"a\tb"')).toThrow(
      "json: error calling MarshalJSON for type *json.RawMessage: invalid character '\\t' in string literal",
    );
  });

  it('so a target name with a TAB cannot be published', async () => {
    const md = Metadata.create(
      new Targets(1, '2030-01-01T00:00:00Z', { 'a\tb': FileMeta.forBytes(utf8('x')) }),
    );
    const signed = await md.sign([PrivateKey.generate('ecdsa').signer()]);
    expect(() => signed.toBytes()).toThrow(expect.objectContaining({ code: 'CANONICAL_JSON' }));
  });
});

describe('parseJson', () => {
  it('keeps __proto__ as plain data', () => {
    const value = parseJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses malformed JSON with a typed error', () => {
    expect(() => parseJson('{"a":')).toThrow(expect.objectContaining({ code: 'MALFORMED_JSON' }));
  });
});

describe('custom data is treated as notary treats it', () => {
  const key = PrivateKey.generate('ecdsa');
  const keys = { [key.id]: key.publicKey() };

  it('is written canonically when we sign, so it verifies', async () => {
    const meta = new FileMeta(1, FileMeta.forBytes(utf8('x')).hashes, { z: 1, a: '<&>' });
    const md = await Metadata.create(new Targets(1, '2030-01-01T00:00:00Z', { t: meta })).sign([
      key.signer(),
    ]);
    const parsed = Metadata.parse(md.toBytes(), 'Targets');
    expect(() => verifyThreshold(parsed, keys, 1, 'targets')).not.toThrow();
    expect(fromUtf8(md.toBytes())).toContain('"custom":{"a":"\\u003c\\u0026\\u003e","z":1}');
  });

  it('signed raw but not canonical (as a Go signer embeds it), it fails verification', () => {
    // notary embeds `custom` raw at signing and canonicalises it at verification:
    // with unsorted keys the signature cannot verify (notary tuf/signed and docker/go canonical/json).
    const hash = toBase64(FileMeta.forBytes(utf8('x')).hashes.sha256!);
    const raw =
      '{"_type":"Targets","delegations":{"keys":{},"roles":[]},"expires":"2030-01-01T00:00:00Z",' +
      `"targets":{"t":{"custom":{"z":1,"a":2},"hashes":{"sha256":"${hash}"},"length":1}},"version":1}`;
    const sig = toBase64(key.sign(utf8(raw)));
    const file = `{"signed":${raw},"signatures":[{"keyid":"${key.id}","method":"ecdsa","sig":"${sig}"}]}`;
    const parsed = Metadata.parse(utf8(file), 'Targets');
    expect(() => verifyThreshold(parsed, keys, 1, 'targets')).toThrow(
      expect.objectContaining({ code: 'THRESHOLD_NOT_MET' }),
    );
  });
});
