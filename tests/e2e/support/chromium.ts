/**
 * The browser the end-to-end tests drive: Debian's Chromium at its packaged
 * path (Playwright's own browser downloads are not used). The project's
 * rule for missing programs applies: under CI=true a missing Chromium fails
 * the run; elsewhere the tests are skipped, and say so.
 */
import { accessSync, constants } from 'node:fs';
import { isCi } from '../../support/binaries.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_MISSING = `${CHROMIUM_PATH} is missing: install Debian's chromium package (apt-get install chromium) to run the end-to-end tests`;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when Chromium is where the tests expect it. */
export function chromiumInstalled(): boolean {
  return executable(CHROMIUM_PATH);
}

/**
 * Whether the end-to-end tests can run. Throws under CI=true when Chromium
 * is missing (a skip there would hide the gap); warns and returns false
 * elsewhere.
 */
export function chromiumAvailable(): boolean {
  if (chromiumInstalled()) return true;
  if (isCi()) throw new Error(`[e2e] ${CHROMIUM_MISSING}`);
  console.warn(`[e2e] SKIPPED, not passed: ${CHROMIUM_MISSING}`);
  return false;
}
