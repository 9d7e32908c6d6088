/**
 * What every notary command but `key list` and `version` (context.ts)
 * stands on, loaded when such a command runs: the resolved configuration,
 * the terminal and passphrase prompts, and, per GUN, a trust-core
 * NotaryRepository wired to the configured server (CA, token auth, trust
 * pinning), with notary's publish: apply the changelist to the current
 * state (or to the state `notary init` left in the cache), sign, upload,
 * and keep what was published in the cache.
 */
import { readFileSync } from 'node:fs';
import type { PrivateKey, Signer, SignerSource, TrustedRepository } from '../../../trust-core/src/index.js';
import {
  FetchError,
  FileMeta,
  isDelegationName,
  KeyError,
  Metadata,
  parentRole,
  parseJsonBytes,
  PublicKey,
  PublishError,
  RepositoryEditor,
  Updater,
} from '../../../trust-core/src/index.js';
import { NotaryRepository, nodeRsaVerifier } from '../../../trust-core/src/node/index.js';
import type { Access } from './auth.js';
import { tokenAuth } from './auth.js';
import type { Change } from './changelist.js';
import { Changelist, parseDelegationData } from './changelist.js';
import { Terminal } from '../cli/terminal.js';
import { NOTARY_FLAVOUR, promptingRetriever } from '../trust/passphrase.js';
import type { NotaryConfig } from './config.js';
import type { NotaryIo } from './context.js';
import { KeyContext, PASSPHRASE_ATTEMPTS } from './context.js';
import { NotaryCliError } from './errors.js';
import { socketPathFor } from '../registry/hub-address.js';
import { TokenKeyStore } from '../token/index.js';

export type { NotaryIo } from './context.js';
export { PASSPHRASE_ATTEMPTS } from './context.js';

/** The full context: KeyContext plus the terminal, passphrase prompts, changelists and sessions. */
export class NotaryContext extends KeyContext {
  readonly terminal: Terminal;
  readonly passphrases;

  constructor(config: NotaryConfig, io: NotaryIo, env: NodeJS.ProcessEnv) {
    super(config, io, env);
    this.terminal = new Terminal(io.stdin, io.stdout);
    this.passphrases = promptingRetriever({ terminal: this.terminal, flavour: NOTARY_FLAVOUR, env });
  }

  #hardware: Promise<TokenKeyStore | undefined> | undefined;

  /** The attendee's YubiKey, when one is reachable now (asked once per command). */
  hardware(): Promise<TokenKeyStore | undefined> {
    this.#hardware ??= TokenKeyStore.connect(this.env, {
      out: (text) => this.out(text),
      debug: (message) => this.debug(message),
    });
    return this.#hardware;
  }

  /** Load a private key, asking up to notary's number of times; undefined when every try failed. */
  async loadKey(id: string): Promise<PrivateKey | undefined> {
    try {
      return (await this.keys.load(id, this.passphrases, { maxAttempts: PASSPHRASE_ATTEMPTS })).key;
    } catch (error) {
      if (error instanceof KeyError && error.code === 'PASSPHRASE_ATTEMPTS') return undefined;
      throw error;
    }
  }

  changelist(gun: string): Changelist {
    return new Changelist(this.config.trustDir, gun);
  }

  session(gun: string, access: Access): NotarySession {
    return new NotarySession(this, gun, access, undefined);
  }

  /** A session that may sign: root keys on the YubiKey are used first, as notary does. */
  async signingSession(gun: string, access: Access): Promise<NotarySession> {
    return new NotarySession(this, gun, access, await this.hardware());
  }
}

function readCa(file: string | undefined): Buffer | undefined {
  if (file === undefined) return undefined;
  try {
    return readFileSync(file);
  } catch (cause) {
    throw new NotaryCliError(`unable to configure trust server TLS: could not read CA file ${file}`, {
      cause,
    });
  }
}

export class NotarySession {
  readonly repo: NotaryRepository;

  constructor(
    private readonly ctx: NotaryContext,
    readonly gun: string,
    access: Access,
    private readonly hardware: TokenKeyStore | undefined,
  ) {
    const { config } = ctx;
    if (config.tlsClientCert || config.tlsClientKey) {
      ctx.debug('TLS client certificates are not supported by this client; connecting without one');
    }
    const ca = readCa(config.rootCa);
    this.repo = new NotaryRepository({
      server: config.server,
      gun,
      trustDir: config.trustDir,
      passphrases: ctx.passphrases,
      ...(ca ? { ca } : {}),
      ...(config.skipTlsVerify ? { insecure: true } : {}),
      socketPath: socketPathFor(config.hubSocket, config.server),
      onUnauthorized: tokenAuth({
        gun,
        access,
        env: ctx.env,
        terminal: ctx.terminal,
        ...(ca ? { ca } : {}),
        insecure: config.skipTlsVerify,
        hubSocket: config.hubSocket,
      }),
      onWarning: (w) => ctx.warn(w.message),
      ...(hardware ? { hardware } : {}),
    });
  }

  close(): void {
    this.repo.close();
  }

  /** Fetch and verify the current trust data (with the configured trust pinning). */
  async update(): Promise<TrustedRepository> {
    const pinning = this.ctx.config.trustPinning;
    return new Updater({
      gun: this.gun,
      remote: this.repo.remote,
      cache: this.repo.cache,
      rsa: nodeRsaVerifier,
      trustPinning: {
        ...(pinning.certs ? { certs: pinning.certs } : {}),
        ...(pinning.disableTofu !== undefined ? { disableTofu: pinning.disableTofu } : {}),
      },
      onWarning: (w) => this.ctx.warn(w.message),
    }).refresh();
  }

  async holdsAnyKey(keys: readonly PublicKey[]): Promise<boolean> {
    for (const k of keys) if (await this.ctx.keys.has(k.canonicalId())) return true;
    return false;
  }

  /** An editor on the verified remote state; `serverSnapshot` overrides who signs the snapshot. */
  async edit(serverSnapshot?: boolean): Promise<{ editor: RepositoryEditor; trusted: TrustedRepository }> {
    const trusted = await this.update();
    const local = await this.holdsAnyKey(Object.values(trusted.root.signed.roleKeys('snapshot')));
    return {
      editor: RepositoryEditor.fromTrusted(trusted, new Date(), serverSnapshot ?? !local),
      trusted,
    };
  }

  /**
   * The repository `notary init` left in the cache and never published: its
   * keys come from the cached root, so the first publish uploads root,
   * targets and snapshot as notary's does.
   */
  async editCachedInit(): Promise<RepositoryEditor | undefined> {
    const bytes = await this.repo.cache.get('root');
    if (!bytes) return undefined;
    const root = Metadata.parse(bytes, 'Root').signed;
    const first = (role: 'root' | 'targets' | 'snapshot' | 'timestamp'): PublicKey => {
      const key = Object.values(root.roleKeys(role))[0];
      if (!key) throw new NotaryCliError(`the cached root of ${this.gun} has no ${role} key`);
      return key;
    };
    const snapshotKey = first('snapshot');
    return RepositoryEditor.initialize({
      gun: this.gun,
      now: new Date(),
      rootKey: first('root'),
      targetsKey: first('targets'),
      snapshotKey,
      timestampKey: first('timestamp'),
      serverManagedSnapshot: !(await this.holdsAnyKey([snapshotKey])),
    });
  }

  /**
   * Signers from the YubiKey (root keys) and then the trust directory; a key
   * whose passphrase was not given counts as missing.
   */
  signers(): SignerSource {
    const loaded = new Map<string, PrivateKey | undefined>();
    const hardware = this.hardware;
    return {
      signersFor: async (role: string, keys: readonly PublicKey[]): Promise<Signer[]> => {
        const out: Signer[] = [];
        const onToken = new Set(
          role === 'root' && hardware ? (await hardware.rootKeys()).map((k) => k.id) : [],
        );
        for (const key of keys) {
          const id = key.canonicalId();
          if (hardware && onToken.has(id)) {
            out.push(hardware.signer(id, key, { kind: 'root-metadata', gun: this.gun }));
            continue;
          }
          if (!loaded.has(id))
            loaded.set(id, (await this.ctx.keys.has(id)) ? await this.ctx.loadKey(id) : undefined);
          const priv = loaded.get(id);
          if (priv) out.push(priv.signer(key));
        }
        return out;
      },
    };
  }

  /** Sign what changed, upload it, and keep the published files in the cache. */
  async publish(editor: RepositoryEditor): Promise<Map<string, Uint8Array>> {
    editor.setClock(new Date());
    const { files } = await editor.sign(this.signers());
    if (files.size === 0) return files;
    await this.repo.remote.publish(files);
    for (const [role, bytes] of files) await this.repo.cache.set(role, bytes);
    return files;
  }

  /** True when the server has trust data for this GUN. */
  async exists(): Promise<boolean> {
    return this.repo.exists();
  }
}

/** Apply staged changes to an editor, as notary's applyChangelist does. */
export function applyChanges(editor: RepositoryEditor, changes: readonly Change[]): void {
  for (const change of changes) {
    if (change.type === 'target') applyTarget(editor, change);
    else if (change.type === 'delegation') applyDelegation(editor, change);
    else {
      throw new NotaryCliError(
        `this client cannot apply a staged "${change.type}" change to ${change.role}; use the real notary to publish it, or reset it`,
      );
    }
  }
}

function requireRole(editor: RepositoryEditor, role: string): void {
  if (role !== 'targets' && !(isDelegationName(role) && editor.delegation(role))) {
    throw new NotaryCliError(`tuf: invalid role ${role}. delegation does not exist`);
  }
}

function applyTarget(editor: RepositoryEditor, change: Change): void {
  requireRole(editor, change.role);
  if (change.action === 'delete') {
    editor.removeTarget(change.path, change.role);
    return;
  }
  if (!change.data) throw new NotaryCliError(`staged target ${change.path} has no data`);
  editor.addTarget(change.path, FileMeta.fromJSON(parseJsonBytes(change.data), change.path), change.role);
}

function applyDelegation(editor: RepositoryEditor, change: Change): void {
  const role = change.role;
  if (!isDelegationName(role)) throw new NotaryCliError(`tuf: invalid role ${role}. not a delegation role`);
  if (change.action === 'delete') {
    if (!editor.removeDelegation(role))
      throw new NotaryCliError(`tuf: invalid role ${role}. delegation does not exist`);
    return;
  }
  const d = parseDelegationData(change.data);
  if (d.newName) {
    // notary stages no renames either: its changelist handler refuses them (client/delegations.go).
    throw new NotaryCliError(`tuf: invalid role ${role}. renaming a delegation is not supported`);
  }
  if (d.removeKeys.length > 0) {
    if (!editor.delegation(role))
      throw new NotaryCliError(`tuf: invalid role ${role}. delegation does not exist`);
    // notary names delegation keys by canonical ID (a certificate's public key ID); metadata uses the key's own ID.
    const parentKeys = editor.targetsOf(parentRole(role))?.delegations.keys ?? {};
    const ids = Object.entries(parentKeys)
      .filter(([id, key]) => d.removeKeys.includes(id) || d.removeKeys.includes(key.canonicalId()))
      .map(([id]) => id);
    editor.removeDelegationKeys(role, ids);
  }
  const keys = d.addKeys.map((k) => PublicKey.fromJSON(k as Parameters<typeof PublicKey.fromJSON>[0]));
  if (keys.length > 0 || d.addPaths.length > 0) {
    if (keys.length === 0 && !editor.delegation(role)) {
      throw new NotaryCliError(`tuf: invalid role ${role}. delegation does not exist`);
    }
    try {
      editor.addDelegation(role, keys, d.addPaths, d.threshold || 1);
    } catch (error) {
      if (error instanceof PublishError) throw new NotaryCliError(error.message, { cause: error });
      throw error;
    }
  }
  if (d.clearPaths || d.removePaths.length > 0) {
    try {
      editor.updateDelegationPaths(role, { remove: d.removePaths, clear: d.clearPaths, add: d.addPaths });
    } catch (error) {
      if (error instanceof PublishError) throw new NotaryCliError(error.message, { cause: error });
      throw error;
    }
  }
}

export function isMissingTrustData(error: unknown): boolean {
  return error instanceof FetchError && error.code === 'TRUST_DATA_MISSING';
}
