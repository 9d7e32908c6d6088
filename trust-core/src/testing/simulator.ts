/**
 * An in-memory notary repository for tests: it holds real keys, signs real
 * metadata, serves it through the RemoteStore interface, and lets a test
 * mutate and re-sign any role, which is how the attack suite plays a
 * compromised or misbehaving server (python-tuf's RepositorySimulator plays
 * the same part there).
 */
import { FetchError } from '../errors.js';
import { toHex, sha256 } from '../encoding/bytes.js';
import type { PublicKey } from '../crypto/keys.js';
import type { Signer } from '../crypto/signatures.js';
import { PrivateKey } from '../crypto/signatures.js';
import { createRootCertificate, rootPublicKey } from '../crypto/x509.js';
import type { RemoteStore, MetadataCache } from '../client/interfaces.js';
import { FileMeta } from '../models/file-meta.js';
import { DEFAULT_EXPIRY_DAYS, expiresIn, formatExpires } from '../models/expires.js';
import type { Signed } from '../models/metadata.js';
import {
  DelegatedRole,
  Delegations,
  Metadata,
  RoleKeys,
  Root,
  Snapshot,
  Targets,
  Timestamp,
} from '../models/metadata.js';

export interface RootKey {
  key: PrivateKey;
  cert: PublicKey;
  signer: Signer;
}

export function makeRootKey(gun: string, now: Date): RootKey {
  const key = PrivateKey.generate('ecdsa');
  const cert = rootPublicKey(createRootCertificate(key, gun, { now }));
  return { key, cert, signer: key.signer(cert) };
}

/** Per-role settings a test may change before `publish()`. */
export interface RoleSettings {
  /** Signers used to sign the role (default: the role's keys). */
  signers?: Signer[];
  /** Override the expiry (e.g. in the past for freeze attacks). */
  expires?: Date;
  /** Override the next version. */
  version?: number;
}

export class MemoryCache implements MetadataCache {
  readonly files = new Map<string, Uint8Array>();
  get(role: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.files.get(role));
  }
  set(role: string, bytes: Uint8Array): Promise<void> {
    this.files.set(role, bytes);
    return Promise.resolve();
  }
  remove(role: string): Promise<void> {
    this.files.delete(role);
    return Promise.resolve();
  }
}

export class RepositorySimulator implements RemoteStore {
  readonly displayName = 'notary.test';
  now: Date;
  /** What the server serves, by metadata name (`root`, `3.root`, `snapshot.<hex>`, …). */
  readonly served = new Map<string, Uint8Array>();
  /** Names fetched, in order. */
  readonly fetched: string[] = [];
  /** Names that answer 404, or fail like an unreachable server. */
  readonly missing = new Set<string>();
  offline = false;

  rootKeys: RootKey[];
  rootThreshold = 1;
  readonly keys: Record<'targets' | 'snapshot' | 'timestamp', PrivateKey[]>;
  readonly thresholds = { targets: 1, snapshot: 1, timestamp: 1 };
  readonly delegationKeys = new Map<string, PrivateKey[]>();
  /** Extra keys that must co-sign the next root (rotation). */
  rootCoSigners: Signer[] = [];

  root: Root | undefined;
  readonly targets = new Map<string, Targets>();
  snapshot!: Snapshot;
  timestamp!: Timestamp;
  readonly files = new Map<string, Uint8Array>();
  readonly settings = new Map<string, RoleSettings>();

  constructor(
    readonly gun = 'docker.io/alice/app',
    now = new Date('2026-11-26T12:00:00Z'),
  ) {
    this.now = now;
    this.rootKeys = [makeRootKey(gun, now)];
    this.keys = {
      targets: [PrivateKey.generate('ecdsa')],
      snapshot: [PrivateKey.generate('ecdsa')],
      timestamp: [PrivateKey.generate('ed25519')],
    };
    this.targets.set('targets', new Targets(0, expiresIn(now, DEFAULT_EXPIRY_DAYS.targets)));
  }

  /** A repository with root, targets, snapshot and timestamp published at version 1. */
  static async create(gun?: string, now?: Date): Promise<RepositorySimulator> {
    const sim = new RepositorySimulator(gun, now);
    await sim.publish({ root: true });
    return sim;
  }

  // -- RemoteStore --------------------------------------------------------

  getMeta(name: string, maxLength: number): Promise<Uint8Array> {
    this.fetched.push(name);
    if (this.offline) {
      return Promise.reject(
        new FetchError('SERVER_UNREACHABLE', 'error contacting notary server: connection refused'),
      );
    }
    const bytes = this.missing.has(name) ? undefined : this.served.get(name);
    if (!bytes) {
      return Promise.reject(new FetchError('TRUST_DATA_MISSING', `${name} not found`, { status: 404 }));
    }
    if (bytes.length > maxLength) {
      return Promise.reject(new FetchError('TOO_LARGE', 'trust server returned a bad response.'));
    }
    return Promise.resolve(bytes);
  }

  // -- editing -------------------------------------------------------------

  roleSigners(role: string): Signer[] {
    const custom = this.settings.get(role)?.signers;
    if (custom) return custom;
    if (role === 'root') return [...this.rootKeys.map((k) => k.signer), ...this.rootCoSigners];
    if (role === 'targets' || role === 'snapshot' || role === 'timestamp') {
      return this.keys[role].map((k) => k.signer());
    }
    return (this.delegationKeys.get(role) ?? []).map((k) => k.signer());
  }

  addTarget(name: string, content: Uint8Array, role = 'targets'): FileMeta {
    const meta = FileMeta.forBytes(content);
    const t = this.targets.get(role) ?? new Targets(0, expiresIn(this.now, DEFAULT_EXPIRY_DAYS.targets));
    this.targets.set(role, new Targets(t.version, t.expires, { ...t.targets, [name]: meta }, t.delegations));
    return meta;
  }

  /** Delegate `role` from its parent to fresh keys. */
  delegate(
    role: string,
    paths: string[],
    options: { keys?: PrivateKey[]; threshold?: number } = {},
  ): PrivateKey[] {
    const parentName = role.slice(0, role.lastIndexOf('/'));
    const parent = this.targets.get(parentName)!;
    const keys = options.keys ?? [PrivateKey.generate('ecdsa')];
    this.delegationKeys.set(role, keys);
    const pub = Object.fromEntries(keys.map((k) => [k.id, k.publicKey()]));
    const entry = new DelegatedRole(
      role,
      keys.map((k) => k.id),
      options.threshold ?? 1,
      paths,
    );
    const delegations = new Delegations({ ...parent.delegations.keys, ...pub }, [
      ...parent.delegations.roles.filter((r) => r.name !== role),
      entry,
    ]);
    this.targets.set(parentName, new Targets(parent.version, parent.expires, parent.targets, delegations));
    if (!this.targets.has(role))
      this.targets.set(role, new Targets(0, expiresIn(this.now, DEFAULT_EXPIRY_DAYS.targets)));
    return keys;
  }

  /** Rotate the root key; the next root is signed by the old and the new key unless told otherwise. */
  async rotateRootKey(options: { signWithOld?: boolean } = {}): Promise<RootKey> {
    const old = this.rootKeys;
    const fresh = makeRootKey(this.gun, this.now);
    this.rootKeys = [fresh];
    this.rootCoSigners = options.signWithOld === false ? [] : old.map((k) => k.signer);
    await this.publish({ root: true });
    return fresh;
  }

  private rootModel(version: number, expires: string): Root {
    const keys: Record<string, PublicKey> = { ...(this.root?.keys ?? {}) };
    for (const k of this.rootKeys) keys[k.cert.id] = k.cert;
    for (const role of ['targets', 'snapshot', 'timestamp'] as const) {
      for (const k of this.keys[role]) keys[k.id] = k.publicKey();
    }
    return new Root(version, expires, keys, {
      root: new RoleKeys(
        this.rootKeys.map((k) => k.cert.id),
        this.rootThreshold,
      ),
      targets: new RoleKeys(
        this.keys.targets.map((k) => k.id),
        this.thresholds.targets,
      ),
      snapshot: new RoleKeys(
        this.keys.snapshot.map((k) => k.id),
        this.thresholds.snapshot,
      ),
      timestamp: new RoleKeys(
        this.keys.timestamp.map((k) => k.id),
        this.thresholds.timestamp,
      ),
    });
  }

  private expiryFor(role: string, days: number): string {
    const e = this.settings.get(role)?.expires;
    return e ? formatExpires(e) : expiresIn(this.now, days);
  }

  private versionFor(role: string, current: number): number {
    return this.settings.get(role)?.version ?? current + 1;
  }

  /** Sign a payload with the role's signers (synchronously usable keys only). */
  async signBytes(role: string, signed: Signed): Promise<Uint8Array> {
    return (await Metadata.create(signed).sign(this.roleSigners(role))).toBytes();
  }

  /**
   * Re-sign and serve everything: every targets role, the root when asked
   * (or when it changed), then a new snapshot and timestamp. Returns the
   * served bytes by role.
   */
  async publish(options: { root?: boolean } = {}): Promise<Map<string, Uint8Array>> {
    if (options.root || !this.root) {
      const version = this.versionFor('root', this.root?.version ?? 0);
      this.root = this.rootModel(version, this.expiryFor('root', DEFAULT_EXPIRY_DAYS.root));
      const bytes = await this.signBytes('root', this.root);
      this.files.set('root', bytes);
      this.served.set(`${version}.root`, bytes);
      this.rootCoSigners = [];
    }
    for (const [role, t] of this.targets) {
      const next = new Targets(
        this.versionFor(role, t.version),
        this.expiryFor(role, DEFAULT_EXPIRY_DAYS.targets),
        t.targets,
        t.delegations,
      );
      this.targets.set(role, next);
      this.files.set(role, await this.signBytes(role, next));
    }
    const meta: Record<string, FileMeta> = {};
    for (const [role, bytes] of this.files)
      if (role !== 'snapshot' && role !== 'timestamp') meta[role] = FileMeta.forBytes(bytes);
    this.snapshot = new Snapshot(
      this.versionFor('snapshot', this.snapshot?.version ?? 0),
      this.expiryFor('snapshot', DEFAULT_EXPIRY_DAYS.snapshot),
      meta,
    );
    this.files.set('snapshot', await this.signBytes('snapshot', this.snapshot));
    await this.publishTimestamp();
    this.serveAll();
    return new Map(this.files);
  }

  /** A new timestamp for the current snapshot bytes. */
  async publishTimestamp(snapshotBytes = this.files.get('snapshot')!): Promise<Uint8Array> {
    this.timestamp = new Timestamp(
      this.versionFor('timestamp', this.timestamp?.version ?? 0),
      this.expiryFor('timestamp', DEFAULT_EXPIRY_DAYS.timestamp),
      { snapshot: FileMeta.forBytes(snapshotBytes) },
    );
    const bytes = await this.signBytes('timestamp', this.timestamp);
    this.files.set('timestamp', bytes);
    this.served.set('timestamp', bytes);
    return bytes;
  }

  /** Serve the current files under their plain and checksum names. */
  serveAll(): void {
    for (const [role, bytes] of this.files) this.serve(role, bytes);
  }

  /** Serve bytes for a role under its plain name and its checksum name. */
  serve(role: string, bytes: Uint8Array): void {
    this.served.set(role, bytes);
    if (role !== 'timestamp') this.served.set(`${role}.${toHex(sha256(bytes))}`, bytes);
  }
}
