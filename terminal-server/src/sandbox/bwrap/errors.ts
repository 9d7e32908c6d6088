/**
 * Errors of the bwrap sandbox driver. Each carries a stable `code`, and the
 * ones an operator will meet (a missing program, a full uid pool) a
 * `suggestion` saying what to do. Causes are chained with `{ cause }`.
 */

export type BwrapDriverErrorCode =
  /** The host cannot run this driver (not Linux, not root, a program or cgroup controller missing). */
  | 'UNAVAILABLE'
  /** The configuration does not validate. */
  | 'INVALID_CONFIG'
  /** No seccomp filter is written for this CPU architecture. */
  | 'UNSUPPORTED_ARCH'
  /** `docker` or `notary` bundle not found in the client directory. */
  | 'CLIENT_NOT_BUILT'
  /** Another live driver instance owns the runtime root. */
  | 'RUNTIME_ROOT_IN_USE'
  /** Every uid of the pool belongs to a live session. */
  | 'UID_POOL_EXHAUSTED'
  /** A uid of the pool runs processes this driver did not start. */
  | 'UID_IN_USE'
  /** The spec does not validate (ids, environment). */
  | 'INVALID_SPEC'
  /** A session with this id is already alive. */
  | 'SESSION_EXISTS'
  /** The home image is attached elsewhere; mounting it again would corrupt it. */
  | 'HOME_BUSY'
  /** A system program (mount, mkfs.ext4, ...) failed. */
  | 'COMMAND_FAILED'
  /** Something of the sandbox survived teardown; destroy() may be called again. */
  | 'TEARDOWN_FAILED'
  /** The driver was closed. */
  | 'CLOSED';

export class BwrapDriverError extends Error {
  override readonly name = 'BwrapDriverError';
  readonly suggestion: string | undefined;

  constructor(
    readonly code: BwrapDriverErrorCode,
    message: string,
    options: { cause?: unknown; suggestion?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.suggestion = options.suggestion;
  }
}
