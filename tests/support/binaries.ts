/**
 * Finds the real programs the interop tests drive, and applies the project's rule for missing
 * ones: on CI (`CI=true`) a missing program is a failure, locally the suite is skipped with a note
 * that names the Debian package to install.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** The Debian package that ships each program the harness knows about. */
export const DEBIAN_PACKAGES: Readonly<Record<string, string>> = {
  notary: 'notary',
  'notary-server': 'notary',
  'notary-signer': 'notary',
  'docker-registry': 'docker-registry',
  docker: 'docker.io',
  chromium: 'chromium',
  'softhsm2-util': 'softhsm2',
  bwrap: 'bubblewrap',
  openssl: 'openssl',
};

export function debianPackageFor(name: string): string {
  return DEBIAN_PACKAGES[name] ?? `(unknown package; the harness has no mapping for ${name})`;
}

/** Absolute path of `name` found through PATH, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here (or not executable); keep looking along PATH.
    }
  }
  return undefined;
}

export function hasBinary(name: string): boolean {
  return findBinary(name) !== undefined;
}

export class MissingBinaryError extends Error {
  constructor(readonly missing: readonly string[]) {
    super(
      `missing program(s) for the interop tests: ${missing
        .map((name) => `${name} (Debian package: ${debianPackageFor(name)})`)
        .join(', ')}. Install with: apt-get install ${[...new Set(missing.map(debianPackageFor))].join(' ')}`,
    );
    this.name = 'MissingBinaryError';
  }
}

/** Path of `name`; throws MissingBinaryError when it is not on PATH (used once a test is running). */
export function requireBinary(name: string): string {
  const found = findBinary(name);
  if (found === undefined) throw new MissingBinaryError([name]);
  return found;
}

export function isCi(): boolean {
  return process.env.CI === 'true';
}

/**
 * Decides, at collection time, whether a suite needing `names` can run. All present → true.
 * Something missing: on CI this throws (the file fails, a skip would hide the gap); locally it
 * prints which Debian packages to install and returns false, for `describe.skipIf(!ok)`.
 */
export function requireBinariesForSuite(names: readonly string[]): boolean {
  const missing = names.filter((name) => !hasBinary(name));
  if (missing.length === 0) return true;
  const error = new MissingBinaryError(missing);
  if (isCi()) throw error;
  console.warn(`[interop] SKIPPED, not passed: ${error.message}`);
  return false;
}
