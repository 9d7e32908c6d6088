import { describe, expect, it } from 'vitest';
import { MetadataError } from '../errors.js';
import { fromUtf8, utf8 } from '../encoding/bytes.js';
import { metadataVectors, readVector } from '../testing/vectors.js';
import { isDelegationName, Metadata, parentRole } from './metadata.js';

const vectors = metadataVectors();

describe('notary metadata vectors', () => {
  it('finds the vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(25);
  });

  it.each(vectors.map((v) => [v.path, v] as const))('%s round-trips to the same bytes', (_path, v) => {
    const md = Metadata.parse(v.bytes, v.type, v.role);
    expect(md.signed.type).toBe(v.type);
    expect(fromUtf8(md.toBytes())).toBe(fromUtf8(v.bytes));
  });

  it('re-serialising the typed model gives the signed bytes (Go struct order = canonical order)', () => {
    for (const v of vectors) {
      const md = Metadata.parse(v.bytes, v.type, v.role);
      expect(fromUtf8(Metadata.create(md.signed).signedBytes)).toBe(fromUtf8(md.signedBytes));
    }
  });

  it('keeps <, > and & raw in the signed bytes but escaped in the file', () => {
    const md = Metadata.parse(readVector('targets_escaping.json'), 'Targets');
    expect(Object.keys(md.signed.targets)).toContain('x<y&z>');
    expect(fromUtf8(md.signedBytes)).toContain('"x<y&z>"');
    expect(fromUtf8(md.toBytes())).toContain('"x\\u003cy\\u0026z\\u003e"');
  });
});

describe('unknown fields', () => {
  it('are kept at every level and written back', () => {
    const text = fromUtf8(readVector('after-delegation/targets.json'))
      .replace('"_type":"Targets"', '"_type":"Targets","x_extra":{"b":1,"a":[true]}')
      .replace('"name":"targets/releases"', '"name":"targets/releases","z_role":"kept"')
      .replace('"length":12}', '"length":12,"y_meta":null}');
    const md = Metadata.parse(utf8(text), 'Targets');
    const out = fromUtf8(md.toBytes());
    expect(out).toContain('"x_extra":{"a":[true],"b":1}');
    expect(out).toContain('"z_role":"kept"');
    expect(out).toContain('"y_meta":null');
  });
});

describe('names that are also Object.prototype keys', () => {
  it('a target called __proto__ or constructor is ordinary data and round-trips', () => {
    const text = fromUtf8(readVector('targets.json'))
      .replace('"v1":', '"__proto__":')
      .replace(
        '"targets":{',
        '"targets":{"constructor":{"hashes":{"sha256":"qUiQTy8PR5uPgZdpSzAYSw0u0cHNKh7A+4XSmaGSpEc="},"length":12},',
      );
    const md = Metadata.parse(utf8(text), 'Targets');
    expect(Object.keys(md.signed.targets).sort()).toEqual(['__proto__', 'constructor']);
    expect(fromUtf8(Metadata.create(md.signed).signedBytes)).toBe(fromUtf8(md.signedBytes));
    expect(({} as Record<string, unknown>).length).toBeUndefined();
  });
});

describe('refusals', () => {
  const root = fromUtf8(readVector('root.json'));
  const cases: Array<[string, string, string]> = [
    ['malformed JSON', root.slice(0, -2), 'MALFORMED_JSON'],
    ['wrong _type', root.replace('"_type":"Root"', '"_type":"Targets"'), 'WRONG_TYPE'],
    ['version 0', root.replace('"version":1}', '"version":0}'), 'MALFORMED_METADATA'],
    ['fractional version', root.replace('"version":1}', '"version":1.5}'), 'MALFORMED_METADATA'],
    ['missing role', root.replace('"snapshot":{"keyids"', '"snapshotx":{"keyids"'), 'MALFORMED_METADATA'],
    ['threshold 0', root.replace('"threshold":1}', '"threshold":0}'), 'MALFORMED_METADATA'],
    ['bad expiry', root.replace('"expires":"2036', '"expires":"x2036'), 'MALFORMED_METADATA'],
    ['not an object', '[]', 'MALFORMED_METADATA'],
  ];
  it.each(cases)('%s', (_name, text, code) => {
    expect(() => Metadata.parse(utf8(text), 'Root')).toThrow(expect.objectContaining({ code }));
  });

  it('refuses a hash of the wrong length', () => {
    const text = fromUtf8(readVector('snapshot.json')).replace(/"sha256":"[^"]+"/, '"sha256":"AAAA"');
    expect(() => Metadata.parse(utf8(text), 'Snapshot')).toThrow(MetadataError);
  });

  it('refuses a snapshot without the targets sha256', () => {
    const text = fromUtf8(readVector('snapshot.json')).replace(
      /("targets":\{"hashes":\{)"sha256":"[^"]+",/,
      '$1',
    );
    expect(() => Metadata.parse(utf8(text), 'Snapshot')).toThrow(/sha256/);
  });

  it('refuses a delegation that is not a child of the file it sits in', () => {
    const text = fromUtf8(readVector('after-delegation/targets.json')).replace(
      '"name":"targets/releases"',
      '"name":"targets/releases/deep"',
    );
    expect(() => Metadata.parse(utf8(text), 'Targets')).toThrow(/direct child/);
  });
});

describe('delegation names (notary IsDelegation)', () => {
  it.each([
    ['targets/releases', true],
    ['targets/a/b', true],
    ['targets', false],
    ['targets/', false],
    ['targets/Releases', false],
    ['targets/../root', false],
    ['targets//x', false],
    ['snapshot/x', false],
    ['targets/' + 'a'.repeat(248), false],
  ])('%s → %s', (name, ok) => {
    expect(isDelegationName(name)).toBe(ok);
  });
  it('parent of targets/a/b is targets/a', () => {
    expect(parentRole('targets/a/b')).toBe('targets/a');
  });
});
