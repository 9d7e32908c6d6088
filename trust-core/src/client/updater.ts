/**
 * The updater: decides what to fetch, what to take from the cache and what
 * to persist, following notary's client (client/tufclient.go, tuf/builder.go). All
 * trust decisions are delegated to TrustedMetadataSet.
 *
 * Flow:
 * 1. root: the cached root (it may be expired), else `root.json` trusted on
 *    first use;
 * 2. timestamp: always fetched; on a fetch failure the cached one is used
 *    with a warning;
 * 3. snapshot and targets: taken from the cache when their hashes match,
 *    otherwise fetched by checksum and capped at the listed length;
 * 4. delegations listed in the snapshot, walked from `targets`; a bad one is
 *    skipped with a warning, as docker does;
 * 5. on any verification failure: update the root (by `root.json`, then by
 *    walking `N.root.json` forward) and retry once.
 */
import { FetchError, TrustError, VerificationError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/bytes.js';
import { checkHashes } from '../models/file-meta.js';
import { Metadata } from '../models/metadata.js';
import type { Targets } from '../models/metadata.js';
import type { UpdaterLimits, TrustPinning } from './config.js';
import { DEFAULT_LIMITS } from './config.js';
import type { Clock, MetadataCache, RemoteStore, UpdateWarning } from './interfaces.js';
import { systemClock } from './interfaces.js';
import type { MinimumVersions } from './trusted-set.js';
import { TrustedMetadataSet } from './trusted-set.js';
import { TrustedRepository } from './repository.js';
import type { VerifyOptions } from './verify.js';

export interface UpdaterOptions extends VerifyOptions {
  gun: string;
  remote: RemoteStore;
  cache: MetadataCache;
  clock?: Clock;
  limits?: Partial<UpdaterLimits>;
  trustPinning?: TrustPinning;
  onWarning?: (warning: UpdateWarning) => void;
}

export class Updater {
  private readonly limits: UpdaterLimits;
  private readonly clock: Clock;

  constructor(private readonly options: UpdaterOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.clock = options.clock ?? systemClock;
  }

  private warn(code: string, message: string): void {
    this.options.onWarning?.({ code, message });
  }

  /** Bring the local view of the repository up to date and return what is now trusted. */
  async refresh(): Promise<TrustedRepository> {
    const { cache } = this.options;
    let rootBytes = await this.bootstrapRoot();
    // Versions seen before are floors for rollback checks. They are read
    // without verifying: a corrupt cache entry gives no floor, and what is
    // fetched next is verified in full.
    const floor = async (role: string) => {
      const bytes = await cache.get(role);
      return bytes ? Metadata.peekVersion(bytes) : undefined;
    };
    const minimum: MinimumVersions = {
      timestamp: await floor('timestamp'),
      snapshot: await floor('snapshot'),
      targets: await floor('targets'),
    };
    try {
      return await this.load(rootBytes, minimum);
    } catch (error) {
      // notary retries once after updating the root, for verification
      // failures only (a network error is not fixed by a new root).
      if (!(error instanceof VerificationError)) throw error;
      const rotated = await this.updateRoot(rootBytes);
      if (rotated === undefined) throw error;
      rootBytes = rotated;
      return await this.load(rootBytes, minimum);
    }
  }

  private trustedSet(rootBytes: Uint8Array, minimum: MinimumVersions = {}): TrustedMetadataSet {
    return new TrustedMetadataSet(rootBytes, { ...this.options, now: this.clock.now() }, minimum);
  }

  private async bootstrapRoot(): Promise<Uint8Array> {
    const { cache, gun, trustPinning } = this.options;
    const cached = await cache.get('root');
    if (cached) {
      try {
        this.trustedSet(cached);
        return cached;
      } catch (cause) {
        this.warn('CACHE_INVALID', `cached root for ${gun} is invalid and was ignored`);
        void cause;
      }
    }
    if (trustPinning?.disableTofu && !trustPinning.certs?.[gun]) {
      throw new VerificationError(
        'BAD_CERTIFICATE',
        `trust on first use is disabled and nothing is pinned for ${gun}`,
      );
    }
    const bytes = await this.fetch('root', this.limits.rootMaxLength);
    // Trust on first use: the certificate must match the GUN and the root
    // must meet its own threshold (checked by the trusted set).
    this.trustedSet(bytes);
    this.checkPinned(bytes);
    await cache.set('root', bytes);
    return bytes;
  }

  private checkPinned(rootBytes: Uint8Array): void {
    const pinned = this.options.trustPinning?.certs?.[this.options.gun];
    if (!pinned) return;
    const root = Metadata.parse(rootBytes, 'Root');
    const ids = root.signed.role('root').keyids;
    if (!ids.some((id) => pinned.includes(id))) {
      throw new VerificationError(
        'BAD_CERTIFICATE',
        'could not validate the path to a trusted root: unable to retrieve valid leaf certificates',
      );
    }
  }

  /**
   * Update the root: `root.json` first; if it is not a valid successor,
   * walk `N.root.json` forward one version at a time (notary client/tufclient.go). Returns
   * the new root bytes, or undefined when the server has nothing newer.
   */
  private async updateRoot(current: Uint8Array): Promise<Uint8Array | undefined> {
    const set = this.trustedSet(current);
    const startVersion = set.root.signed.version;
    const latest = await this.fetch('root', this.limits.rootMaxLength);
    if (bytesEqual(current, latest)) return undefined;
    try {
      set.updateRoot(latest);
    } catch (error) {
      if (!(error instanceof VerificationError) || error.code !== 'ROOT_ROTATION_FAILED') throw error;
      for (let i = 0; i < this.limits.maxRootRotations; i++) {
        let bytes: Uint8Array;
        try {
          bytes = await this.fetch(`${set.root.signed.version + 1}.root`, this.limits.rootMaxLength);
        } catch (fetchError) {
          if (fetchError instanceof FetchError && fetchError.code === 'TRUST_DATA_MISSING') break;
          throw fetchError;
        }
        set.updateRoot(bytes);
      }
      if (set.root.signed.version === startVersion) throw error;
    }
    this.checkPinned(set.rootBytes);
    await this.options.cache.set('root', set.rootBytes);
    return set.rootBytes;
  }

  private async fetch(name: string, maxLength: number): Promise<Uint8Array> {
    try {
      return await this.options.remote.getMeta(name, maxLength);
    } catch (error) {
      if (error instanceof FetchError && error.code === 'TRUST_DATA_MISSING' && name === 'root') {
        throw new FetchError(
          'TRUST_DATA_MISSING',
          `${this.options.remote.displayName} does not have trust data for ${this.options.gun}`,
          { cause: error, status: error.status },
        );
      }
      throw error;
    }
  }

  private async load(rootBytes: Uint8Array, minimum: MinimumVersions): Promise<TrustedRepository> {
    const { cache } = this.options;
    const set = this.trustedSet(rootBytes, minimum);
    set.checkRootCurrent();

    // Timestamp: always fetched; a fetch failure falls back to the cache.
    let timestampBytes: Uint8Array;
    try {
      timestampBytes = await this.fetch('timestamp', this.limits.timestampMaxLength);
    } catch (error) {
      const cached = await cache.get('timestamp');
      if (!(error instanceof FetchError) || error.code === 'TOO_LARGE' || !cached) throw error;
      this.warn('TIMESTAMP_FROM_CACHE', `could not fetch timestamp, using the cached one: ${error.message}`);
      timestampBytes = cached;
    }
    const timestamp = set.updateTimestamp(timestampBytes);

    // Snapshot: from the cache if it is the one the timestamp names.
    const snapshotMeta = timestamp.signed.snapshotMeta;
    const snapshotBytes = await this.cachedOrFetch('snapshot', snapshotMeta.length, snapshotMeta.hashes);
    const snapshot = set.updateSnapshot(snapshotBytes);

    // The snapshot also names the root it was made with: a mismatch means the
    // root was rotated, which the retry path handles (notary client/tufclient.go).
    const rootMeta = snapshot.signed.meta.root;
    if (rootMeta && !checkHashes(rootBytes, rootMeta.hashes).ok) {
      throw new VerificationError(
        'HASH_MISMATCH',
        'root checksum does not match the snapshot: the root has changed',
      );
    }

    const targetsMeta = snapshot.signed.meta.targets!;
    const targetsBytes = await this.cachedOrFetch('targets', targetsMeta.length, targetsMeta.hashes);
    const targets = set.updateTargets(targetsBytes);

    const delegationBytes = await this.loadDelegations(set, targets, minimum);

    await cache.set('timestamp', timestampBytes);
    await cache.set('snapshot', snapshotBytes);
    await cache.set('targets', targetsBytes);
    for (const [role, bytes] of delegationBytes) await cache.set(role, bytes);

    return new TrustedRepository(this.options.gun, set, {
      root: rootBytes,
      timestamp: timestampBytes,
      snapshot: snapshotBytes,
      targets: targetsBytes,
      ...Object.fromEntries(delegationBytes),
    });
  }

  private async cachedOrFetch(
    role: string,
    length: number,
    hashes: Record<string, Uint8Array>,
  ): Promise<Uint8Array> {
    const cached = await this.options.cache.get(role);
    if (cached && cached.length <= length && checkHashes(cached, hashes).ok) return cached;
    const sha = hashes.sha256;
    const name = sha ? `${role}.${toHex(sha)}` : role;
    return this.fetch(name, length);
  }

  /** Walk delegations breadth-first from `targets`; bad ones are skipped with a warning. */
  private async loadDelegations(
    set: TrustedMetadataSet,
    targets: Metadata<Targets>,
    minimum: MinimumVersions,
  ): Promise<Map<string, Uint8Array>> {
    const loaded = new Map<string, Uint8Array>();
    const queue: Array<{ role: string; parent: string }> = targets.signed.delegations.roles.map((r) => ({
      role: r.name,
      parent: 'targets',
    }));
    let visited = 0;
    while (queue.length > 0 && visited < this.limits.maxDelegations) {
      const { role, parent } = queue.shift()!;
      visited++;
      const meta = set.snapshotMeta(role);
      if (!meta) continue; // delegated but never published (docker signer add before sign)
      try {
        // The cached version of the delegation is its rollback floor.
        const cached = await this.options.cache.get(role);
        if (cached) minimum[role] = Metadata.peekVersion(cached);
        const bytes = await this.cachedOrFetch(role, meta.length, meta.hashes);
        const md = set.updateDelegatedTargets(bytes, role, parent);
        loaded.set(role, bytes);
        for (const child of md.signed.delegations.roles) queue.push({ role: child.name, parent: role });
      } catch (error) {
        if (!(error instanceof TrustError)) throw error;
        this.warn(error.code, `skipping delegation ${role}: ${error.message}`);
      }
    }
    return loaded;
  }
}
