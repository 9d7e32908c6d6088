/**
 * trust-core: a Notary v1 / TUF engine that interoperates byte for byte with
 * notary 0.7, notary-server and docker 28. This is its public surface; the
 * Node implementations of its I/O interfaces are in `./node/index.ts`.
 */
export * from './errors.js';

export type { JsonObject, JsonValue } from './encoding/canonical-json.js';
export {
  canonicalBytes,
  canonicalString,
  compareUtf8,
  parseJson,
  parseJsonBytes,
  toStoredForm,
} from './encoding/canonical-json.js';
export { fromBase64, fromHex, sha256, sha512, toBase64, toHex } from './encoding/bytes.js';

export * from './crypto/index.js';

export { FileMeta, checkHashes, computeHashes } from './models/file-meta.js';
export type { Hashes } from './models/file-meta.js';
export {
  DEFAULT_EXPIRY_DAYS,
  expiresIn,
  formatExpires,
  formatUnixDate,
  parseExpires,
} from './models/expires.js';
export {
  BASE_ROLES,
  DelegatedRole,
  Delegations,
  Metadata,
  Root,
  RoleKeys,
  Signature,
  Snapshot,
  Targets,
  Timestamp,
  isDelegationName,
  parentRole,
} from './models/metadata.js';
export type { BaseRole, MetadataType, Signed } from './models/metadata.js';

export { DEFAULT_LIMITS } from './client/config.js';
export type { TrustPinning, UpdaterLimits } from './client/config.js';
export { systemClock } from './client/interfaces.js';
export type { Clock, MetadataCache, RemoteStore, UpdateWarning } from './client/interfaces.js';
export { TrustedMetadataSet } from './client/trusted-set.js';
export { Updater } from './client/updater.js';
export type { UpdaterOptions } from './client/updater.js';
export { PULL_ROLES, TrustedRepository } from './client/repository.js';
export type { TargetWithRole } from './client/repository.js';
export { verifyTargetContent } from './client/target-content.js';
export { countValidSignatures, validateRoot, verifyThreshold } from './client/verify.js';

export { RepositoryEditor } from './publisher/editor.js';
export type { InitializeOptions, PublishFiles, SignerSource } from './publisher/editor.js';
export { buildPublishRequest } from './publisher/publish-request.js';
export type { PublishRequestBody } from './publisher/publish-request.js';

export * from './server/index.js';
