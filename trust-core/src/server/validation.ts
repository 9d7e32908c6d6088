/**
 * Server-side validation of a publish, as notary-server 0.7 does it
 * (server/handlers/default.go atomicUpdateHandler → handlers/validation.go
 * validateUpdate → tuf/builder.go → storage UpdateMany), as a pure function:
 * no I/O, no clock but `now`, no randomness beyond the signers'.
 *
 * Order of checks (notary-server server/handlers "Publish checks, in order"), each with notary's
 * error:
 * 1. every part, in upload order: a file name (NO_FILENAME), a valid role name
 *    once `.json` is trimmed (INVALID_ROLE, detail = the role), and a first
 *    JSON value Go can decode into `SignedMeta` (MALFORMED_JSON). A role sent
 *    twice keeps its last part.
 * 2. the stored root is loaded (expired allowed). An uploaded root must have
 *    version current or current+1 (current = 1 when nothing is stored), then
 *    pass trustpinning.ValidateRoot (leaf certificates for the GUN, signed by
 *    the previous root's certificates with the previous threshold, signed by
 *    its own) and not be expired → ErrBadRoot with notary's message. No root at
 *    all → ErrValidation `no pre-existing root and no root provided in update.`
 * 3. `targets` and delegations in utils.RoleList order (fewer path segments
 *    first, then by name). Missing ancestors are loaded from storage first
 *    (expired allowed). `targets`: signatures → structure → expiry;
 *    a delegation: its parent must be loaded and list it, then structure →
 *    signatures → expiry. Failures → ErrBadTargets.
 * 4. snapshot: an uploaded one is checked (signatures, structure, expiry) and
 *    must carry the hashes of every root/targets file loaded so far (uploaded
 *    or read from storage) → ErrBadSnapshot. Otherwise the server signs the
 *    next one from the stored snapshot if it holds a key of the root's
 *    snapshot role, else ErrBadHierarchy.
 * 5. timestamp: always generated (an uploaded timestamp is ignored): stored
 *    version + 1, now + 14 days, meta = the snapshot's length, sha256, sha512.
 * 6. storage: each role's new version must be above every stored version of
 *    that role, else VERSION (detail `{}`).
 *
 * Known, deliberate differences from notary-server (see the report in the
 * tests): structural errors in metadata carry trust-core's MetadataError
 * message rather than Go's; when several files fail the snapshot's checksums
 * notary reports one at random (Go map order), we report root, then targets
 * roles in load order, sha256 before sha512; generated snapshot/timestamp
 * hash the exact bytes that will be stored, where notary re-serialises its
 * parsed structs (identical for every file notary and docker write).
 */
import type { JsonValue } from '../encoding/canonical-json.js';
import { canonicalBytes, isJsonObject, parseJsonBytes } from '../encoding/canonical-json.js';
import { toHex, sha256, sha512, bytesEqual } from '../encoding/bytes.js';
import type { PublicKey } from '../crypto/keys.js';
import type { Signer, VerifyOptions } from '../crypto/signatures.js';
import { countValid, validateRoot } from '../client/verify.js';
import { VerificationError } from '../errors.js';
import { DEFAULT_EXPIRY_DAYS, expiresIn, formatUnixDate } from '../models/expires.js';
import { FileMeta } from '../models/file-meta.js';
import type { Root, Targets } from '../models/metadata.js';
import {
  BASE_ROLES,
  Metadata,
  Signature,
  Snapshot,
  Timestamp,
  isDelegationName,
  parentRole,
} from '../models/metadata.js';
import {
  ServerValidationError,
  errBadHierarchy,
  errBadRoot,
  errBadSnapshot,
  errBadTargets,
  errInvalidUpdateNoDetail,
  errOldVersion,
  errValidation,
} from './errors.js';
import { decodeSignedMeta } from './go-json.js';

/** What the server stores now: the current file of each role. */
export interface StoredRepository {
  root?: Uint8Array | undefined;
  targets?: Uint8Array | undefined;
  snapshot?: Uint8Array | undefined;
  timestamp?: Uint8Array | undefined;
  /** Current file of each delegation, by role name (`targets/releases`). */
  delegations?: Readonly<Record<string, Uint8Array>> | undefined;
}

/** One multipart part: `name` is its `filename` (notary trims one `.json`). */
export interface UploadedPart {
  name: string;
  data: Uint8Array;
}

/** Keys the server holds for a role; several while a key rotation is pending. */
export type SignerSet = Signer | readonly Signer[];

export interface ServerSigners {
  timestamp: SignerSet;
  /** Only when the server manages the repository's snapshot key. */
  snapshot?: SignerSet | undefined;
}

export interface ValidateUpdateInput {
  gun: string;
  current: StoredRepository;
  /** The uploaded parts in upload order, or by role name. */
  updates: readonly UploadedPart[] | Readonly<Record<string, Uint8Array>>;
  serverSigners: ServerSigners;
  now: Date;
  /**
   * Highest version stored per role, for the VERSION check. A role missing
   * here falls back to the version of its current file.
   */
  storedVersions?: Readonly<Record<string, number>> | undefined;
  /** notary-server `repositories.gun_prefixes`: when set, other GUNs get INVALID_GUN. */
  gunPrefixes?: readonly string[] | undefined;
  verifyOptions?: VerifyOptions | undefined;
}

export interface ValidatedUpdate {
  /** Every file to store, by role: uploaded root/targets/delegations/snapshot, generated snapshot and timestamp. */
  files: Record<string, Uint8Array>;
  /** The version notary records for each stored file. */
  versions: Record<string, number>;
  /** Roles in the order notary applies them (root, targets roles, snapshot, timestamp). */
  order: string[];
  /** True when the server signed the snapshot itself. */
  generatedSnapshot: boolean;
}

/** A failure inside notary's TUF builder; `message` is notary's error text. */
class LoadError extends Error {}

const NO_SNAPSHOT_KEY =
  'no snapshot was included in update and server does not hold current snapshot key for repository';
// Sic: notary's message has two spaces (server/handlers/validation.go generateTimestamp).
const NO_TIMESTAMP_KEY = 'no  timestamp keys exist on the server';

/** notary tuf/data/roles.go ValidRole: a base role or a delegation name. */
export function isValidRoleName(role: string): boolean {
  return (BASE_ROLES as readonly string[]).includes(role) || isDelegationName(role);
}

/** notary tuf/utils RoleList: fewer `/` segments first, then plain string order. */
export function compareRoleNames(a: string, b: string): number {
  const da = a.split('/').length;
  const db = b.split('/').length;
  if (da !== db) return da - db;
  return a < b ? -1 : a > b ? 1 : 0;
}

function signerList(set: SignerSet | undefined): readonly Signer[] {
  if (set === undefined) return [];
  return Array.isArray(set) ? (set as readonly Signer[]) : [set as Signer];
}

// ---------------------------------------------------------------------------
// The builder: notary tuf/builder.go, reduced to what the server uses.

interface Envelope {
  signed: JsonValue | undefined;
  signatures: Signature[];
}

/** builder bytesToSigned: `json.Unmarshal(content, &data.Signed{})`. */
function decodeEnvelope(bytes: Uint8Array): Envelope {
  let json: JsonValue;
  try {
    json = parseJsonBytes(bytes);
  } catch (cause) {
    throw new LoadError(cause instanceof Error ? cause.message : String(cause));
  }
  if (json === null) return { signed: undefined, signatures: [] };
  if (!isJsonObject(json)) throw new LoadError('json: cannot unmarshal into Go value of type data.Signed');
  const raw = json.signatures;
  if (raw !== undefined && raw !== null && !Array.isArray(raw)) {
    throw new LoadError('json: cannot unmarshal signatures into Go struct field Signed.signatures');
  }
  const signatures: Signature[] = [];
  for (const [i, s] of (raw ?? []).entries()) {
    try {
      signatures.push(Signature.fromJSON(s, `signatures[${i}]`));
    } catch (cause) {
      throw new LoadError(cause instanceof Error ? cause.message : String(cause));
    }
  }
  return { signed: json.signed, signatures };
}

/** Distinct keys of `keys` with a valid signature over the canonical `signed` (notary VerifySignatures). */
function countValidInEnvelope(
  env: Envelope,
  keys: Readonly<Record<string, PublicKey>>,
  options: VerifyOptions,
): number {
  if (!isJsonObject(env.signed)) return 0;
  let message: Uint8Array;
  try {
    message = canonicalBytes(env.signed);
  } catch {
    return 0;
  }
  return countValid(env.signatures, message, keys, options);
}

/** notary tuf/signed/verify.go VerifySignatures, with its messages. */
function verifySignatures(
  env: Envelope,
  keys: Readonly<Record<string, PublicKey>>,
  threshold: number,
  role: string,
  options: VerifyOptions,
): void {
  if (env.signatures.length === 0) throw new LoadError('tuf: data has no signatures');
  if (threshold < 1) throw new LoadError('valid signatures did not meet threshold');
  if (!isJsonObject(env.signed)) {
    throw new LoadError('json: cannot unmarshal into Go value of type map[string]interface {}');
  }
  if (countValidInEnvelope(env, keys, options) < threshold) {
    throw new LoadError(`valid signatures did not meet threshold for ${role}`);
  }
}

function typed<K extends 'Root' | 'Targets' | 'Snapshot' | 'Timestamp'>(
  bytes: Uint8Array,
  type: K,
  role?: string,
) {
  try {
    return Metadata.parse(bytes, type, role);
  } catch (cause) {
    throw new LoadError(cause instanceof Error ? cause.message : String(cause));
  }
}

/** notary signed.VerifyExpiry: `<role> expired at Mon Jan 2 15:04:05 MST 2006`. */
function verifyExpiry(md: Metadata, role: string, now: Date): void {
  if (md.signed.isExpired(now))
    throw new LoadError(`${role} expired at ${formatUnixDate(md.signed.expiresAt)}`);
}

/** notary trustpinning.ValidateRoot (with an empty trust-pinning config: TOFU), as a load error. */
function validateRootLikeNotary(
  candidate: Metadata<Root>,
  previous: Metadata<Root> | undefined,
  gun: string,
  now: Date,
  options: VerifyOptions,
): void {
  try {
    validateRoot(candidate, previous, gun, now, options);
  } catch (error) {
    if (error instanceof VerificationError) throw new LoadError(error.message);
    throw error;
  }
}

interface Loaded<T extends Root | Targets> {
  md: Metadata<T>;
  bytes: Uint8Array;
}

class ServerBuilder {
  root: Loaded<Root> | undefined;
  readonly targets = new Map<string, Loaded<Targets>>();
  /** Files loaded before any snapshot could vouch for them, in load order (builder loadedNotChecksummed). */
  readonly notChecksummed = new Map<string, Uint8Array>();

  constructor(
    private readonly gun: string,
    private readonly now: Date,
    private readonly options: VerifyOptions,
    private readonly previousRoot?: Metadata<Root>,
  ) {}

  isLoaded(role: string): boolean {
    return role === 'root' ? this.root !== undefined : this.targets.has(role);
  }

  private requireRoot(): Metadata<Root> {
    if (!this.root) throw new LoadError('root must be loaded first');
    return this.root.md;
  }

  loadRoot(bytes: Uint8Array, minVersion: number, allowExpired: boolean): void {
    this.notChecksummed.set('root', bytes);
    // notary decodes the envelope first, so its errors come before structural ones.
    decodeEnvelope(bytes);
    const md = typed(bytes, 'Root');
    validateRootLikeNotary(md, this.previousRoot, this.gun, this.now, this.options);
    if (md.signed.version < minVersion) {
      throw new LoadError(`version ${md.signed.version} is lower than current version ${minVersion}`);
    }
    if (!allowExpired) verifyExpiry(md, 'root', this.now);
    this.root = { md, bytes };
  }

  loadTargets(bytes: Uint8Array, allowExpired: boolean): void {
    const root = this.requireRoot();
    this.notChecksummed.set('targets', bytes);
    const env = decodeEnvelope(bytes);
    verifySignatures(
      env,
      root.signed.roleKeys('targets'),
      root.signed.role('targets').threshold,
      'targets',
      this.options,
    );
    const md = typed(bytes, 'Targets', 'targets');
    if (!allowExpired) verifyExpiry(md, 'targets', this.now);
    this.targets.set('targets', { md, bytes });
  }

  /** tuf.Repo GetDelegationRole: walk down from `targets` through loaded files to the parent's entry. */
  private delegationRole(role: string): { keys: Record<string, PublicKey>; threshold: number } {
    const chain: string[] = [];
    for (let r = parentRole(role); r !== 'targets'; r = parentRole(r)) chain.unshift(r);
    chain.unshift('targets');
    chain.push(role);
    for (let i = 1; i < chain.length; i++) {
      const parent = this.targets.get(chain[i - 1] as string);
      const entry = parent?.md.signed.delegations.role(chain[i] as string);
      if (!parent || !entry) throw new LoadError(`tuf: invalid role ${role}. delegation does not exist`);
      if (i === chain.length - 1) {
        const keys = Object.create(null) as Record<string, PublicKey>;
        for (const id of entry.keyids) {
          const key = parent.md.signed.delegations.keys[id];
          if (key) keys[id] = key;
        }
        return { keys, threshold: entry.threshold };
      }
    }
    throw new LoadError(`tuf: invalid role ${role}. delegation does not exist`);
  }

  loadDelegation(role: string, bytes: Uint8Array, allowExpired: boolean): void {
    this.requireRoot();
    if (!this.targets.has('targets')) throw new LoadError('targets must be loaded first');
    const delegation = this.delegationRole(role);
    this.notChecksummed.set(role, bytes);
    const env = decodeEnvelope(bytes);
    const md = typed(bytes, 'Targets', role);
    verifySignatures(env, delegation.keys, delegation.threshold, role, this.options);
    if (!allowExpired) verifyExpiry(md, role, this.now);
    this.targets.set(role, { md, bytes });
  }

  loadSnapshot(bytes: Uint8Array): Metadata<Snapshot> {
    const root = this.requireRoot();
    const env = decodeEnvelope(bytes);
    verifySignatures(
      env,
      root.signed.roleKeys('snapshot'),
      root.signed.role('snapshot').threshold,
      'snapshot',
      this.options,
    );
    const md = typed(bytes, 'Snapshot');
    verifyExpiry(md, 'snapshot', this.now);
    // builder validateChecksumsFromSnapshot: everything loaded so far must match.
    for (const [role, content] of this.notChecksummed) {
      const hashes = md.signed.meta[role]?.hashes ?? {};
      checkHashesLikeNotary(content, role, hashes);
    }
    this.notChecksummed.clear();
    return md;
  }
}

/** notary tuf/data CheckHashes, with its messages (sha256 is tried before sha512). */
function checkHashesLikeNotary(
  content: Uint8Array,
  role: string,
  hashes: Readonly<Record<string, Uint8Array>>,
): void {
  let checked = 0;
  for (const alg of ['sha256', 'sha512'] as const) {
    const expected = hashes[alg];
    if (!expected) continue;
    const actual = alg === 'sha256' ? sha256(content) : sha512(content);
    if (!bytesEqual(actual, expected)) {
      throw new LoadError(`${alg} checksum for ${role} did not match: expected ${toHex(expected)}`);
    }
    checked++;
  }
  if (checked === 0) throw new LoadError(`no checksums for supported algorithms were provided for ${role}`);
}

// ---------------------------------------------------------------------------
// Server-signed snapshot and timestamp.

/** Signers among `available` for a role of `root`; throws when fewer than its threshold (notary signed.Sign). */
function roleSigners(
  root: Root,
  role: 'snapshot' | 'timestamp',
  available: SignerSet | undefined,
): Signer[] | undefined {
  const wanted = root.role(role);
  const chosen = signerList(available).filter((s) => wanted.keyids.includes(s.publicKey.id));
  const distinct = chosen.filter((s, i) => chosen.findIndex((t) => t.publicKey.id === s.publicKey.id) === i);
  return distinct.length >= wanted.threshold && distinct.length > 0 ? distinct : undefined;
}

function parsePrevious<K extends 'Snapshot' | 'Timestamp'>(bytes: Uint8Array | undefined, type: K) {
  if (!bytes) return undefined;
  try {
    return Metadata.parse(bytes, type);
  } catch (cause) {
    // Go's json.Unmarshal failure is not a validation error (no detail); a structure failure is ErrValidation.
    if (cause instanceof Error && (cause as { code?: string }).code === 'MALFORMED_JSON') {
      throw errInvalidUpdateNoDetail(cause);
    }
    throw errValidation(cause instanceof Error ? cause.message : String(cause));
  }
}

/** Copy of a FileMeta without fields notary's Go struct would drop. */
function plainMeta(fm: FileMeta): FileMeta {
  return new FileMeta(fm.length, fm.hashes, fm.custom);
}

async function signSnapshot(
  root: Root,
  files: ReadonlyMap<string, Uint8Array>,
  previous: Metadata<Snapshot> | undefined,
  signers: SignerSet | undefined,
  now: Date,
): Promise<{ bytes: Uint8Array; version: number; md: Metadata<Snapshot> }> {
  const chosen = roleSigners(root, 'snapshot', signers);
  // builder GenerateSnapshot: with no previous snapshot the targets role must be loaded (InitSnapshot).
  if (!previous && !files.has('targets')) throw errValidation('targets must be loaded first');
  if (!chosen) throw errBadHierarchy('snapshot', NO_SNAPSHOT_KEY);
  const meta = Object.create(null) as Record<string, FileMeta>;
  if (previous) for (const [name, fm] of Object.entries(previous.signed.meta)) meta[name] = plainMeta(fm);
  for (const [name, bytes] of files) meta[name] = FileMeta.forBytes(bytes);
  const version = (previous?.signed.version ?? 0) + 1;
  const snapshot = new Snapshot(version, expiresIn(now, DEFAULT_EXPIRY_DAYS.snapshot), meta);
  const md = await Metadata.create(snapshot).sign(chosen);
  return { bytes: md.toBytes(), version, md };
}

async function signTimestamp(
  root: Root,
  snapshotBytes: Uint8Array,
  previous: Metadata<Timestamp> | undefined,
  signers: SignerSet | undefined,
  now: Date,
): Promise<{ bytes: Uint8Array; version: number }> {
  const chosen = roleSigners(root, 'timestamp', signers);
  if (!chosen) throw errBadRoot(NO_TIMESTAMP_KEY);
  const meta = Object.create(null) as Record<string, FileMeta>;
  if (previous) for (const [name, fm] of Object.entries(previous.signed.meta)) meta[name] = plainMeta(fm);
  meta.snapshot = FileMeta.forBytes(snapshotBytes);
  const version = (previous?.signed.version ?? 0) + 1;
  const timestamp = new Timestamp(version, expiresIn(now, DEFAULT_EXPIRY_DAYS.timestamp), meta);
  const md = await Metadata.create(timestamp).sign(chosen);
  return { bytes: md.toBytes(), version };
}

function parseRootForSigning(root: Uint8Array | Metadata<Root>): Root {
  if (root instanceof Metadata) return root.signed;
  try {
    return Metadata.parse(root, 'Root').signed;
  } catch (cause) {
    throw errInvalidUpdateNoDetail(cause);
  }
}

/**
 * Sign the next snapshot the way notary's builder GenerateSnapshot does:
 * version = previous + 1 (1 without one), expiry now + 1095 days, meta = the
 * previous snapshot's, with `root` and every role in `roles` re-hashed
 * (sha256 + sha512 + length). Needs a key of the root's snapshot role among
 * `signers`, else ErrBadHierarchy.
 */
export async function generateSnapshot(input: {
  root: Uint8Array;
  /** targets and delegation files whose meta must be (re)written. */
  roles?: Readonly<Record<string, Uint8Array>>;
  previous?: Uint8Array | undefined;
  signers: SignerSet | undefined;
  now: Date;
}): Promise<{ bytes: Uint8Array; version: number }> {
  const root = parseRootForSigning(input.root);
  const files = new Map<string, Uint8Array>([['root', input.root]]);
  for (const [name, bytes] of Object.entries(input.roles ?? {})) files.set(name, bytes);
  const previous = parsePrevious(input.previous, 'Snapshot');
  const { bytes, version } = await signSnapshot(root, files, previous, input.signers, input.now);
  return { bytes, version };
}

/**
 * Sign the next timestamp (builder GenerateTimestamp): version = previous + 1
 * (1 without one), expiry now + 14 days, meta.snapshot = the snapshot's
 * length, sha256 and sha512. Needs a key of the root's timestamp role among
 * `signers`, else ErrBadRoot `no  timestamp keys exist on the server`.
 */
export async function generateTimestamp(input: {
  root: Uint8Array | Metadata<Root>;
  snapshot: Uint8Array;
  previous?: Uint8Array | undefined;
  signers: SignerSet | undefined;
  now: Date;
}): Promise<{ bytes: Uint8Array; version: number }> {
  const root = parseRootForSigning(input.root);
  const previous = parsePrevious(input.previous, 'Timestamp');
  return signTimestamp(root, input.snapshot, previous, input.signers, input.now);
}

// ---------------------------------------------------------------------------
// The publish.

function normaliseParts(updates: ValidateUpdateInput['updates']): UploadedPart[] {
  if (Array.isArray(updates)) return [...(updates as readonly UploadedPart[])];
  return Object.entries(updates as Readonly<Record<string, Uint8Array>>).map(([name, data]) => ({
    name,
    data,
  }));
}

function currentFile(current: StoredRepository, role: string): Uint8Array | undefined {
  switch (role) {
    case 'root':
      return current.root;
    case 'targets':
      return current.targets;
    case 'snapshot':
      return current.snapshot;
    case 'timestamp':
      return current.timestamp;
    default:
      return current.delegations?.[role];
  }
}

function rethrowLoad(error: unknown, wrap: (msg: string) => ServerValidationError): never {
  if (error instanceof LoadError) throw wrap(error.message);
  throw error;
}

/**
 * Validate a publish as notary-server does and return every file to store,
 * or throw the ServerValidationError notary-server would answer with.
 */
export async function validateUpdate(input: ValidateUpdateInput): Promise<ValidatedUpdate> {
  const { gun, current, now } = input;
  const options = input.verifyOptions ?? {};
  if (
    input.gunPrefixes &&
    input.gunPrefixes.length > 0 &&
    !input.gunPrefixes.some((p) => gun.startsWith(p))
  ) {
    throw new ServerValidationError('INVALID_GUN');
  }

  // 1. The handler: role names and a first JSON decode, part by part.
  const roles = new Map<string, { version: number; data: Uint8Array }>();
  for (const part of normaliseParts(input.updates)) {
    const role = part.name.endsWith('.json') ? part.name.slice(0, -'.json'.length) : part.name;
    if (role === '') throw new ServerValidationError('NO_FILENAME');
    if (!isValidRoleName(role)) throw new ServerValidationError('INVALID_ROLE', role);
    const decoded = decodeSignedMeta(part.data);
    if (!decoded) throw new ServerValidationError('MALFORMED_JSON');
    roles.set(role, { version: decoded.version, data: part.data });
  }

  const apply: { role: string; version: number; data: Uint8Array }[] = [];

  // 2. Root.
  let builder = new ServerBuilder(gun, now, options);
  if (current.root) {
    try {
      builder.loadRoot(current.root, 1, true);
    } catch (error) {
      if (error instanceof LoadError) throw errInvalidUpdateNoDetail(error);
      throw error;
    }
  }
  const rootUpdate = roles.get('root');
  if (rootUpdate) {
    const currentVersion = builder.root?.md.signed.version ?? 1;
    if (rootUpdate.version !== currentVersion && rootUpdate.version !== currentVersion + 1) {
      throw errBadRoot(
        `Root modifications must increment the version. Current ${currentVersion}, new ${rootUpdate.version}`,
      );
    }
    // builder.BootstrapNewBuilder: a fresh builder that trusts the previous root.
    builder = new ServerBuilder(gun, now, options, builder.root?.md);
    try {
      builder.loadRoot(rootUpdate.data, currentVersion, false);
    } catch (error) {
      rethrowLoad(error, errBadRoot);
    }
    apply.push({ role: 'root', ...rootUpdate });
  } else if (!builder.root) {
    throw errValidation('no pre-existing root and no root provided in update.');
  }

  // 3. Targets and delegations.
  const targetRoles = [...roles.keys()]
    .filter((r) => r === 'targets' || isDelegationName(r))
    .sort(compareRoleNames);
  for (const role of targetRoles) {
    const missing: string[] = [];
    for (let a = role; a !== 'targets';) {
      a = parentRole(a);
      if (!builder.isLoaded(a)) missing.push(a);
    }
    for (const ancestor of missing.reverse()) {
      const stored = currentFile(current, ancestor);
      if (!stored) continue; // notary: not found in storage, keep going
      try {
        if (ancestor === 'targets') builder.loadTargets(stored, true);
        else builder.loadDelegation(ancestor, stored, true);
      } catch (error) {
        if (error instanceof LoadError) throw errInvalidUpdateNoDetail(error);
        throw error;
      }
    }
    const update = roles.get(role) as { version: number; data: Uint8Array };
    try {
      if (role === 'targets') builder.loadTargets(update.data, false);
      else builder.loadDelegation(role, update.data, false);
    } catch (error) {
      rethrowLoad(error, errBadTargets);
    }
    apply.push({ role, ...update });
  }

  const root = (builder.root as Loaded<Root>).md;

  // 4. Snapshot.
  let snapshotBytes: Uint8Array;
  let generatedSnapshot = false;
  const snapshotUpdate = roles.get('snapshot');
  if (snapshotUpdate) {
    try {
      builder.loadSnapshot(snapshotUpdate.data);
    } catch (error) {
      rethrowLoad(error, errBadSnapshot);
    }
    snapshotBytes = snapshotUpdate.data;
    apply.push({ role: 'snapshot', ...snapshotUpdate });
  } else {
    const files = new Map<string, Uint8Array>([['root', (builder.root as Loaded<Root>).bytes]]);
    for (const [name, loaded] of builder.targets) files.set(name, loaded.bytes);
    const previous = parsePrevious(current.snapshot, 'Snapshot');
    const generated = await signSnapshot(root.signed, files, previous, input.serverSigners.snapshot, now);
    snapshotBytes = generated.bytes;
    generatedSnapshot = true;
    apply.push({ role: 'snapshot', version: generated.version, data: generated.bytes });
  }

  // 5. Timestamp, always the server's.
  const previousTimestamp = parsePrevious(current.timestamp, 'Timestamp');
  const timestamp = await signTimestamp(
    root.signed,
    snapshotBytes,
    previousTimestamp,
    input.serverSigners.timestamp,
    now,
  );
  apply.push({ role: 'timestamp', version: timestamp.version, data: timestamp.bytes });

  // 6. Storage (MemStorage/SQL UpdateMany): strictly newer than anything stored.
  for (const { role, version } of apply) {
    const stored = storedVersion(input, role);
    if (stored !== undefined && stored >= version) throw errOldVersion();
  }

  const files: Record<string, Uint8Array> = {};
  const versions: Record<string, number> = {};
  for (const { role, version, data } of apply) {
    files[role] = data;
    versions[role] = version;
  }
  return { files, versions, order: apply.map((a) => a.role), generatedSnapshot };
}

function storedVersion(input: ValidateUpdateInput, role: string): number | undefined {
  const explicit = input.storedVersions?.[role];
  if (explicit !== undefined) return explicit;
  const file = currentFile(input.current, role);
  return file ? decodeSignedMeta(file)?.version : undefined;
}

// ---------------------------------------------------------------------------
// GET timestamp.json: notary server/timestamp GetOrCreateTimestamp.

export interface ServerTimestampInput {
  gun: string;
  root: Uint8Array;
  /** The snapshot the timestamp must describe (the current one). */
  snapshot: Uint8Array;
  /** The current timestamp. */
  timestamp: Uint8Array;
  serverSigners: ServerSigners;
  now: Date;
  verifyOptions?: VerifyOptions | undefined;
  /**
   * Re-sign a timestamp that expires within this many milliseconds (default
   * 0: only when expired, as notary-server does).
   */
  renewBeforeMs?: number;
}

export interface ServerTimestampResult {
  /** The timestamp to serve (unchanged bytes when `changed` is false). */
  timestamp: Uint8Array;
  version: number;
  /** True when a new timestamp was signed and must be stored. */
  changed: boolean;
  /** A snapshot the server had to re-sign because it had expired; store it too. */
  snapshot?: { bytes: Uint8Array; version: number };
}

function unknownError(error: unknown): ServerValidationError {
  if (error instanceof ServerValidationError) return error;
  return new ServerValidationError('UNKNOWN', undefined, {
    cause: error,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * What notary-server does on GET timestamp.json: the current timestamp is
 * served as is unless it has expired or no longer matches the snapshot; then
 * a new one is signed (version + 1, now + 14 days). An expired snapshot is
 * first re-signed with the server's snapshot key (server/snapshot
 * GetOrCreateSnapshot). Before signing, the root must validate and be
 * unexpired and the snapshot must be signed by the root's snapshot role,
 * unexpired and match the root's hashes. Failures are 500 UNKNOWN, as the
 * GET handler reports them.
 */
export async function serverTimestamp(input: ServerTimestampInput): Promise<ServerTimestampResult> {
  const { now } = input;
  const options = input.verifyOptions ?? {};
  let previous: Metadata<Timestamp>;
  try {
    previous = Metadata.parse(input.timestamp, 'Timestamp');
  } catch (error) {
    throw unknownError(error);
  }
  let snapshot = input.snapshot;
  let regenerated: { bytes: Uint8Array; version: number } | undefined;
  try {
    const current = Metadata.parse(snapshot, 'Snapshot');
    if (current.signed.isExpired(now)) {
      const builder = new ServerBuilder(input.gun, now, options);
      builder.loadRoot(input.root, 1, false);
      const root = (builder.root as Loaded<Root>).md.signed;
      const files = new Map<string, Uint8Array>([['root', input.root]]);
      regenerated = await signSnapshot(root, files, current, input.serverSigners.snapshot, now);
      snapshot = regenerated.bytes;
    }
  } catch (error) {
    throw unknownError(error);
  }
  const inSync = checkHashesQuietly(snapshot, previous.signed.snapshotMeta.hashes);
  const renewAt = new Date(now.getTime() + (input.renewBeforeMs ?? 0));
  if (!previous.signed.isExpired(renewAt) && inSync) {
    return { timestamp: input.timestamp, version: previous.signed.version, changed: false };
  }
  try {
    const builder = new ServerBuilder(input.gun, now, options);
    builder.loadRoot(input.root, 1, false);
    builder.loadSnapshot(snapshot);
    const root = (builder.root as Loaded<Root>).md.signed;
    const next = await signTimestamp(root, snapshot, previous, input.serverSigners.timestamp, now);
    return {
      timestamp: next.bytes,
      version: next.version,
      changed: true,
      ...(regenerated ? { snapshot: regenerated } : {}),
    };
  } catch (error) {
    throw unknownError(error);
  }
}

function checkHashesQuietly(content: Uint8Array, hashes: Readonly<Record<string, Uint8Array>>): boolean {
  try {
    checkHashesLikeNotary(content, 'snapshot', hashes);
    return true;
  } catch {
    return false;
  }
}
