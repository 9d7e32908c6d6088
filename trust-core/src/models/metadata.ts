/**
 * The four notary metadata types and their signed envelope, as notary 0.7
 * writes them (notary tuf/data/{root,targets,snapshot,timestamp,types}.go).
 *
 * Invariants:
 * - parse → serialize gives back the same bytes for every file notary,
 *   notary-server and docker write (the `signed` part is canonical JSON with
 *   `<>&` escaped, the envelope is `{"signed":…,"signatures":[…]}`);
 * - unknown fields are kept at every level and written back;
 * - signatures are checked over `canonicalBytes(generic parse of signed)`, as
 *   notary's verifier re-marshals a generic map (tuf/signed/verify.go), never
 *   over a re-serialization of our typed model;
 * - structural validity is checked at parse time, with notary's rules
 *   (notary tuf/data "Validity rules").
 */
import { MetadataError } from '../errors.js';
import type { JsonObject, JsonValue } from '../encoding/canonical-json.js';
import { canonicalString, isJsonObject, parseJsonBytes, toStoredForm } from '../encoding/canonical-json.js';
import { fromBase64, toBase64, utf8 } from '../encoding/bytes.js';
import { PublicKey } from '../crypto/keys.js';
import type { Signer } from '../crypto/signatures.js';
import {
  asArray,
  asBoolean,
  asInteger,
  asObject,
  asString,
  asStringArray,
  emptyObject,
  fail,
  unrecognized,
} from './fields.js';
import { FileMeta } from './file-meta.js';
import { parseExpires } from './expires.js';

export type MetadataType = 'Root' | 'Targets' | 'Snapshot' | 'Timestamp';
export const BASE_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type BaseRole = (typeof BASE_ROLES)[number];

/** A role's keys and threshold, in root.json or in a delegation. */
export class RoleKeys {
  constructor(
    readonly keyids: string[],
    readonly threshold: number,
    readonly unrecognizedFields: Record<string, JsonValue> = {},
  ) {}

  static fromJSON(value: JsonValue | undefined, where: string): RoleKeys {
    const obj = asObject(value, where);
    const keyids = asStringArray(obj.keyids, `${where}.keyids`);
    const threshold = asInteger(obj.threshold, `${where}.threshold`);
    if (threshold < 1) fail(`${where}.threshold`, 'threshold must be at least 1');
    return new RoleKeys(keyids, threshold, unrecognized(obj, ['keyids', 'threshold']));
  }

  toJSON(): JsonObject {
    return { ...this.unrecognizedFields, keyids: [...this.keyids], threshold: this.threshold };
  }
}

function parseKeys(value: JsonValue | undefined, where: string): Record<string, PublicKey> {
  const obj = asObject(value, where);
  const keys = emptyObject<PublicKey>();
  for (const [id, json] of Object.entries(obj)) {
    try {
      keys[id] = PublicKey.fromJSON(json);
    } catch (cause) {
      throw new MetadataError('MALFORMED_METADATA', `${where}.${id}: invalid key`, { cause });
    }
  }
  return keys;
}

function keysToJSON(keys: Record<string, PublicKey>): JsonObject {
  const out = emptyObject<JsonValue>();
  for (const [id, key] of Object.entries(keys)) out[id] = key.toJSON();
  return out;
}

function parseMeta(value: JsonValue | undefined, where: string): Record<string, FileMeta> {
  const obj = asObject(value, where);
  const meta = emptyObject<FileMeta>();
  for (const [name, json] of Object.entries(obj)) meta[name] = FileMeta.fromJSON(json, `${where}.${name}`);
  return meta;
}

function metaToJSON(meta: Record<string, FileMeta>): JsonObject {
  const out = emptyObject<JsonValue>();
  for (const [name, fm] of Object.entries(meta)) out[name] = fm.toJSON();
  return out;
}

/** Fields every signed payload has. */
abstract class SignedBase {
  abstract readonly type: MetadataType;
  readonly expiresAt: Date;

  protected constructor(
    readonly version: number,
    /** The expiry exactly as written, so files round-trip. */
    readonly expires: string,
    readonly unrecognizedFields: Record<string, JsonValue>,
  ) {
    this.expiresAt = parseExpires(expires, 'expires');
  }

  isExpired(now: Date): boolean {
    return now.getTime() > this.expiresAt.getTime();
  }

  protected base(): JsonObject {
    return { ...this.unrecognizedFields, _type: this.type, expires: this.expires, version: this.version };
  }

  abstract toJSON(): JsonObject;
}

function readBase(obj: JsonObject, type: MetadataType): { version: number; expires: string } {
  const actual = asString(obj._type, '_type');
  if (actual !== type) {
    throw new MetadataError('WRONG_TYPE', `expected metadata type ${type}, got ${actual}`);
  }
  const version = asInteger(obj.version, 'version');
  // notary tuf/data: every signed file has version >= 1.
  if (version < 1) fail('version', `version ${version} is not valid: it must be at least 1`);
  return { version, expires: asString(obj.expires, 'expires') };
}

export class Root extends SignedBase {
  readonly type = 'Root' as const;

  constructor(
    version: number,
    expires: string,
    readonly keys: Record<string, PublicKey>,
    readonly roles: Record<string, RoleKeys>,
    readonly consistentSnapshot = false,
    unrecognizedFields: Record<string, JsonValue> = {},
  ) {
    super(version, expires, unrecognizedFields);
  }

  static fromJSON(value: JsonValue): Root {
    const obj = asObject(value, 'signed');
    const { version, expires } = readBase(obj, 'Root');
    const keys = parseKeys(obj.keys, 'keys');
    const rolesObj = asObject(obj.roles, 'roles');
    const roles = emptyObject<RoleKeys>();
    for (const [name, json] of Object.entries(rolesObj))
      roles[name] = RoleKeys.fromJSON(json, `roles.${name}`);
    // notary isValidRootStructure: all four base roles, keyids known.
    for (const role of BASE_ROLES) {
      const r = roles[role];
      if (!r) fail('roles', `missing ${role} role`);
      for (const id of r.keyids) {
        if (!keys[id]) fail(`roles.${role}`, `key ${id} is not listed in keys`);
      }
    }
    const consistent =
      obj.consistent_snapshot === undefined
        ? false
        : asBoolean(obj.consistent_snapshot, 'consistent_snapshot');
    return new Root(
      version,
      expires,
      keys,
      roles,
      consistent,
      unrecognized(obj, ['_type', 'version', 'expires', 'keys', 'roles', 'consistent_snapshot']),
    );
  }

  role(name: BaseRole): RoleKeys {
    const r = this.roles[name];
    if (!r) throw new MetadataError('MALFORMED_METADATA', `root has no ${name} role`);
    return r;
  }

  /** The keys of a base role, by key ID. */
  roleKeys(name: BaseRole): Record<string, PublicKey> {
    const out = emptyObject<PublicKey>();
    for (const id of this.role(name).keyids) {
      const key = this.keys[id];
      if (key) out[id] = key;
    }
    return out;
  }

  toJSON(): JsonObject {
    const roles = emptyObject<JsonValue>();
    for (const [name, r] of Object.entries(this.roles)) roles[name] = r.toJSON();
    return {
      ...this.base(),
      consistent_snapshot: this.consistentSnapshot,
      keys: keysToJSON(this.keys),
      roles,
    };
  }
}

/** A delegated role entry inside a targets file's `delegations.roles`. */
export class DelegatedRole extends RoleKeys {
  constructor(
    readonly name: string,
    keyids: string[],
    threshold: number,
    readonly paths: string[],
    unrecognizedFields: Record<string, JsonValue> = {},
  ) {
    super(keyids, threshold, unrecognizedFields);
  }

  static override fromJSON(value: JsonValue | undefined, where: string): DelegatedRole {
    const obj = asObject(value, where);
    const base = RoleKeys.fromJSON(obj, where);
    const name = asString(obj.name, `${where}.name`);
    const paths =
      obj.paths === undefined || obj.paths === null ? [] : asStringArray(obj.paths, `${where}.paths`);
    return new DelegatedRole(
      name,
      base.keyids,
      base.threshold,
      paths,
      unrecognized(obj, ['keyids', 'threshold', 'name', 'paths']),
    );
  }

  /** notary: a path matches when it has one of the role's paths as a prefix; `""` matches all. */
  matches(targetName: string): boolean {
    return this.paths.some((p) => targetName.startsWith(p));
  }

  /**
   * notary's data.Role tags `paths` omitempty: a role with no paths has no
   * `paths` field. notary-server re-serialises targets when it generates a
   * snapshot, so writing `"paths":[]` would make the snapshot name bytes
   * the server never stored (the real notary then cannot fetch targets).
   */
  override toJSON(): JsonObject {
    const base = { ...super.toJSON(), name: this.name };
    return this.paths.length > 0 ? { ...base, paths: [...this.paths] } : base;
  }
}

const DELEGATION_NAME = /^[-a-z0-9_/]+$/;

/**
 * notary tuf/data/roles.go IsDelegation: lower-case name under `targets/`,
 * shorter than 256, unchanged by path cleaning.
 */
export function isDelegationName(name: string): boolean {
  if (!name.startsWith('targets/') || name.length >= 256 || !DELEGATION_NAME.test(name)) return false;
  const parts = name.split('/');
  return parts.every((p) => p !== '' && p !== '.' && p !== '..');
}

/** The role that contains a delegation: `targets/a/b` → `targets/a`. */
export function parentRole(name: string): string {
  const i = name.lastIndexOf('/');
  return i < 0 ? '' : name.slice(0, i);
}

export class Delegations {
  constructor(
    readonly keys: Record<string, PublicKey> = emptyObject<PublicKey>(),
    readonly roles: DelegatedRole[] = [],
    readonly unrecognizedFields: Record<string, JsonValue> = {},
  ) {}

  static fromJSON(value: JsonValue | undefined, owner: string): Delegations {
    const obj = asObject(value, 'delegations');
    const keys = parseKeys(obj.keys, 'delegations.keys');
    const roles = asArray(obj.roles, 'delegations.roles').map((r, i) =>
      DelegatedRole.fromJSON(r, `delegations.roles[${i}]`),
    );
    for (const role of roles) {
      if (!isDelegationName(role.name))
        fail('delegations.roles', `${role.name} is not a valid delegation name`);
      if (parentRole(role.name) !== owner) {
        fail('delegations.roles', `${role.name} is not a direct child of ${owner}`);
      }
      for (const id of role.keyids) {
        if (!keys[id]) fail(`delegations.roles.${role.name}`, `key ${id} is not listed in delegations.keys`);
      }
    }
    return new Delegations(keys, roles, unrecognized(obj, ['keys', 'roles']));
  }

  role(name: string): DelegatedRole | undefined {
    return this.roles.find((r) => r.name === name);
  }

  toJSON(): JsonObject {
    return {
      ...this.unrecognizedFields,
      keys: keysToJSON(this.keys),
      roles: this.roles.map((r) => r.toJSON()),
    };
  }
}

export class Targets extends SignedBase {
  readonly type = 'Targets' as const;

  constructor(
    version: number,
    expires: string,
    readonly targets: Record<string, FileMeta> = emptyObject<FileMeta>(),
    readonly delegations: Delegations = new Delegations(),
    unrecognizedFields: Record<string, JsonValue> = {},
  ) {
    super(version, expires, unrecognizedFields);
  }

  /** `role` is the name of the role this file is for (`targets` or `targets/…`). */
  static fromJSON(value: JsonValue, role = 'targets'): Targets {
    const obj = asObject(value, 'signed');
    const { version, expires } = readBase(obj, 'Targets');
    const targets = parseMeta(obj.targets, 'targets');
    const delegations =
      obj.delegations === undefined ? new Delegations() : Delegations.fromJSON(obj.delegations, role);
    return new Targets(
      version,
      expires,
      targets,
      delegations,
      unrecognized(obj, ['_type', 'version', 'expires', 'targets', 'delegations']),
    );
  }

  toJSON(): JsonObject {
    return { ...this.base(), delegations: this.delegations.toJSON(), targets: metaToJSON(this.targets) };
  }
}

/** Snapshot and timestamp: a `meta` map of file names to their length and hashes. */
abstract class MetaListing extends SignedBase {
  constructor(
    version: number,
    expires: string,
    readonly meta: Record<string, FileMeta>,
    unrecognizedFields: Record<string, JsonValue> = {},
  ) {
    super(version, expires, unrecognizedFields);
  }

  protected static read(value: JsonValue, type: 'Snapshot' | 'Timestamp') {
    const obj = asObject(value, 'signed');
    const { version, expires } = readBase(obj, type);
    const meta = parseMeta(obj.meta, 'meta');
    return { version, expires, meta, extra: unrecognized(obj, ['_type', 'version', 'expires', 'meta']) };
  }

  toJSON(): JsonObject {
    return { ...this.base(), meta: metaToJSON(this.meta) };
  }
}

export class Snapshot extends MetaListing {
  readonly type = 'Snapshot' as const;

  static fromJSON(value: JsonValue): Snapshot {
    const { version, expires, meta, extra } = MetaListing.read(value, 'Snapshot');
    // notary isValidSnapshotStructure: root and targets, each with sha256.
    for (const role of ['root', 'targets']) {
      if (!meta[role]?.hashes.sha256)
        fail(`meta.${role}`, 'snapshot must include sha256 hashes of root and targets');
    }
    return new Snapshot(version, expires, meta, extra);
  }
}

export class Timestamp extends MetaListing {
  readonly type = 'Timestamp' as const;

  static fromJSON(value: JsonValue): Timestamp {
    const { version, expires, meta, extra } = MetaListing.read(value, 'Timestamp');
    // notary isValidTimestampStructure: snapshot with sha256.
    if (!meta.snapshot?.hashes.sha256)
      fail('meta.snapshot', 'timestamp must include the sha256 hash of snapshot');
    return new Timestamp(version, expires, meta, extra);
  }

  get snapshotMeta(): FileMeta {
    return this.meta.snapshot as FileMeta;
  }
}

export type Signed = Root | Targets | Snapshot | Timestamp;

/** One entry of `signatures`; `sig` is kept as raw bytes. */
export class Signature {
  constructor(
    readonly keyid: string,
    readonly method: string,
    readonly sig: Uint8Array,
    readonly unrecognizedFields: Record<string, JsonValue> = {},
  ) {}

  static fromJSON(value: JsonValue, where: string): Signature {
    const obj = asObject(value, where);
    const keyid = asString(obj.keyid, `${where}.keyid`);
    // notary lower-cases the method when it parses a signature (notary tuf/signed and docker/go canonical/json).
    const method = asString(obj.method, `${where}.method`).toLowerCase();
    let sig: Uint8Array;
    try {
      sig = fromBase64(asString(obj.sig, `${where}.sig`));
    } catch (cause) {
      throw new MetadataError('MALFORMED_METADATA', `${where}.sig: not valid base64`, { cause });
    }
    return new Signature(keyid, method, sig, unrecognized(obj, ['keyid', 'method', 'sig']));
  }

  /** Go struct order: keyid, method, sig (then anything we kept). */
  toJSONText(): string {
    const known = `{"keyid":${JSON.stringify(this.keyid)},"method":${JSON.stringify(this.method)},"sig":"${toBase64(this.sig)}"`;
    const extra = Object.keys(this.unrecognizedFields).length
      ? ',' + canonicalString(this.unrecognizedFields).slice(1, -1)
      : '';
    return known + extra + '}';
  }
}

type SignedOf<T extends MetadataType> = T extends 'Root'
  ? Root
  : T extends 'Targets'
    ? Targets
    : T extends 'Snapshot'
      ? Snapshot
      : Timestamp;

/**
 * A signed metadata file: the typed payload, its signatures, and the exact
 * canonical bytes the signatures must cover.
 */
export class Metadata<T extends Signed = Signed> {
  /** What signatures cover: canonical JSON of the payload as notary's verifier rebuilds it. */
  readonly signedBytes: Uint8Array;

  private constructor(
    readonly signed: T,
    readonly signatures: Signature[],
    /** The canonical text of `signed`, kept to write the file without decoding it again. */
    private readonly signedText: string,
  ) {
    this.signedBytes = utf8(signedText);
  }

  /** Wrap a payload we built ourselves; signatures are added with `sign`. */
  static create<T extends Signed>(signed: T): Metadata<T> {
    return new Metadata(signed, [], canonicalString(signed.toJSON()));
  }

  /**
   * Parse a metadata file. `expected` is the type the caller asked for
   * (notary refuses a file of another `_type`); `role` names the role a
   * targets file is for, which delegation checks need.
   */
  static parse<K extends MetadataType>(bytes: Uint8Array, expected: K, role?: string): Metadata<SignedOf<K>> {
    const json = parseJsonBytes(bytes);
    if (!isJsonObject(json)) throw new MetadataError('MALFORMED_METADATA', 'metadata must be a JSON object');
    if (!isJsonObject(json.signed))
      throw new MetadataError('MALFORMED_METADATA', 'signed: expected a JSON object');
    const signedJson = json.signed;
    let signed: Signed;
    switch (expected) {
      case 'Root':
        signed = Root.fromJSON(signedJson);
        break;
      case 'Targets':
        signed = Targets.fromJSON(signedJson, role ?? 'targets');
        break;
      case 'Snapshot':
        signed = Snapshot.fromJSON(signedJson);
        break;
      case 'Timestamp':
        signed = Timestamp.fromJSON(signedJson);
        break;
      default:
        throw new MetadataError('WRONG_TYPE', `unknown metadata type ${String(expected)}`);
    }
    const sigsJson = json.signatures === null ? [] : asArray(json.signatures, 'signatures');
    const signatures = sigsJson.map((s, i) => Signature.fromJSON(s, `signatures[${i}]`));
    let text: string;
    try {
      text = canonicalString(signedJson);
    } catch (cause) {
      throw new MetadataError('MALFORMED_METADATA', 'signed payload cannot be canonicalised', { cause });
    }
    return new Metadata(signed as SignedOf<K>, signatures, text);
  }

  /**
   * The version of a metadata file without building its model or checking
   * anything: for rollback floors read from a cache. Undefined when the file
   * cannot be read.
   */
  static peekVersion(bytes: Uint8Array): number | undefined {
    try {
      const json = parseJsonBytes(bytes);
      const version = isJsonObject(json) && isJsonObject(json.signed) ? json.signed.version : undefined;
      return typeof version === 'number' && Number.isSafeInteger(version) ? version : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A copy with these signatures over `signedBytes` (replacing any earlier
   * one by the same key; without `append`, only the new ones).
   */
  async sign(signers: readonly Signer[], options: { append?: boolean } = {}): Promise<Metadata<T>> {
    const kept = options.append ? this.signatures : [];
    const sigs = kept.filter((s) => !signers.some((signer) => signer.publicKey.id === s.keyid));
    for (const signer of signers) {
      const sig = await signer.sign(this.signedBytes);
      sigs.push(new Signature(signer.publicKey.id, signer.method, sig));
    }
    return new Metadata(this.signed, sigs, this.signedText);
  }

  /**
   * The file as notary writes it: `{"signed":<canonical, <>& escaped>,"signatures":[…]}`,
   * no whitespace, no trailing newline (notary tuf/data; Go json.Marshal escaping).
   */
  toBytes(): Uint8Array {
    const sigs = this.signatures.map((s) => s.toJSONText()).join(',');
    return utf8(`{"signed":${toStoredForm(this.signedText)},"signatures":[${sigs}]}`);
  }
}
