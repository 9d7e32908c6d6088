/**
 * A SoftHSM2 token standing in for a YubiKey: a temporary directory with its own softhsm2.conf and
 * one token initialised by `softhsm2-util`. SoftHSM2 reads SOFTHSM2_CONF when the module is
 * initialised (C_Initialize), so whoever opens the token in this process sets
 * `process.env.SOFTHSM2_CONF = token.conf` first (and closes it before opening another one);
 * a child process gets `token.env`. Suites using this call
 * `requireBinariesForSuite(['softhsm2-util'])` (Debian package softhsm2).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_SO_PIN, DEFAULT_USER_PIN } from '../../yubikey-helper/src/token/index.js';
import { requireBinary } from './binaries.js';

const run = promisify(execFile);

/** Where Debian's softhsm2 puts the PKCS#11 module. */
export const SOFTHSM_MODULE_PATHS: readonly string[] = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
];

/** The SoftHSM2 PKCS#11 module; throws, naming the Debian package, when it is not installed. */
export function softHsmModule(): string {
  const found = SOFTHSM_MODULE_PATHS.find((file) => existsSync(file));
  if (found === undefined) {
    throw new Error(
      `SoftHSM2's PKCS#11 module not found (tried ${SOFTHSM_MODULE_PATHS.join(', ')}). Install with: apt-get install softhsm2`,
    );
  }
  return found;
}

export interface SoftTokenOptions {
  label?: string;
  userPin?: string;
  soPin?: string;
}

export interface SoftToken {
  /** Path of the PKCS#11 module to load. */
  module: string;
  /** Path of this token's softhsm2.conf (the value for SOFTHSM2_CONF). */
  conf: string;
  /** The temporary directory holding the conf and the token files. */
  dir: string;
  /** `{ SOFTHSM2_CONF: conf }`, to merge into a child process's environment. */
  env: Record<string, string>;
  /** Removes the directory (the token with it). */
  cleanup(): Promise<void>;
}

export async function createSoftToken(options: SoftTokenOptions = {}): Promise<SoftToken> {
  const util = requireBinary('softhsm2-util');
  const module = softHsmModule();
  const dir = await mkdtemp(path.join(tmpdir(), 'trustlab-softhsm-'));
  try {
    const tokens = path.join(dir, 'tokens');
    await mkdir(tokens);
    const conf = path.join(dir, 'softhsm2.conf');
    await writeFile(
      conf,
      `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\n`,
    );
    const env = { SOFTHSM2_CONF: conf };
    await run(
      util,
      [
        '--init-token',
        '--free',
        '--label',
        options.label ?? 'trustlab-softhsm',
        '--so-pin',
        options.soPin ?? DEFAULT_SO_PIN,
        '--pin',
        options.userPin ?? DEFAULT_USER_PIN,
      ],
      { env: { ...process.env, ...env } },
    );
    return { module, conf, dir, env, cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
