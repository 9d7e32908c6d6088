/**
 * Typed errors for trust-core.
 *
 * Every refusal carries a stable `code` (asserted by tests and mapped by the
 * hub and the client to their own surfaces), a `message` that matches
 * notary's or docker's wording wherever the lab shows it, and, where a
 * learner will see it, a `suggestion` saying what to try next. Causes are
 * chained with `{ cause }`, never stringified into the message.
 */

export type TrustErrorCode =
  // encoding and shape
  | 'CANONICAL_JSON'
  | 'MALFORMED_JSON'
  | 'MALFORMED_METADATA'
  | 'WRONG_TYPE'
  // signatures and keys
  | 'BAD_SIGNATURE'
  | 'THRESHOLD_NOT_MET'
  | 'UNSUPPORTED_KEY'
  | 'BAD_KEY'
  | 'BAD_CERTIFICATE'
  // update workflow
  | 'EXPIRED'
  | 'ROLLBACK'
  | 'HASH_MISMATCH'
  | 'LENGTH_MISMATCH'
  | 'TOO_LARGE'
  | 'ROOT_ROTATION_FAILED'
  | 'DELEGATION_PATH'
  | 'TRUST_DATA_MISSING'
  | 'TAG_NOT_SIGNED'
  | 'SERVER_UNREACHABLE'
  | 'SERVER_ERROR'
  | 'UNAUTHORIZED'
  // keys at rest
  | 'KEY_NOT_FOUND'
  | 'KEY_FILE'
  | 'WRONG_PASSPHRASE'
  | 'PASSPHRASE_TOO_SHORT'
  | 'PASSPHRASE_ATTEMPTS'
  // publishing
  | 'INVALID_ROLE'
  | 'INVALID_TARGET'
  | 'INVALID_DELEGATION'
  | 'NOT_INITIALIZED'
  | 'ALREADY_INITIALIZED'
  | 'CANNOT_SIGN';

export interface TrustErrorOptions {
  cause?: unknown;
  suggestion?: string;
}

export class TrustError extends Error {
  readonly code: TrustErrorCode;
  readonly suggestion: string | undefined;

  constructor(code: TrustErrorCode, message: string, options: TrustErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.suggestion = options.suggestion;
  }
}

/** Metadata failed a check of the update workflow (TUF client workflow, notary's tuf/builder.go). */
export class VerificationError extends TrustError {}

/** Metadata could not be parsed or does not have the shape notary requires (tuf/data/*.go). */
export class MetadataError extends TrustError {}

/** A key, key file, certificate or passphrase problem. */
export class KeyError extends TrustError {}

/** Fetching trust data failed (network, HTTP status, size). */
export class FetchError extends TrustError {
  readonly status: number | undefined;
  constructor(code: TrustErrorCode, message: string, options: TrustErrorOptions & { status?: number } = {}) {
    super(code, message, options);
    this.status = options.status;
  }
}

/** A publish could not be built, or the caller asked for something the repository cannot do. */
export class PublishError extends TrustError {}

export function isTrustError(value: unknown): value is TrustError {
  return value instanceof TrustError;
}
