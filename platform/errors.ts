/**
 * The platform's own error family: what goes wrong while composing the
 * parts (settings that contradict each other, a sandbox that cannot run,
 * a store that cannot open). Each carries a stable `code` and, where an
 * operator can act, a `suggestion`.
 */
export type PlatformErrorCode =
  | 'SANDBOX_UNAVAILABLE'
  | 'UNSAFE_SANDBOX'
  | 'STORE_FAILED'
  | 'ACCOUNT_FAILED'
  | 'WEB_APP_MISSING'
  | 'LISTEN_FAILED'
  | 'CLOSED';

export class PlatformError extends Error {
  override readonly name = 'PlatformError';
  readonly code: PlatformErrorCode;
  readonly suggestion: string | undefined;

  constructor(
    code: PlatformErrorCode,
    message: string,
    options: { cause?: unknown; suggestion?: string } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.suggestion = options.suggestion;
  }
}
