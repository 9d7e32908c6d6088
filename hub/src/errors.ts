/**
 * Typed hub errors.
 *
 * Every refusal the registry makes carries one of the error codes listed in
 * the OCI distribution spec ("Error Codes" table, v1.1) so that docker, and
 * the learner reading its output, see the same `code: message` pair a real
 * registry would print. The HTTP edge (`http/respond.ts`) turns a HubError
 * into the spec's body `{"errors":[{"code","message","detail"}]}`.
 */

export type RegistryErrorCode =
  | 'BLOB_UNKNOWN'
  | 'BLOB_UPLOAD_INVALID'
  | 'BLOB_UPLOAD_UNKNOWN'
  | 'DIGEST_INVALID'
  | 'MANIFEST_BLOB_UNKNOWN'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_UNKNOWN'
  | 'NAME_INVALID'
  | 'NAME_UNKNOWN'
  | 'SIZE_INVALID'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNSUPPORTED'
  | 'TOOMANYREQUESTS'
  | 'RANGE_INVALID'
  // Not in the OCI table: docker's registry answers unexpected failures with
  // UNKNOWN / 500, and so does the hub (without internal detail).
  | 'UNKNOWN';

/**
 * Default HTTP status per code. These follow the statuses docker's reference
 * registry (distribution) answers with, which is what the docker CLI is
 * tested against; individual errors may override them (e.g. 413 for a body
 * over the size limit, 416 for an out-of-order chunk).
 */
const DEFAULT_STATUS: Record<RegistryErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
  UNKNOWN: 500,
};

export interface HubErrorOptions {
  /** Structured detail echoed in the error body's `detail` field. */
  detail?: unknown;
  /** Overrides the code's default HTTP status. */
  status?: number;
  /** Extra response headers (e.g. `Range` on a 416, `WWW-Authenticate` on a 401). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class HubError extends Error {
  readonly code: RegistryErrorCode;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(code: RegistryErrorCode, message: string, options: HubErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.status = options.status ?? DEFAULT_STATUS[code];
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  /** The spec's error body for this error. */
  toBody(): { errors: { code: RegistryErrorCode; message: string; detail?: unknown }[] } {
    const entry: { code: RegistryErrorCode; message: string; detail?: unknown } = {
      code: this.code,
      message: this.message,
    };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}

export function isHubError(error: unknown): error is HubError {
  return error instanceof HubError;
}
