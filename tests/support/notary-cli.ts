/**
 * Runs the real notary client against a harness notary-server. The child gets a clean environment
 * (PATH, a throwaway HOME so no ~/.notary/config.json leaks in) plus the four passphrase variables,
 * so no command ever waits on a prompt; stdin is closed unless the caller provides input.
 */
import { requireBinary } from './binaries.js';
import type { RunResult } from './process.js';
import { baseEnv, makeTempDir, removeTempDir, runCommand } from './process.js';

/** The passphrase every harness key is encrypted with (notary wants at least 8 characters). */
export const TEST_PASSPHRASE = 'trustlab-test-passphrase';

export interface NotaryRunOptions {
  /** notary's trust directory (`-d`): keys in private/, metadata cache in tuf/. */
  trustDir: string;
  /** `-s`, e.g. the `url` of startNotaryServer(). */
  serverUrl: string;
  /** `--tlscacert`: the CA that issued the server's certificate. */
  caCertPath: string;
  /** Added on top of (and overriding) the defaults, e.g. a wrong NOTARY_ROOT_PASSPHRASE. */
  env?: NodeJS.ProcessEnv;
  stdin?: string | Buffer;
  /** Working directory for relative paths in `args` (default: this process's cwd). */
  cwd?: string;
  /** Default 30 s; a command that runs longer is killed and the call throws CommandTimeoutError. */
  timeoutMs?: number;
}

export function notaryPassphraseEnv(passphrase = TEST_PASSPHRASE): NodeJS.ProcessEnv {
  return {
    NOTARY_ROOT_PASSPHRASE: passphrase,
    NOTARY_TARGETS_PASSPHRASE: passphrase,
    NOTARY_SNAPSHOT_PASSPHRASE: passphrase,
    // Covers every role that is not a base role (targets/releases, targets/<user>, …).
    NOTARY_DELEGATION_PASSPHRASE: passphrase,
  };
}

/** `notary -d trustDir -s serverUrl --tlscacert caCertPath ...args`; a non-zero exit is returned, not thrown. */
export async function runNotary(args: readonly string[], options: NotaryRunOptions): Promise<RunResult> {
  const binary = requireBinary('notary');
  const home = await makeTempDir('notary-home');
  try {
    return await runCommand(
      binary,
      ['-d', options.trustDir, '-s', options.serverUrl, '--tlscacert', options.caCertPath, ...args],
      {
        env: { ...baseEnv(home), ...notaryPassphraseEnv(), ...options.env },
        cwd: options.cwd,
        stdin: options.stdin,
        timeoutMs: options.timeoutMs ?? 30_000,
      },
    );
  } finally {
    await removeTempDir(home);
  }
}
