/**
 * The notary commands' shared context without prompts or a repository
 * session: the resolved configuration, the output and the key store.
 * `key list` and `version` run on it alone, so they start without loading
 * NotaryRepository, the updater, the publisher or the passphrase prompts
 * (session.ts adds those for the other commands).
 */
import type { Readable, Writable } from 'node:stream';
// A specific trust-core module rather than the node barrel (the project's rule), for start-up
// time: esbuild cannot drop the rest of trust-core/src/node/index.ts (it has a side effect), so
// through the barrel this context, and so `notary key list`, would load NotaryRepository, the
// updater and the publisher. The barrel's side effect (node:crypto digests) is installed by
// session.ts, which every command that signs or hashes loads; `key list` only lists key files.
import { FileKeyStore } from '../../../trust-core/src/node/file-key-store.js';
import type { NotaryConfig } from './config.js';

export interface NotaryIo {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** notary's passphrase retriever gives up after the fourth wrong passphrase (passphrase.go). */
export const PASSPHRASE_ATTEMPTS = 4;

export class KeyContext {
  readonly keys: FileKeyStore;

  constructor(
    readonly config: NotaryConfig,
    readonly io: NotaryIo,
    readonly env: NodeJS.ProcessEnv,
  ) {
    this.keys = new FileKeyStore(config.trustDir);
  }

  out(text: string): void {
    this.io.stdout.write(text);
  }

  /** A warning on stderr, in the logrus format notary uses. */
  warn(message: string): void {
    this.io.stderr.write(
      `time="${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}" level=warning msg="${message}"\n`,
    );
  }

  debug(message: string): void {
    if (this.config.debug) this.io.stderr.write(`DEBU ${message}\n`);
  }
}
