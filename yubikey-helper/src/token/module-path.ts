/**
 * Where the PKCS#11 module is. notary 0.7 looks for Yubico's libykcs11 at a fixed list of paths
 * per platform (trustmanager/yubikey/pkcs11_linux.go, pkcs11_darwin.go) and uses the first that
 * exists; we search the same list in the same order, then OpenSC's module (which also drives a
 * YubiKey's PIV application), and an explicit `--module PATH` wins over both.
 */
import { existsSync } from 'node:fs';
import { TokenError } from './errors.js';

/** notary's `possiblePkcs11Libs`, in its order. */
export const NOTARY_YKCS11_PATHS: Readonly<Partial<Record<NodeJS.Platform, readonly string[]>>> = {
  linux: [
    '/usr/lib/libykcs11.so',
    '/usr/lib/libykcs11.so.1', // yubico-piv-tool on Fedora
    '/usr/lib64/libykcs11.so',
    '/usr/lib64/libykcs11.so.1', // yubico-piv-tool on Fedora
    '/usr/lib/x86_64-linux-gnu/libykcs11.so',
    '/usr/local/lib/libykcs11.so',
  ],
  darwin: [
    '/usr/local/lib/libykcs11.dylib',
    '/usr/local/docker/lib/libykcs11.dylib',
    '/usr/local/docker-experimental/lib/libykcs11.dylib',
  ],
};

/** OpenSC's PKCS#11 module, tried after notary's paths (not something notary itself looks for). */
export const OPENSC_PKCS11_PATHS: Readonly<Partial<Record<NodeJS.Platform, readonly string[]>>> = {
  linux: [
    '/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so',
    '/usr/lib/opensc-pkcs11.so',
    '/usr/local/lib/opensc-pkcs11.so',
  ],
  darwin: [
    '/usr/local/lib/opensc-pkcs11.so',
    '/Library/OpenSC/lib/opensc-pkcs11.so',
    '/usr/local/lib/opensc-pkcs11.dylib',
  ],
};

export interface FindModuleOptions {
  explicit?: string;
  platform?: NodeJS.Platform;
  exists?: (file: string) => boolean;
}

/**
 * The module to load: `explicit` when given (it must exist), else the first existing path of
 * notary's libykcs11 list, then OpenSC's. Throws TokenError NO_MODULE naming the paths tried.
 */
export function findModule(options: FindModuleOptions = {}): string {
  const exists = options.exists ?? existsSync;
  if (options.explicit !== undefined) {
    if (exists(options.explicit)) return options.explicit;
    throw new TokenError('NO_MODULE', `PKCS#11 module ${options.explicit} does not exist`, {
      suggestion: 'Check the path given with --module.',
    });
  }
  const platform = options.platform ?? process.platform;
  const candidates = [...(NOTARY_YKCS11_PATHS[platform] ?? []), ...(OPENSC_PKCS11_PATHS[platform] ?? [])];
  const found = candidates.find((file) => exists(file));
  if (found !== undefined) return found;
  const tried = candidates.length === 0 ? `none known for ${platform}` : candidates.join(', ');
  throw new TokenError('NO_MODULE', `no PKCS#11 module for the YubiKey found (tried: ${tried})`, {
    suggestion:
      'Install Yubico\u2019s PIV tool (Debian: apt-get install ykcs11; macOS: brew install yubico-piv-tool) or OpenSC, or pass the module with --module PATH.',
  });
}
