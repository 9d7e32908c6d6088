/**
 * The platform's own error family: what goes wrong while composing the
 * parts (settings that contradict each other, a sandbox that cannot run,
 * a store that cannot open), and what a workshop refuses (a full or closed
 * workshop, a wrong password). Each carries a stable `code` and, where an
 * operator, instructor or learner can act, a `suggestion`. The HTTP layer
 * maps codes to statuses (platform/workshops/http.ts).
 */
export type PlatformErrorCode =
  | 'SANDBOX_UNAVAILABLE'
  | 'UNSAFE_SANDBOX'
  | 'STORE_FAILED'
  | 'ACCOUNT_FAILED'
  | 'WEB_APP_MISSING'
  | 'LISTEN_FAILED'
  | 'CLOSED'
  /** A lab needs something on the hub that is not there (platform/lab-environment.ts). */
  | 'LAB_ENVIRONMENT'
  /** A request's body does not have the expected shape; the message says which field. */
  | 'INVALID_INPUT'
  | 'UNKNOWN_LAB'
  /** The server holds the PKCS#11 module itself (local mode): there is no helper to pair. */
  | 'LOCAL_TOKEN'
  | 'UNKNOWN_WORKSHOP'
  | 'UNKNOWN_ATTENDEE'
  | 'WORKSHOP_FULL'
  | 'WORKSHOP_CLOSED'
  | 'WORKSHOP_NOT_STARTED'
  | 'WRONG_PASSWORD'
  | 'TOO_MANY_ATTEMPTS'
  /** An instructor's reset of this attendee is under way already. */
  | 'RESETTING'
  /** The attendee has no terminal running (or no page attached to it) to watch or hand over. */
  | 'NO_TERMINAL'
  /** A request for control that is not (or no longer) pending for this attendee. */
  | 'UNKNOWN_REQUEST'
  /** The instructor who asked for control no longer watches the attendee's terminal. */
  | 'WATCHER_GONE'
  /** The terminal server cannot take this now (shutting down, too many tickets outstanding). */
  | 'UNAVAILABLE';

export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  readonly code: PlatformErrorCode;
  readonly suggestion: string | undefined;
  /** For TOO_MANY_ATTEMPTS and RESETTING: how long to wait before trying again. */
  readonly retryAfterMs: number | undefined;

  constructor(
    code: PlatformErrorCode,
    message: string,
    options: { cause?: unknown; suggestion?: string; retryAfterMs?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.suggestion = options.suggestion;
    this.retryAfterMs = options.retryAfterMs;
  }
}

export function isPlatformError(error: unknown, code?: PlatformErrorCode): error is PlatformError {
  return error instanceof PlatformError && (code === undefined || error.code === code);
}
