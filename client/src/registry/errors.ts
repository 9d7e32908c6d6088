/**
 * The registry client's error family. Messages follow what docker prints
 * for the same failure: `Get "https://host/v2/": dial tcp …: connect:
 * connection refused`, `unauthorized: incorrect username or password`
 * (distribution's errcode: lower-cased code, colon, message), `manifest
 * unknown`, and so on; the docker command adds its own prefix.
 */
export type RegistryErrorCode =
  | 'UNREACHABLE'
  | 'TLS'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'NOT_FOUND'
  | 'DIGEST_MISMATCH'
  | 'TOO_LARGE'
  | 'PROTOCOL';

export class RegistryError extends Error {
  readonly code: RegistryErrorCode;
  readonly status: number | undefined;
  readonly suggestion: string | undefined;

  constructor(
    code: RegistryErrorCode,
    message: string,
    options: { cause?: unknown; status?: number; suggestion?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RegistryError';
    this.code = code;
    this.status = options.status;
    this.suggestion = options.suggestion;
  }
}
