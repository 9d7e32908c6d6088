import { describe, expect, it } from 'vitest';
import { TokenError } from './errors.js';
import { NOTARY_YKCS11_PATHS, OPENSC_PKCS11_PATHS, findModule } from './module-path.js';

function existing(...files: string[]): (file: string) => boolean {
  return (file) => files.includes(file);
}

function noModule(run: () => unknown): TokenError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TokenError);
    return error as TokenError;
  }
  throw new Error('expected NO_MODULE');
}

describe('findModule', () => {
  it('searches notary 0.7 pkcs11_linux.go paths in order, then OpenSC', () => {
    expect(NOTARY_YKCS11_PATHS.linux).toEqual([
      '/usr/lib/libykcs11.so',
      '/usr/lib/libykcs11.so.1',
      '/usr/lib64/libykcs11.so',
      '/usr/lib64/libykcs11.so.1',
      '/usr/lib/x86_64-linux-gnu/libykcs11.so',
      '/usr/local/lib/libykcs11.so',
    ]);
    const all = [...(NOTARY_YKCS11_PATHS.linux ?? []), ...(OPENSC_PKCS11_PATHS.linux ?? [])];
    // Whichever subset exists, the earliest in the list wins.
    for (let i = 0; i < all.length; i++) {
      expect(findModule({ platform: 'linux', exists: existing(...all.slice(i)) })).toBe(all[i]);
    }
    expect(
      findModule({
        platform: 'linux',
        exists: existing('/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so', '/usr/local/lib/libykcs11.so'),
      }),
    ).toBe('/usr/local/lib/libykcs11.so');
  });

  it('searches notary 0.7 pkcs11_darwin.go paths on macOS', () => {
    expect(NOTARY_YKCS11_PATHS.darwin).toEqual([
      '/usr/local/lib/libykcs11.dylib',
      '/usr/local/docker/lib/libykcs11.dylib',
      '/usr/local/docker-experimental/lib/libykcs11.dylib',
    ]);
    expect(
      findModule({
        platform: 'darwin',
        exists: existing('/usr/local/docker/lib/libykcs11.dylib', '/Library/OpenSC/lib/opensc-pkcs11.so'),
      }),
    ).toBe('/usr/local/docker/lib/libykcs11.dylib');
    expect(findModule({ platform: 'darwin', exists: existing('/Library/OpenSC/lib/opensc-pkcs11.so') })).toBe(
      '/Library/OpenSC/lib/opensc-pkcs11.so',
    );
  });

  it('lets an explicit --module win, and insists that it exists', () => {
    expect(
      findModule({
        explicit: '/opt/x.so',
        platform: 'linux',
        exists: existing('/opt/x.so', '/usr/lib/libykcs11.so'),
      }),
    ).toBe('/opt/x.so');
    const error = noModule(() =>
      findModule({ explicit: '/opt/x.so', platform: 'linux', exists: existing('/usr/lib/libykcs11.so') }),
    );
    expect(error.code).toBe('NO_MODULE');
    expect(error.message).toContain('/opt/x.so');
  });

  it('throws NO_MODULE naming every path tried', () => {
    const error = noModule(() => findModule({ platform: 'linux', exists: () => false }));
    expect(error.code).toBe('NO_MODULE');
    for (const file of [...(NOTARY_YKCS11_PATHS.linux ?? []), ...(OPENSC_PKCS11_PATHS.linux ?? [])]) {
      expect(error.message).toContain(file);
    }
    expect(error.suggestion).toMatch(/--module/);
    expect(noModule(() => findModule({ platform: 'win32', exists: () => true })).code).toBe('NO_MODULE');
  });
});
