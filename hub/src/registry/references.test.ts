import { describe, expect, it } from 'vitest';
import { assertDigest, isValidName, isValidTag, parseReference } from './references.js';

describe('repository names', () => {
  it.each(['alpine', 'library/alpine', 'alice/app', 'a/b/c', 'my-app', 'my__app', 'a.b', 'a---b', 'x0/y_z'])(
    'accepts %s',
    (name) => expect(isValidName(name)).toBe(true),
  );
  it.each([
    '',
    '../etc',
    'a/../b',
    'Alice/app',
    'a//b',
    '/a',
    'a/',
    '-a',
    'a_',
    'a___b',
    'a..b',
    'a%2fb',
    'a b',
  ])('refuses %j', (name) => expect(isValidName(name)).toBe(false));
  it('caps the length at 255', () => {
    expect(isValidName('a'.repeat(255))).toBe(true);
    expect(isValidName('a'.repeat(256))).toBe(false);
  });
});

describe('references', () => {
  it('tells tags from digests', () => {
    expect(parseReference('latest')).toEqual({ kind: 'tag', tag: 'latest' });
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(parseReference(digest)).toEqual({ kind: 'digest', digest });
  });
  it('refuses bad tags and digests with the spec codes', () => {
    expect(isValidTag('.hidden')).toBe(false);
    expect(isValidTag('a'.repeat(129))).toBe(false);
    expect(() => parseReference('sha256:xyz')).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
    expect(() => assertDigest(`sha512:${'a'.repeat(128)}`)).toThrow(/sha256 only/);
    expect(() => assertDigest(undefined)).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
  });
});
