/**
 * The publisher's repository editor: initialise a repository, add and remove
 * targets and delegations, rotate keys, then sign what changed into the
 * files a publish uploads.
 *
 * It reproduces notary's versioning (notary tuf/data): `init` signs root, targets
 * and (local) snapshot at version 1; a change bumps the version of every role
 * it touches once per publish, and every re-signed role gets a fresh expiry
 * (notary signs with `now + default lifetime`). So `notary init` + `add` +
 * `publish` gives root 1, targets 2, snapshot 2, and docker's first push
 * (server-managed snapshot) gives targets 2.
 *
 * The editor holds models only; keys come in through `SignerSource`, so a
 * passphrase prompt or a hardware token can stand behind it.
 */
import { PublishError } from '../errors.js';
import type { PublicKey } from '../crypto/keys.js';
import type { Signer } from '../crypto/signatures.js';
import type { TrustedRepository } from '../client/repository.js';
import { FileMeta } from '../models/file-meta.js';
import { DEFAULT_EXPIRY_DAYS, expiresIn } from '../models/expires.js';
import type { BaseRole } from '../models/metadata.js';
import {
  Delegations,
  DelegatedRole,
  isDelegationName,
  Metadata,
  parentRole,
  RoleKeys,
  Root,
  Snapshot,
  Targets,
} from '../models/metadata.js';

/** Where signing keys come from. Returns the signers it can provide for these keys (maybe none). */
export interface SignerSource {
  signersFor(role: string, keys: readonly PublicKey[]): Promise<Signer[]>;
}

/** How a role must be handled at the next publish. */
type RoleState = 'clean' | 'new' | 'dirty';

export interface InitializeOptions {
  gun: string;
  now: Date;
  /** The root key as it appears in root.json: an `ecdsa-x509` certificate key. */
  rootKey: PublicKey;
  targetsKey: PublicKey;
  snapshotKey: PublicKey;
  /** The server's timestamp key (GET …/timestamp.key). */
  timestampKey: PublicKey;
  /** docker initialises with the snapshot key held by the server. */
  serverManagedSnapshot: boolean;
}

export interface PublishFiles {
  /** Role name → file bytes, in the order they are uploaded. */
  files: Map<string, Uint8Array>;
}

function keyMap(keys: readonly PublicKey[]): Record<string, PublicKey> {
  const out = Object.create(null) as Record<string, PublicKey>;
  for (const k of keys) out[k.id] = k;
  return out;
}

function shortIds(keys: readonly PublicKey[]): string {
  return keys.map((k) => k.id).join(', ');
}

export class RepositoryEditor {
  private readonly states = new Map<string, RoleState>();
  /** Old root keys that must co-sign the next root (root rotation, TUF 5.3.4). */
  private previousRootKeys: PublicKey[] = [];

  private constructor(
    readonly gun: string,
    private root: Root,
    private readonly targets: Map<string, Targets>,
    /** Bytes of every role as last published (or signed at init). */
    private readonly published: Map<string, Uint8Array>,
    /** Version of the last snapshot signed (notary signs v1 at init). */
    private snapshotVersion: number,
    readonly serverManagedSnapshot: boolean,
    private now: Date,
  ) {}

  /** A new repository, as `notary init` / docker's first signed push creates it. */
  static initialize(options: InitializeOptions): RepositoryEditor {
    const { now } = options;
    const keys = [options.rootKey, options.targetsKey, options.snapshotKey, options.timestampKey];
    const role = (k: PublicKey) => new RoleKeys([k.id], 1);
    const root = new Root(1, expiresIn(now, DEFAULT_EXPIRY_DAYS.root), keyMap(keys), {
      root: role(options.rootKey),
      snapshot: role(options.snapshotKey),
      targets: role(options.targetsKey),
      timestamp: role(options.timestampKey),
    });
    const targets = new Targets(1, expiresIn(now, DEFAULT_EXPIRY_DAYS.targets));
    const editor = new RepositoryEditor(
      options.gun,
      root,
      new Map([['targets', targets]]),
      new Map(),
      options.serverManagedSnapshot ? 0 : 1,
      options.serverManagedSnapshot,
      now,
    );
    editor.states.set('root', 'new');
    editor.states.set('targets', 'new');
    if (!options.serverManagedSnapshot) editor.states.set('snapshot', 'new');
    return editor;
  }

  /** Edit a repository whose current state we verified with the updater. */
  static fromTrusted(repo: TrustedRepository, now: Date, serverManagedSnapshot?: boolean): RepositoryEditor {
    const targets = new Map<string, Targets>();
    const published = new Map<string, Uint8Array>();
    for (const role of repo.roles()) {
      const md = repo.role(role);
      const bytes = repo.files[role];
      if (md && bytes) {
        targets.set(role, md.signed);
        published.set(role, bytes);
      }
    }
    if (repo.files.root) published.set('root', repo.files.root);
    // The server manages the snapshot when the root's snapshot key is not
    // one the caller can sign with; callers that know say so explicitly.
    return new RepositoryEditor(
      repo.gun,
      repo.root.signed,
      targets,
      published,
      repo.snapshot.signed.version,
      serverManagedSnapshot ?? false,
      now,
    );
  }

  get rootModel(): Root {
    return this.root;
  }

  targetsOf(role: string): Targets | undefined {
    return this.targets.get(role);
  }

  /** The delegation entry for a role, from its parent. */
  delegation(role: string): DelegatedRole | undefined {
    return this.targets.get(parentRole(role))?.delegations.role(role);
  }

  setClock(now: Date): void {
    this.now = now;
  }

  private touch(role: string): void {
    if (this.states.get(role) !== 'dirty') this.states.set(role, 'dirty');
  }

  private requireTargetsRole(role: string): Targets {
    if (role !== 'targets' && !isDelegationName(role)) {
      throw new PublishError('INVALID_ROLE', `${role} is not a valid targets role`);
    }
    const existing = this.targets.get(role);
    if (existing) return existing;
    if (role === 'targets') throw new PublishError('NOT_INITIALIZED', `${this.gun} has no targets metadata`);
    if (!this.delegation(role)) {
      throw new PublishError('INVALID_ROLE', `${role} is not delegated in ${this.gun}`, {
        suggestion: `Add the delegation first (notary delegation add ${this.gun} ${role} <cert>).`,
      });
    }
    // A delegation that was never signed into starts empty (docker signer
    // add creates the role but not its file; docker/cli cli/trust, cli/command/image/trust.go).
    const fresh = new Targets(0, expiresIn(this.now, DEFAULT_EXPIRY_DAYS.targets));
    this.targets.set(role, fresh);
    return fresh;
  }

  private replaceTargets(role: string, next: Targets): void {
    this.targets.set(role, next);
    this.touch(role);
  }

  addTarget(name: string, meta: FileMeta, role = 'targets'): void {
    if (name === '') throw new PublishError('INVALID_TARGET', 'a target needs a name');
    this.requireTargetsRole(role);
    const delegation = role === 'targets' ? undefined : this.delegation(role);
    if (delegation && !delegation.matches(name)) {
      throw new PublishError('INVALID_TARGET', `${name} is outside the paths delegated to ${role}`);
    }
    this.editableTargets(role)[name] = meta;
  }

  /** Returns whether the target was there. */
  removeTarget(name: string, role = 'targets'): boolean {
    const current = this.targets.get(role);
    if (!current || !Object.hasOwn(current.targets, name)) return false;
    delete this.editableTargets(role)[name];
    return true;
  }

  /** Roles whose target map is already a private copy for the coming publish. */
  private readonly copied = new Set<string>();

  /**
   * The target map of a role, copied once per publish so that edits never
   * touch a model that was already signed, and adding n targets costs O(n),
   * not O(n²).
   */
  private editableTargets(role: string): Record<string, FileMeta> {
    if (!this.copied.has(role)) {
      const current = this.targets.get(role)!;
      const copy = Object.assign(Object.create(null) as Record<string, FileMeta>, current.targets);
      this.replaceTargets(
        role,
        new Targets(current.version, current.expires, copy, current.delegations, current.unrecognizedFields),
      );
      this.copied.add(role);
    }
    this.touch(role);
    return this.targets.get(role)!.targets;
  }

  /**
   * notary delegation add: add keys and paths to a delegated role (creating
   * it if needed) in its parent. Existing keys and paths are kept.
   */
  addDelegation(role: string, keys: readonly PublicKey[], paths: readonly string[], threshold = 1): void {
    if (!isDelegationName(role)) {
      throw new PublishError('INVALID_ROLE', `${role} is not a valid delegation name`, {
        suggestion: 'Delegation names look like targets/releases: lower case, under targets/.',
      });
    }
    const parentName = parentRole(role);
    const parent = this.targets.get(parentName);
    if (!parent) throw new PublishError('INVALID_DELEGATION', `parent role ${parentName} does not exist`);
    const existing = parent.delegations.role(role);
    const keyids = [...new Set([...(existing?.keyids ?? []), ...keys.map((k) => k.id)])];
    const allPaths = [...new Set([...(existing?.paths ?? []), ...paths])];
    if (keyids.length === 0) {
      throw new PublishError('INVALID_DELEGATION', `delegation ${role} needs at least one key`);
    }
    const entry = new DelegatedRole(role, keyids, existing?.threshold ?? threshold, allPaths);
    const roles = existing
      ? parent.delegations.roles.map((r) => (r.name === role ? entry : r))
      : [...parent.delegations.roles, entry];
    const delegations = new Delegations({ ...parent.delegations.keys, ...keyMap(keys) }, roles);
    this.replaceTargets(parentName, this.withDelegations(parent, delegations));
  }

  /** notary delegation remove: the whole role, its unused keys, and its file. */
  removeDelegation(role: string): boolean {
    const parentName = parentRole(role);
    const parent = this.targets.get(parentName);
    if (!parent?.delegations.role(role)) return false;
    const roles = parent.delegations.roles.filter((r) => r.name !== role);
    const used = new Set(roles.flatMap((r) => r.keyids));
    const keys = Object.create(null) as Record<string, PublicKey>;
    for (const [id, key] of Object.entries(parent.delegations.keys)) if (used.has(id)) keys[id] = key;
    this.replaceTargets(parentName, this.withDelegations(parent, new Delegations(keys, roles)));
    this.targets.delete(role);
    this.published.delete(role);
    this.states.delete(role);
    return true;
  }

  /** Remove some keys from a delegation; the role goes when no key is left. */
  removeDelegationKeys(role: string, keyIds: readonly string[]): void {
    const parentName = parentRole(role);
    const parent = this.targets.get(parentName);
    const existing = parent?.delegations.role(role);
    if (!parent || !existing) throw new PublishError('INVALID_DELEGATION', `${role} is not delegated`);
    const keyids = existing.keyids.filter((id) => !keyIds.includes(id));
    if (keyids.length === 0) {
      this.removeDelegation(role);
      return;
    }
    const entry = new DelegatedRole(
      role,
      keyids,
      Math.min(existing.threshold, keyids.length),
      existing.paths,
    );
    const roles = parent.delegations.roles.map((r) => (r.name === role ? entry : r));
    this.replaceTargets(
      parentName,
      this.withDelegations(parent, new Delegations(parent.delegations.keys, roles)),
    );
  }

  /**
   * notary delegation remove --paths / --all-paths: change the paths of an
   * existing delegation. The order is notary's (tuf/tuf.go
   * delegationUpdateVisitor): remove the named paths, then clear all if
   * asked, then add. A role may be left with no paths; it then signs nothing
   * that clients accept, which is what notary publishes too.
   */
  updateDelegationPaths(
    role: string,
    change: { add?: readonly string[]; remove?: readonly string[]; clear?: boolean },
  ): void {
    const parentName = parentRole(role);
    const parent = this.targets.get(parentName);
    const existing = parent?.delegations.role(role);
    if (!parent || !existing) {
      throw new PublishError(
        'INVALID_DELEGATION',
        `tuf: invalid role ${role}. no valid delegated role exists`,
        {
          suggestion: 'Add the delegation with its keys first (notary delegation add).',
        },
      );
    }
    const removed = new Set(change.remove ?? []);
    let paths = existing.paths.filter((p) => !removed.has(p));
    if (change.clear) paths = [];
    for (const p of change.add ?? []) if (!paths.includes(p)) paths.push(p);
    const entry = new DelegatedRole(
      role,
      existing.keyids,
      existing.threshold,
      paths,
      existing.unrecognizedFields,
    );
    const roles = parent.delegations.roles.map((r) => (r.name === role ? entry : r));
    this.replaceTargets(
      parentName,
      this.withDelegations(parent, new Delegations(parent.delegations.keys, roles)),
    );
  }

  private withDelegations(current: Targets, delegations: Delegations): Targets {
    return new Targets(
      current.version,
      current.expires,
      current.targets,
      delegations,
      current.unrecognizedFields,
    );
  }

  /**
   * Replace the keys of a base role in root.json (notary key rotate). The
   * root is re-signed; rotating the root key itself also needs the old root
   * keys' signatures, and the old certificate stays in `keys` as notary
   * leaves it (tests/vectors/notary/root_rotated_v2.json).
   */
  rotateKey(role: BaseRole, newKeys: readonly PublicKey[]): void {
    if (newKeys.length === 0) throw new PublishError('INVALID_ROLE', `rotating ${role} needs a key`);
    const old = this.root.role(role);
    if (role === 'root') {
      const oldKeys = Object.values(this.root.roleKeys('root'));
      for (const k of oldKeys)
        if (!this.previousRootKeys.some((p) => p.id === k.id)) this.previousRootKeys.push(k);
    }
    const keys = { ...this.root.keys, ...keyMap(newKeys) };
    if (role !== 'root') {
      // Keys no other role uses are dropped, as notary's RemoveBaseKeys does.
      const stillUsed = new Set(
        Object.entries(this.root.roles)
          .filter(([name]) => name !== role)
          .flatMap(([, r]) => r.keyids),
      );
      for (const id of old.keyids) if (!stillUsed.has(id)) delete keys[id];
    }
    const roles = {
      ...this.root.roles,
      [role]: new RoleKeys(
        newKeys.map((k) => k.id),
        old.threshold,
      ),
    };
    this.root = new Root(
      this.root.version,
      this.root.expires,
      Object.assign(Object.create(null) as Record<string, PublicKey>, keys),
      roles,
      this.root.consistentSnapshot,
      this.root.unrecognizedFields,
    );
    this.touch('root');
    if (role === 'targets') this.touch('targets');
  }

  /** Whether the next publish has anything to upload. */
  get hasChanges(): boolean {
    return [...this.states.values()].some((s) => s !== 'clean');
  }

  private nextVersion(role: string, version: number): number {
    return this.states.get(role) === 'dirty' ? version + 1 : version;
  }

  private async signRole<T extends Root | Targets | Snapshot>(
    role: string,
    signed: T,
    keys: readonly PublicKey[],
    threshold: number,
    source: SignerSource,
    extraKeys: readonly PublicKey[] = [],
  ): Promise<Uint8Array> {
    const signers = await source.signersFor(role, keys);
    if (signers.length < threshold) {
      throw new PublishError(
        'CANNOT_SIGN',
        `could not find necessary signing keys, at least one of these keys must be available: ${shortIds(keys)}`,
        { suggestion: `The ${role} key is not in your trust directory.` },
      );
    }
    const extra = extraKeys.length ? await source.signersFor('root', extraKeys) : [];
    const all = [...signers, ...extra.filter((e) => !signers.some((s) => s.publicKey.id === e.publicKey.id))];
    const md = await Metadata.create(signed).sign(all);
    return md.toBytes();
  }

  /**
   * Sign every changed role and build the files to upload. Each role is
   * re-signed with a new version and expiry; the snapshot is rebuilt when the
   * client holds its key. The editor then counts as published.
   */
  async sign(source: SignerSource): Promise<PublishFiles> {
    const files = new Map<string, Uint8Array>();
    const now = this.now;

    // Root first: its bytes go into the snapshot.
    const rootState = this.states.get('root') ?? 'clean';
    if (rootState !== 'clean') {
      const r = this.root;
      const root = new Root(
        this.nextVersion('root', r.version),
        rootState === 'new' ? r.expires : expiresIn(now, DEFAULT_EXPIRY_DAYS.root),
        r.keys,
        r.roles,
        r.consistentSnapshot,
        r.unrecognizedFields,
      );
      const keys = Object.values(root.roleKeys('root'));
      const bytes = await this.signRole(
        'root',
        root,
        keys,
        root.role('root').threshold,
        source,
        this.previousRootKeys,
      );
      files.set('root', bytes);
    }

    // Targets roles, parents before children so delegation keys are current.
    const dirtyTargets = [...this.targets.keys()]
      .filter((role) => (this.states.get(role) ?? 'clean') !== 'clean')
      .sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
    for (const role of dirtyTargets) {
      const t = this.targets.get(role)!;
      const state = this.states.get(role);
      const next = new Targets(
        this.nextVersion(role, t.version),
        state === 'new' ? t.expires : expiresIn(now, DEFAULT_EXPIRY_DAYS.targets),
        t.targets,
        t.delegations,
        t.unrecognizedFields,
      );
      let keys: PublicKey[];
      let threshold: number;
      if (role === 'targets') {
        keys = Object.values(this.root.roleKeys('targets'));
        threshold = this.root.role('targets').threshold;
      } else {
        const parent = this.targets.get(parentRole(role))!;
        const d = parent.delegations.role(role)!;
        keys = d.keyids
          .map((id) => parent.delegations.keys[id])
          .filter((k): k is PublicKey => k !== undefined);
        threshold = d.threshold;
      }
      files.set(role, await this.signRole(role, next, keys, threshold, source));
      this.targets.set(role, next);
    }

    // Snapshot: rebuilt by the client only if it holds the snapshot key.
    const snapshotState = this.states.get('snapshot') ?? 'clean';
    if (!this.serverManagedSnapshot && (files.size > 0 || snapshotState !== 'clean')) {
      const all = new Map(this.published);
      for (const [role, bytes] of files) all.set(role, bytes);
      const meta = Object.create(null) as Record<string, FileMeta>;
      for (const [role, bytes] of all) meta[role] = FileMeta.forBytes(bytes);
      // The snapshot notary signed at init is kept at v1 only if nothing
      // changed since; any change re-signs it with the next version.
      const changedSinceInit = dirtyTargets.some((role) => this.states.get(role) === 'dirty');
      const keep = snapshotState === 'new' && !changedSinceInit && this.states.get('root') !== 'dirty';
      const version = keep ? this.snapshotVersion : this.snapshotVersion + 1;
      const snapshot = new Snapshot(version, expiresIn(now, DEFAULT_EXPIRY_DAYS.snapshot), meta);
      const keys = Object.values(this.root.roleKeys('snapshot'));
      files.set(
        'snapshot',
        await this.signRole('snapshot', snapshot, keys, this.root.role('snapshot').threshold, source),
      );
      this.snapshotVersion = version;
    }

    for (const [role, bytes] of files) {
      if (role !== 'snapshot') this.published.set(role, bytes);
      this.states.set(role, 'clean');
    }
    this.copied.clear();
    if (files.has('root')) {
      this.root = Metadata.parse(files.get('root')!, 'Root').signed;
      this.previousRootKeys = [];
    }
    return { files };
  }
}
