/**
 * One GUN on one trust server, with keys and cache in a notary trust
 * directory: the pieces of trust-core wired together the way notary's
 * `client.Repository` wires them. The lab's `docker` and `notary` commands,
 * the interop tests and the benchmark all go through it.
 */
import type { HardwareKeyStore } from '../crypto/hardware-key-store.js';
import type { PublicKey } from '../crypto/keys.js';
import type { PassphraseRetriever } from '../crypto/passphrase.js';
import type { Signer } from '../crypto/signatures.js';
import { PrivateKey } from '../crypto/signatures.js';
import { createRootCertificate, rootPublicKey } from '../crypto/x509.js';
import { FetchError } from '../errors.js';
import type { Clock, UpdateWarning } from '../client/interfaces.js';
import { systemClock } from '../client/interfaces.js';
import type { TrustedRepository } from '../client/repository.js';
import { Updater } from '../client/updater.js';
import type { SignerSource } from '../publisher/editor.js';
import { RepositoryEditor } from '../publisher/editor.js';
import { FileKeyStore } from './file-key-store.js';
import { rootCertificateOnToken, storeRootKeyOnToken } from './hardware-root-keys.js';
import { FileMetadataCache } from './file-metadata-cache.js';
import type { NotaryHttpOptions } from './notary-http.js';
import { NotaryHttpClient } from './notary-http.js';
import { nodeRsaVerifier } from './rsa-verifier.js';

export interface NotaryRepositoryOptions extends Omit<NotaryHttpOptions, 'gun'> {
  gun: string;
  trustDir: string;
  passphrases: PassphraseRetriever;
  clock?: Clock;
  onWarning?: (warning: UpdateWarning) => void;
  /**
   * A hardware token holding root keys (a YubiKey), asked before the file
   * store as notary asks its YubiKey store first. New root keys go to it,
   * with a backup in the file store.
   */
  hardware?: HardwareKeyStore;
}

export interface InitOptions {
  /** Let the server hold the snapshot key (docker does; `notary init` does not). */
  serverManagedSnapshot?: boolean;
  /** Use this existing root key (canonical ID) instead of the first one found or a new one. */
  rootKeyId?: string;
}

export class NotaryRepository {
  readonly keys: FileKeyStore;
  readonly cache: FileMetadataCache;
  readonly remote: NotaryHttpClient;
  private readonly clock: Clock;

  constructor(private readonly options: NotaryRepositoryOptions) {
    this.keys = new FileKeyStore(options.trustDir);
    this.cache = new FileMetadataCache(options.trustDir, options.gun);
    this.remote = new NotaryHttpClient(options);
    this.clock = options.clock ?? systemClock;
  }

  get gun(): string {
    return this.options.gun;
  }

  close(): void {
    this.remote.close();
  }

  /** Fetch and verify the current trust data. */
  async update(): Promise<TrustedRepository> {
    return new Updater({
      gun: this.gun,
      remote: this.remote,
      cache: this.cache,
      clock: this.clock,
      rsa: nodeRsaVerifier,
      ...(this.options.onWarning ? { onWarning: this.options.onWarning } : {}),
    }).refresh();
  }

  /** Signers from the hardware token first, then the key store, loading (and decrypting) each key once. */
  signerSource(): SignerSource {
    const loaded = new Map<string, PrivateKey>();
    const hardware = this.options.hardware;
    let onToken: Promise<Set<string>> | undefined;
    return {
      signersFor: async (role: string, keys: readonly PublicKey[]): Promise<Signer[]> => {
        const signers: Signer[] = [];
        for (const key of keys) {
          const id = key.canonicalId();
          if (hardware !== undefined && role === 'root') {
            onToken ??= hardware.rootKeys().then((held) => new Set(held.map((k) => k.id)));
            if ((await onToken).has(id)) {
              signers.push(hardware.signer(id, key, { kind: 'root-metadata', gun: this.gun }));
              continue;
            }
          }
          let priv = loaded.get(id);
          if (!priv && (await this.keys.has(id))) {
            priv = (await this.keys.load(id, this.options.passphrases)).key;
            loaded.set(id, priv);
          }
          if (priv) signers.push(priv.signer(key));
        }
        return signers;
      },
    };
  }

  /**
   * Create keys and the first metadata for a new repository (notary init):
   * a root key (an existing one if there is), targets key, snapshot key
   * unless the server holds it, and the server's timestamp key.
   */
  async initialize(options: InitOptions = {}): Promise<RepositoryEditor> {
    const now = this.clock.now();
    const rootCertificate = await this.#rootCertificate(options.rootKeyId, now);
    const targetsKey = PrivateKey.generate('ecdsa');
    await this.keys.save(targetsKey, { role: 'targets', gun: this.gun }, this.options.passphrases);
    let snapshotKey: PublicKey;
    if (options.serverManagedSnapshot) {
      snapshotKey = await this.remote.getServerKey('snapshot');
    } else {
      const key = PrivateKey.generate('ecdsa');
      await this.keys.save(key, { role: 'snapshot', gun: this.gun }, this.options.passphrases);
      snapshotKey = key.publicKey();
    }
    const timestampKey = await this.remote.getServerKey('timestamp');
    return RepositoryEditor.initialize({
      gun: this.gun,
      now,
      rootKey: rootPublicKey(rootCertificate),
      targetsKey: targetsKey.publicKey(),
      snapshotKey,
      timestampKey,
      serverManagedSnapshot: options.serverManagedSnapshot ?? false,
    });
  }

  /**
   * The certificate of this repository's root key, as notary makes it at
   * init: the key is the one asked for, else the first on the hardware
   * token, else the first root key file, else a new one (written to the
   * token with a backup in the file store when there is a token). A key on
   * the token signs its certificate on the token.
   */
  async #rootCertificate(wanted: string | undefined, now: Date): Promise<string> {
    const hardware = this.options.hardware;
    const held = hardware ? await hardware.rootKeys() : [];
    const onToken = wanted !== undefined ? held.find((k) => k.id === wanted) : held[0];
    if (hardware !== undefined && onToken !== undefined) {
      return rootCertificateOnToken(hardware, onToken, this.gun, now);
    }
    const rootId = wanted ?? (await this.keys.list()).find((k) => k.role === 'root')?.id;
    if (rootId) {
      return createRootCertificate((await this.keys.load(rootId, this.options.passphrases)).key, this.gun, {
        now,
      });
    }
    const rootKey = PrivateKey.generate('ecdsa');
    if (hardware === undefined) {
      await this.keys.save(rootKey, { role: 'root' }, this.options.passphrases);
      return createRootCertificate(rootKey, this.gun, { now });
    }
    const stored = await storeRootKeyOnToken(hardware, this.keys, rootKey, this.options.passphrases);
    return rootCertificateOnToken(hardware, stored, this.gun, now);
  }

  /** An editor on the current remote state (after verifying it). */
  async edit(): Promise<RepositoryEditor> {
    const repo = await this.update();
    const snapshotKeys = Object.values(repo.root.signed.roleKeys('snapshot'));
    let local = false;
    for (const k of snapshotKeys) if (await this.keys.has(k.canonicalId())) local = true;
    return RepositoryEditor.fromTrusted(repo, this.clock.now(), !local);
  }

  /** Sign what changed and upload it. */
  async publish(editor: RepositoryEditor): Promise<Map<string, Uint8Array>> {
    editor.setClock(this.clock.now());
    const { files } = await editor.sign(this.signerSource());
    if (files.size === 0) return files;
    await this.remote.publish(files);
    return files;
  }

  /** True when the server has trust data for this GUN. */
  async exists(): Promise<boolean> {
    try {
      await this.remote.getMeta('root', 100 * 1024 * 1024);
      return true;
    } catch (error) {
      if (error instanceof FetchError && error.code === 'TRUST_DATA_MISSING') return false;
      throw error;
    }
  }
}
