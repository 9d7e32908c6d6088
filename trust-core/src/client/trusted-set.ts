/**
 * The trusted metadata set: the only place that decides whether metadata is
 * trusted. It checks and throws; it never fetches, caches or retries (that is
 * the updater's job), as python-tuf's ngclient splits them.
 *
 * Load order is enforced: root, then timestamp, then snapshot, then targets,
 * then delegations (TUF client workflow §5; notary tuf/builder.go). Each
 * `update*` call either adds verified metadata or throws a typed error and
 * leaves the set unchanged.
 */
import { VerificationError } from '../errors.js';
import { toHex } from '../encoding/bytes.js';
import type { PublicKey } from '../crypto/keys.js';
import type { FileMeta } from '../models/file-meta.js';
import { checkHashes } from '../models/file-meta.js';
import { formatUnixDate } from '../models/expires.js';
import type { DelegatedRole, Root, Signed, Snapshot, Targets, Timestamp } from '../models/metadata.js';
import { Metadata } from '../models/metadata.js';
import type { VerifyOptions } from './verify.js';
import { validateRoot, verifyThreshold } from './verify.js';

export interface TrustedSetOptions extends VerifyOptions {
  gun: string;
  now: Date;
}

/** Versions seen before (from the cache), below which nothing is accepted. */
export interface MinimumVersions {
  timestamp?: number;
  snapshot?: number;
  targets?: number;
  [role: string]: number | undefined;
}

function checkExpiry(role: string, signed: Signed, now: Date): void {
  // TUF 5.3.10 / 5.4.4 / 5.5.6 freeze attack; message as notary ErrExpired.
  if (signed.isExpired(now)) {
    throw new VerificationError('EXPIRED', `${role} expired at ${formatUnixDate(signed.expiresAt)}`, {
      suggestion:
        'The trust data is out of date: the publisher must re-sign it, or the server is replaying old data.',
    });
  }
}

function checkRollback(role: string, version: number, minimum: number | undefined): void {
  // TUF 5.3.5 / 5.4.3 / 5.5.5 rollback; notary ErrLowVersion wording.
  if (minimum !== undefined && version < minimum) {
    throw new VerificationError('ROLLBACK', `version ${version} is lower than current version ${minimum}`, {
      suggestion: 'The server sent older trust data than you have seen before: this may be an attack.',
    });
  }
}

function checkAgainstMeta(role: string, bytes: Uint8Array, meta: FileMeta | undefined): void {
  if (!meta) return;
  if (bytes.length > meta.length) {
    throw new VerificationError(
      'LENGTH_MISMATCH',
      `${role} is ${bytes.length} bytes, expected at most ${meta.length}`,
    );
  }
  const check = checkHashes(bytes, meta.hashes);
  if (!check.ok) {
    const expected = meta.hashes[check.algorithm];
    throw new VerificationError(
      'HASH_MISMATCH',
      `${check.algorithm} checksum for ${role} did not match: expected ${expected ? toHex(expected) : 'a known hash'}`,
    );
  }
}

export class TrustedMetadataSet {
  private rootMd: Metadata<Root>;
  private rootRaw: Uint8Array;
  private timestampMd: Metadata<Timestamp> | undefined;
  private snapshotMd: Metadata<Snapshot> | undefined;
  private targetsByRole = new Map<string, Metadata<Targets>>();

  /**
   * Start from a root: the cached one (which may be expired; notary only
   * requires the final root to be current), or one fetched on first use.
   */
  constructor(
    rootBytes: Uint8Array,
    private readonly options: TrustedSetOptions,
    private readonly minimum: MinimumVersions = {},
  ) {
    const root = Metadata.parse(rootBytes, 'Root');
    validateRoot(root, undefined, options.gun, options.now, options);
    this.rootMd = root;
    this.rootRaw = rootBytes;
  }

  /** The trusted root's bytes exactly as served (what the cache keeps). */
  get rootBytes(): Uint8Array {
    return this.rootRaw;
  }

  get root(): Metadata<Root> {
    return this.rootMd;
  }
  get timestamp(): Metadata<Timestamp> | undefined {
    return this.timestampMd;
  }
  get snapshot(): Metadata<Snapshot> | undefined {
    return this.snapshotMd;
  }
  get targets(): Metadata<Targets> | undefined {
    return this.targetsByRole.get('targets');
  }
  delegated(role: string): Metadata<Targets> | undefined {
    return this.targetsByRole.get(role);
  }

  /** Root rotation: signed by the old root's threshold and by its own (TUF 5.3.4; notary ValidateRoot). */
  updateRoot(bytes: Uint8Array): Metadata<Root> {
    if (this.timestampMd) throw new Error('root cannot be updated after the timestamp was loaded');
    const root = Metadata.parse(bytes, 'Root');
    validateRoot(root, this.rootMd, this.options.gun, this.options.now, this.options);
    checkRollback('root', root.signed.version, this.rootMd.signed.version);
    this.rootMd = root;
    this.rootRaw = bytes;
    return root;
  }

  /** The final root must be current before anything else is trusted. */
  checkRootCurrent(): void {
    checkExpiry('root', this.rootMd.signed, this.options.now);
  }

  private roleKeys(role: 'timestamp' | 'snapshot' | 'targets'): Record<string, PublicKey> {
    return this.rootMd.signed.roleKeys(role);
  }

  updateTimestamp(bytes: Uint8Array): Metadata<Timestamp> {
    if (this.snapshotMd) throw new Error('timestamp cannot be updated after the snapshot was loaded');
    this.checkRootCurrent();
    const md = Metadata.parse(bytes, 'Timestamp');
    verifyThreshold(
      md,
      this.roleKeys('timestamp'),
      this.rootMd.signed.role('timestamp').threshold,
      'timestamp',
      this.options,
    );
    checkRollback('timestamp', md.signed.version, this.minimum.timestamp);
    checkExpiry('timestamp', md.signed, this.options.now);
    this.timestampMd = md;
    return md;
  }

  updateSnapshot(bytes: Uint8Array): Metadata<Snapshot> {
    if (!this.timestampMd) throw new Error('snapshot needs a trusted timestamp first');
    if (this.targetsByRole.size > 0) throw new Error('snapshot cannot be updated after targets were loaded');
    // TUF 5.5.2: the bytes must be the ones the timestamp names.
    checkAgainstMeta('snapshot', bytes, this.timestampMd.signed.snapshotMeta);
    const md = Metadata.parse(bytes, 'Snapshot');
    verifyThreshold(
      md,
      this.roleKeys('snapshot'),
      this.rootMd.signed.role('snapshot').threshold,
      'snapshot',
      this.options,
    );
    checkRollback('snapshot', md.signed.version, this.minimum.snapshot);
    checkExpiry('snapshot', md.signed, this.options.now);
    // notary checks the snapshot's root entry against the root it trusts;
    // a mismatch means the root changed and must be updated first.
    this.snapshotMd = md;
    return md;
  }

  /** The hashes the snapshot gives for a role, if it lists it. */
  snapshotMeta(role: string): FileMeta | undefined {
    return this.snapshotMd?.signed.meta[role];
  }

  updateTargets(bytes: Uint8Array): Metadata<Targets> {
    if (!this.snapshotMd) throw new Error('targets needs a trusted snapshot first');
    const meta = this.snapshotMd.signed.meta.targets;
    checkAgainstMeta('targets', bytes, meta);
    const md = Metadata.parse(bytes, 'Targets', 'targets');
    verifyThreshold(
      md,
      this.roleKeys('targets'),
      this.rootMd.signed.role('targets').threshold,
      'targets',
      this.options,
    );
    checkRollback('targets', md.signed.version, this.minimum.targets);
    checkExpiry('targets', md.signed, this.options.now);
    this.targetsByRole.set('targets', md);
    return md;
  }

  /** A delegated targets role, checked against its parent's delegation and the snapshot. */
  updateDelegatedTargets(bytes: Uint8Array, role: string, parent: string): Metadata<Targets> {
    if (!this.snapshotMd) throw new Error('delegations need a trusted snapshot first');
    const parentMd = this.targetsByRole.get(parent);
    if (!parentMd) throw new Error(`parent role ${parent} is not loaded`);
    const delegation: DelegatedRole | undefined = parentMd.signed.delegations.role(role);
    if (!delegation) {
      throw new VerificationError('INVALID_DELEGATION', `${role} is not delegated by ${parent}`);
    }
    const meta = this.snapshotMd.signed.meta[role];
    if (!meta) throw new VerificationError('HASH_MISMATCH', `snapshot does not list ${role}`);
    checkAgainstMeta(role, bytes, meta);
    const md = Metadata.parse(bytes, 'Targets', role);
    const keys: Record<string, PublicKey> = Object.create(null) as Record<string, PublicKey>;
    for (const id of delegation.keyids) {
      const key = parentMd.signed.delegations.keys[id];
      if (key) keys[id] = key;
    }
    verifyThreshold(md, keys, delegation.threshold, role, this.options);
    checkRollback(role, md.signed.version, this.minimum[role]);
    checkExpiry(role, md.signed, this.options.now);
    this.targetsByRole.set(role, md);
    return md;
  }
}
