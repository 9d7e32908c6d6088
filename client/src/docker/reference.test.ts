import { describe, expect, it } from 'vitest';
import { familiarString, parseReference, referenceString, withDefaultTag } from './reference.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseReference (distribution/reference ParseNormalizedNamed)', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox', 'busybox'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io/library/busybox', 'busybox'],
    ['docker.io/library/busybox', 'docker.io/library/busybox', 'busybox'],
    ['index.docker.io/alice/app', 'docker.io/alice/app', 'alice/app'],
    ['alice/app:v1', 'docker.io/alice/app:v1', 'alice/app:v1'],
    ['alice/team/app', 'docker.io/alice/team/app', 'alice/team/app'],
    ['localhost/app', 'localhost/app', 'localhost/app'],
    ['localhost:4443/alice/app:v1', 'localhost:4443/alice/app:v1', 'localhost:4443/alice/app:v1'],
    ['127.0.0.1:4443/x/y', '127.0.0.1:4443/x/y', '127.0.0.1:4443/x/y'],
    [`host:5000/x/y@${D}`, `host:5000/x/y@${D}`, `host:5000/x/y@${D}`],
    [`alpine:3.20@${D}`, `docker.io/library/alpine:3.20@${D}`, `alpine:3.20@${D}`],
    ['UPPER/x', 'UPPER/x', 'UPPER/x'],
    ['a.b-c/d__e/f-g', 'a.b-c/d__e/f-g', 'a.b-c/d__e/f-g'],
  ])('%s → %s', (input, full, familiar) => {
    const ref = parseReference(input);
    expect(referenceString(ref)).toBe(full);
    expect(familiarString(ref)).toBe(familiar);
  });

  it.each([
    ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
    ['Bad:tag:x', 'invalid reference format: repository name (library/Bad) must be lowercase'],
    ['alice/App', 'invalid reference format: repository name (alice/App) must be lowercase'],
    ['a//b', 'invalid reference format'],
    ['busybox:', 'invalid reference format'],
    ['x@sha256:abc', 'invalid reference format'],
    ['-x', 'invalid reference format'],
    ['x:' + 't'.repeat(129), 'invalid reference format'],
    [`x@sha256:${'a'.repeat(63)}`, 'invalid checksum digest length'],
    [`x@sha256:${'a'.repeat(66)}`, 'invalid checksum digest length'],
    [`x@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
    [
      'a'.repeat(64),
      `invalid repository name (${'a'.repeat(64)}), cannot specify 64-byte hexadecimal strings`,
    ],
    ['', 'invalid reference format'],
  ])('refuses %s', (input, message) => {
    expect(() => parseReference(input)).toThrow(message);
  });

  it('adds latest only to a bare name', () => {
    expect(referenceString(withDefaultTag(parseReference('busybox')))).toBe(
      'docker.io/library/busybox:latest',
    );
    expect(referenceString(withDefaultTag(parseReference(`busybox@${D}`)))).toBe(
      `docker.io/library/busybox@${D}`,
    );
  });
});
