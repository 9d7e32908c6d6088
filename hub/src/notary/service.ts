/**
 * The Notary server's behaviour, without HTTP: publish (validate with
 * trust-core's `validateUpdate`, then store atomically), reads (with the
 * server-signed timestamp refreshed on demand), server-held keys, deletion
 * and the change feed.
 *
 * All writes for one GUN go through a per-GUN queue, so two publishes (or a
 * publish and a timestamp refresh) never validate against the same state and
 * then both store; `TrustStore.applyUpdate` re-checks the stored versions
 * inside its transaction for writers in other processes. Reads do not queue:
 * every write is one SQLite transaction, so a read sees the state before or
 * after it, never a mix. A timestamp GET queues only when the timestamp must
 * actually be re-signed (see `current`).
 */
import { createHash } from 'node:crypto';
import {
  Metadata,
  ServerValidationError,
  serverTimestamp,
  validateUpdate,
  type PublicKey,
  type ServerSigners,
  type Snapshot,
  type StoredRepository,
  type Timestamp,
  type Signer,
  type UploadedPart,
} from '../../../trust-core/src/index.js';
import type { ServerKeys } from './keys.js';
import type { StoredFile, TrustStore } from './store.js';

export type ServerKeyRole = 'timestamp' | 'snapshot';

/** 404 METADATA_NOT_FOUND with `detail:{}`, as notary answers for a missing GUN, role or version. */
export function metadataNotFound(): ServerValidationError {
  return new ServerValidationError('METADATA_NOT_FOUND', {});
}

/**
 * The hub re-signs a timestamp a day before it expires, not only once it has
 * (notary-server's rule), so a client never fetches one that will have
 * expired before it is used.
 */
export const TIMESTAMP_RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

/**
 * notary's check of a snapshot against the timestamp's hashes (trust-core
 * `checkHashesLikeNotary`): every listed sha256/sha512 must match, and at
 * least one must be listed.
 */
function matchesHashes(content: Uint8Array, hashes: Readonly<Record<string, Uint8Array>>): boolean {
  let checked = 0;
  for (const alg of ['sha256', 'sha512'] as const) {
    const expected = hashes[alg];
    if (!expected) continue;
    if (!createHash(alg).update(content).digest().equals(expected)) return false;
    checked++;
  }
  return checked > 0;
}

/** Most GUNs whose "timestamp can be served until" decision is remembered. */
const MAX_FRESH_ENTRIES = 10_000;

export class NotaryService {
  private readonly queues = new Map<string, Promise<unknown>>();
  /**
   * Per GUN: the stored timestamp (by sha256) and snapshot (by sha256) last
   * found to need no re-signing, and until when (ms epoch) that holds. Any
   * new timestamp or snapshot (publish, refresh, delete and re-create)
   * changes a sha256, so a stale entry is never used.
   */
  private readonly fresh = new Map<
    string,
    { timestampSha256: string; snapshotSha256: string; validUntil: number }
  >();

  constructor(
    readonly store: TrustStore,
    readonly keys: ServerKeys,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Runs `task` after every earlier task for `gun` has settled. */
  private serialize<T>(gun: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(gun) ?? Promise.resolve();
    const run = previous.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(gun, settled);
    void settled.then(() => {
      if (this.queues.get(gun) === settled) this.queues.delete(gun);
    });
    return run;
  }

  /**
   * The server's signers for `gun`, built only when a signature is actually
   * made (the getters run on first use; ServerKeys caches the unsealed keys).
   */
  private serverSigners(gun: string): ServerSigners {
    const keys = this.keys;
    let timestamp: Signer[] | undefined;
    let snapshot: Signer[] | undefined;
    return {
      get timestamp() {
        return (timestamp ??= keys.signers(gun, 'timestamp'));
      },
      get snapshot() {
        return (snapshot ??= keys.signers(gun, 'snapshot'));
      },
    };
  }

  private storedRepository(gun: string): StoredRepository {
    const files = this.store.currentFiles(gun);
    const delegations: Record<string, Uint8Array> = {};
    for (const [role, file] of files) if (role.startsWith('targets/')) delegations[role] = file.content;
    return {
      root: files.get('root')?.content,
      targets: files.get('targets')?.content,
      snapshot: files.get('snapshot')?.content,
      timestamp: files.get('timestamp')?.content,
      delegations,
    };
  }

  /**
   * POST /v2/<gun>/_trust/tuf/ (notary atomicUpdateHandler). Throws
   * ServerValidationError with notary's code, status and body.
   */
  publish(gun: string, parts: readonly UploadedPart[]): Promise<string[]> {
    return this.serialize(gun, async () => {
      const storedVersions = this.store.storedVersions(gun);
      const result = await validateUpdate({
        gun,
        current: this.storedRepository(gun),
        updates: parts,
        serverSigners: this.serverSigners(gun),
        now: this.clock(),
        storedVersions,
      });
      const files = result.order.map((role) => ({
        role,
        version: result.versions[role] as number,
        content: result.files[role] as Uint8Array,
      }));
      // Another process published in between: notary's storage answers VERSION then.
      if (!this.store.applyUpdate(gun, files, storedVersions)) throw new ServerValidationError('VERSION', {});
      return result.order;
    });
  }

  /**
   * The current file of `role`. For the timestamp this is notary's
   * GetOrCreateTimestamp: re-signed (and stored) when expired or out of sync
   * with the snapshot.
   */
  async current(gun: string, role: string): Promise<StoredFile> {
    if (role === 'timestamp') return this.servableTimestamp(gun) ?? this.refreshTimestamp(gun);
    const file = this.store.current(gun, role);
    if (!file) throw metadataNotFound();
    return file;
  }

  /**
   * The stored timestamp when it can be served as is, decided without the
   * per-GUN queue and without any key: one read of the current timestamp
   * and the snapshot's sha256, then (only when either changed since the last
   * decision) a parse of the two small files. Mirrors trust-core's
   * `serverTimestamp`: served unchanged when the snapshot is unexpired, the
   * timestamp's snapshot hashes match it, and the timestamp does not expire
   * within TIMESTAMP_RENEW_BEFORE_MS. Undefined means "let
   * `refreshTimestamp` decide" (re-sign, or report the error).
   */
  private servableTimestamp(gun: string): StoredFile | undefined {
    const state = this.store.timestampState(gun);
    if (!state) return undefined;
    const now = this.clock().getTime();
    const known = this.fresh.get(gun);
    if (
      known !== undefined &&
      known.timestampSha256 === state.timestamp.sha256 &&
      known.snapshotSha256 === state.snapshotSha256
    ) {
      return now <= known.validUntil ? state.timestamp : undefined;
    }
    const snapshotFile = this.store.byChecksum(gun, 'snapshot', state.snapshotSha256);
    if (!snapshotFile) return undefined;
    let validUntil: number;
    try {
      const timestamp = Metadata.parse(state.timestamp.content, 'Timestamp') as Metadata<Timestamp>;
      const snapshot = Metadata.parse(snapshotFile.content, 'Snapshot') as Metadata<Snapshot>;
      if (!matchesHashes(snapshotFile.content, timestamp.signed.snapshotMeta.hashes)) return undefined;
      // `isExpired(t)` is `t > expires`: servable while now <= snapshot expiry and
      // now + renew window <= timestamp expiry.
      validUntil = Math.min(
        snapshot.signed.expiresAt.getTime(),
        timestamp.signed.expiresAt.getTime() - TIMESTAMP_RENEW_BEFORE_MS,
      );
    } catch {
      return undefined;
    }
    this.fresh.delete(gun);
    this.fresh.set(gun, {
      timestampSha256: state.timestamp.sha256,
      snapshotSha256: state.snapshotSha256,
      validUntil,
    });
    if (this.fresh.size > MAX_FRESH_ENTRIES) {
      const oldest = this.fresh.keys().next().value;
      if (oldest !== undefined) this.fresh.delete(oldest);
    }
    return now <= validUntil ? state.timestamp : undefined;
  }

  /**
   * notary's GetOrCreateTimestamp, in the per-GUN queue: re-signed (and
   * stored) when expired or out of sync with the snapshot. Signers are only
   * built if trust-core actually signs.
   */
  private refreshTimestamp(gun: string): Promise<StoredFile> {
    return this.serialize(gun, async () => {
      const files = this.store.currentFiles(gun);
      const root = files.get('root');
      const snapshot = files.get('snapshot');
      const timestamp = files.get('timestamp');
      if (!root || !snapshot || !timestamp) throw metadataNotFound();
      const result = await serverTimestamp({
        gun,
        root: root.content,
        snapshot: snapshot.content,
        timestamp: timestamp.content,
        serverSigners: this.serverSigners(gun),
        now: this.clock(),
        renewBeforeMs: TIMESTAMP_RENEW_BEFORE_MS,
      });
      if (!result.changed) return timestamp;
      const update = [];
      if (result.snapshot)
        update.push({ role: 'snapshot', ...result.snapshot, content: result.snapshot.bytes });
      update.push({ role: 'timestamp', version: result.version, content: result.timestamp });
      const expect = this.store.storedVersions(gun);
      if (!this.store.applyUpdate(gun, update, expect)) throw metadataNotFound();
      return this.store.current(gun, 'timestamp') as StoredFile;
    });
  }

  byVersion(gun: string, role: string, version: number): StoredFile {
    const file = this.store.byVersion(gun, role, version);
    if (!file) throw metadataNotFound();
    return file;
  }

  byChecksum(gun: string, role: string, checksum: string): StoredFile {
    // The memory store indexes sha256 only: 96/128-hex checksums are never found (notary-server server/handlers).
    const file =
      checksum.length === 64 ? this.store.byChecksum(gun, role, checksum.toLowerCase()) : undefined;
    if (!file) throw metadataNotFound();
    return file;
  }

  /**
   * GET …/<role>.key (notary GetOrCreateTimestampKey / GetOrCreateSnapshotKey):
   * with a root stored, the held key the root lists for the role; otherwise
   * a key is created. Unlike notary, which creates a fresh key on every GET
   * while no root exists, the hub hands out its newest unused key again, so
   * repeated `notary init` attempts do not pile up keys.
   */
  getKey(gun: string, role: ServerKeyRole): Promise<PublicKey> {
    return this.serialize(gun, () => {
      const root = this.store.current(gun, 'root');
      if (root) {
        let listed: string[] = [];
        try {
          listed = Metadata.parse(root.content, 'Root').signed.role(role).keyids;
        } catch {
          listed = [];
        }
        const held = this.keys.publicKeys(gun, role).find((key) => listed.includes(key.id));
        if (held) return Promise.resolve(held);
        return Promise.resolve(this.keys.create(gun, role));
      }
      const newest = this.keys.publicKeys(gun, role).at(-1);
      return Promise.resolve(newest ?? this.keys.create(gun, role));
    });
  }

  /** POST …/<role>.key (notary RotateKey): a new pending key, used once a root naming it is published. */
  rotateKey(gun: string, role: ServerKeyRole): Promise<PublicKey> {
    return this.serialize(gun, () => Promise.resolve(this.keys.create(gun, role)));
  }

  /** DELETE /v2/<gun>/_trust/tuf/: 200 even for an unknown GUN (notary DeleteHandler). */
  delete(gun: string): Promise<void> {
    return this.serialize(gun, () => {
      this.store.deleteGun(gun);
      return Promise.resolve();
    });
  }
}
