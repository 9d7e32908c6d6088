/**
 * TokenError: what can go wrong between the helper and a PKCS#11 token, with a stable `code` and,
 * for what a learner sees, a `suggestion`. PKCS#11 return values (CKR_*) are translated here, at
 * the edge of pkcs11js, so nothing above this module has to know a CKR_ name.
 */
import pkcs11js from 'pkcs11js';

export type PinKind = 'user' | 'so';
/** How many PIN tries are left, as far as the token's flags say (C_GetTokenInfo). */
export type PinRetries = 'unknown' | 'low' | 'final-try' | 'locked';

export type TokenErrorCode =
  | 'NO_MODULE'
  | 'MODULE_FAILED'
  | 'NO_TOKEN'
  | 'WRONG_PIN'
  | 'PIN_LOCKED'
  | 'TOKEN_REMOVED'
  | 'SLOTS_FULL'
  | 'KEY_NOT_FOUND'
  | 'BAD_SIGNATURE'
  | 'PKCS11';

export interface TokenErrorOptions {
  suggestion?: string;
  retries?: PinRetries;
  cause?: unknown;
}

export class TokenError extends Error {
  readonly code: TokenErrorCode;
  readonly suggestion?: string;
  readonly retries?: PinRetries;

  constructor(code: TokenErrorCode, message: string, options: TokenErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TokenError';
    this.code = code;
    if (options.suggestion !== undefined) this.suggestion = options.suggestion;
    if (options.retries !== undefined) this.retries = options.retries;
  }
}

const REPLUG = 'Plug the YubiKey back in and run the helper again.';

/**
 * Return values that mean the device is gone or the session died with it. A YubiKey pulled out
 * mid-session gives CKR_DEVICE_REMOVED or CKR_TOKEN_NOT_PRESENT; once it is back, the old session
 * handle is CKR_SESSION_HANDLE_INVALID / CKR_SESSION_CLOSED and its slot may be CKR_SLOT_ID_INVALID.
 */
const REMOVED_CODES: ReadonlySet<number> = new Set([
  pkcs11js.CKR_DEVICE_REMOVED,
  pkcs11js.CKR_TOKEN_NOT_PRESENT,
  pkcs11js.CKR_DEVICE_ERROR,
  pkcs11js.CKR_SESSION_HANDLE_INVALID,
  pkcs11js.CKR_SESSION_CLOSED,
  pkcs11js.CKR_SLOT_ID_INVALID,
]);

/** CKR_* names by value, from pkcs11js's own constants. */
const RETURN_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(pkcs11js)
    .filter((entry): entry is [string, number] => entry[0].startsWith('CKR_') && typeof entry[1] === 'number')
    .map(([name, value]) => [value, name]),
);

/** The name of a CKR_* value, or its hex when pkcs11js does not know it (vendor codes). */
export function returnCodeName(code: number): string {
  return RETURN_NAMES.get(code) ?? `CKR_0x${code.toString(16).padStart(8, '0')}`;
}

/**
 * The CKR_* value behind an error thrown by pkcs11js, or undefined when it is not a PKCS#11
 * return value. pkcs11js is not uniform: most calls throw a Pkcs11Error with a numeric `code`,
 * but some (C_CreateObject, seen with SoftHSM2) throw a plain Error whose message is
 * `CKR_NAME:value`, so the message is read too.
 */
export function pkcs11ReturnCode(error: unknown): number | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number' && code > 0) return code;
  const match = /CKR_[A-Z0-9_]+:(\d+)/.exec(`${error.message}\n${error.stack ?? ''}`);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/** Whether `error` is the PKCS#11 return value `code`. */
export function isReturnCode(error: unknown, code: number): boolean {
  return pkcs11ReturnCode(error) === code;
}

const PIN_FLAGS: Record<PinKind, { low: number; finalTry: number; locked: number }> = {
  user: {
    low: pkcs11js.CKF_USER_PIN_COUNT_LOW,
    finalTry: pkcs11js.CKF_USER_PIN_FINAL_TRY,
    locked: pkcs11js.CKF_USER_PIN_LOCKED,
  },
  so: {
    low: pkcs11js.CKF_SO_PIN_COUNT_LOW,
    finalTry: pkcs11js.CKF_SO_PIN_FINAL_TRY,
    locked: pkcs11js.CKF_SO_PIN_LOCKED,
  },
};

/** What the token's flags (CK_TOKEN_INFO.flags) say about the tries left for a PIN. */
export function pinRetriesFromFlags(flags: number, kind: PinKind): PinRetries {
  const bits = PIN_FLAGS[kind];
  if (flags & bits.locked) return 'locked';
  if (flags & bits.finalTry) return 'final-try';
  if (flags & bits.low) return 'low';
  return 'unknown';
}

const PIN_NAMES: Record<PinKind, string> = { user: 'User Pin', so: 'SO Pin' };

export function pinName(kind: PinKind): string {
  return PIN_NAMES[kind];
}

/** The token's word on the tries left, for an error message (PKCS#11 gives flags, not a count). */
export function triesLeftText(retries: PinRetries): string {
  switch (retries) {
    case 'locked':
      return 'the token says the PIN is now blocked';
    case 'final-try':
      return 'the token says one try is left before it blocks';
    case 'low':
      return 'the token says few tries are left before it blocks';
    case 'unknown':
      return 'the token does not say how many tries are left';
  }
}

/** What a learner should do about a PIN, given what the token says about the tries left. */
export function pinSuggestion(kind: PinKind, retries: PinRetries): string {
  const which =
    kind === 'user'
      ? 'the YubiKey PIV PIN (default 123456)'
      : 'the YubiKey PIV management key, 48 hex digits (default 010203040506070801020304050607080102030405060708)';
  switch (retries) {
    case 'locked':
      return kind === 'user'
        ? 'The PIN is blocked. Unblock it with the PUK (ykman piv access unblock-pin), then run the helper again.'
        : 'The management key is blocked on this token; reset the PIV application (ykman piv reset) and start again.';
    case 'final-try':
      return `The token allows one more try before it blocks. Check ${which} carefully before trying again.`;
    case 'low':
      return `The token says few tries are left before it blocks. Check ${which} before trying again.`;
    case 'unknown':
      return `Enter ${which}. The token does not say how many tries are left; a YubiKey blocks the PIN after 3 wrong tries.`;
  }
}

/**
 * Translate anything thrown while `doing` something on the token into a TokenError: removal and
 * session loss become TOKEN_REMOVED, a blocked PIN PIN_LOCKED, any other return value PKCS11.
 * A TokenError passes through unchanged.
 */
export function toTokenError(error: unknown, doing: string): TokenError {
  if (error instanceof TokenError) return error;
  const code = pkcs11ReturnCode(error);
  if (code === undefined) {
    return new TokenError('PKCS11', `${doing} failed`, { cause: error });
  }
  const name = returnCodeName(code);
  if (REMOVED_CODES.has(code)) {
    return new TokenError(
      'TOKEN_REMOVED',
      `the YubiKey was removed or stopped answering (${doing}: ${name})`,
      {
        suggestion: REPLUG,
        cause: error,
      },
    );
  }
  if (code === pkcs11js.CKR_PIN_LOCKED) {
    return new TokenError('PIN_LOCKED', `the PIN is blocked on the token (${doing}: ${name})`, {
      suggestion: pinSuggestion('user', 'locked'),
      retries: 'locked',
      cause: error,
    });
  }
  return new TokenError('PKCS11', `${doing} failed: ${name}`, { cause: error });
}
