/**
 * The docker command's error family. Every failure a learner can meet is a
 * DockerError: a stable `code` (also the event outcome), the one line docker
 * prints (its wording wherever docker has one), an optional suggestion, and
 * the exit status docker uses (1 for command failures, 125 for usage errors
 * such as an unknown flag, as cobra does in docker/cli).
 */

export type DockerErrorCode =
  | 'USAGE'
  | 'INVALID_REFERENCE'
  | 'CONFIG'
  | 'NOT_SUPPORTED'
  | 'LOGIN_FAILED'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'UNREACHABLE'
  | 'TLS'
  | 'NOT_FOUND'
  | 'NO_SUCH_IMAGE'
  | 'DIGEST_MISMATCH'
  | 'REGISTRY'
  | 'CONFLICT'
  | 'TRUST_SERVER_URL'
  | 'TRUST_DATA_MISSING'
  | 'TAG_NOT_SIGNED'
  | 'TRUST_ERROR'
  | 'TAMPERED'
  | 'SIGNING_FAILED'
  /** The attendee's YubiKey (through their helper) could not sign or store a key. */
  | 'TOKEN_FAILED'
  | 'ABORTED';

export interface DockerErrorOptions {
  cause?: unknown;
  suggestion?: string;
  exitCode?: number;
}

export class DockerError extends Error {
  readonly code: DockerErrorCode;
  readonly suggestion: string | undefined;
  readonly exitCode: number;

  constructor(code: DockerErrorCode, message: string, options: DockerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DockerError';
    this.code = code;
    this.suggestion = options.suggestion;
    this.exitCode = options.exitCode ?? 1;
  }
}

export function isDockerError(value: unknown): value is DockerError {
  return value instanceof DockerError;
}
