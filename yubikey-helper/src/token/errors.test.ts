import pkcs11js from 'pkcs11js';
import { describe, expect, it } from 'vitest';
import { TokenError, pinRetriesFromFlags, pkcs11ReturnCode, returnCodeName, toTokenError } from './errors.js';

/** An error as pkcs11js throws it for a return value (its Pkcs11Error parses `NAME:value`). */
function pkcs11Failure(name: keyof typeof pkcs11js & `CKR_${string}`): Error {
  const value = pkcs11js[name] as number;
  return new pkcs11js.Pkcs11Error(`${name}:${value}`, value, 'C_Sign');
}

describe('toTokenError', () => {
  // SoftHSM2 cannot be unplugged: deleting its token directory under an open session gives
  // CKR_GENERAL_ERROR / CKR_OBJECT_HANDLE_INVALID, never CKR_DEVICE_REMOVED. So the mapping of the
  // removal return values is tested here, by value.
  it.each([
    'CKR_DEVICE_REMOVED',
    'CKR_TOKEN_NOT_PRESENT',
    'CKR_DEVICE_ERROR',
    'CKR_SESSION_HANDLE_INVALID',
    'CKR_SESSION_CLOSED',
    'CKR_SLOT_ID_INVALID',
  ] as const)('maps %s to TOKEN_REMOVED with a suggestion', (name) => {
    const cause = pkcs11Failure(name);
    const error = toTokenError(cause, 'signing');
    expect(error).toBeInstanceOf(TokenError);
    expect(error.code).toBe('TOKEN_REMOVED');
    expect(error.message).toContain(name);
    expect(error.suggestion).toBe('Plug the YubiKey back in and run the helper again.');
    expect(error.cause).toBe(cause);
  });

  it('maps CKR_PIN_LOCKED to PIN_LOCKED', () => {
    const error = toTokenError(pkcs11Failure('CKR_PIN_LOCKED'), 'logging in');
    expect(error.code).toBe('PIN_LOCKED');
    expect(error.retries).toBe('locked');
    expect(error.suggestion).toMatch(/PUK/);
  });

  it('maps other return values to PKCS11 and keeps a TokenError as it is', () => {
    const error = toTokenError(pkcs11Failure('CKR_GENERAL_ERROR'), 'importing');
    expect(error.code).toBe('PKCS11');
    expect(error.message).toBe('importing failed: CKR_GENERAL_ERROR');
    const own = new TokenError('SLOTS_FULL', 'full');
    expect(toTokenError(own, 'x')).toBe(own);
    expect(toTokenError(new Error('boom'), 'x').code).toBe('PKCS11');
  });

  it('reads the return value from the plain Error some pkcs11js calls throw', () => {
    // What C_CreateObject threw with SoftHSM2: an Error, no numeric code, `NAME:value` message.
    const plain = new Error('CKR_USER_NOT_LOGGED_IN:257');
    expect(pkcs11ReturnCode(plain)).toBe(pkcs11js.CKR_USER_NOT_LOGGED_IN);
    expect(toTokenError(new Error('CKR_DEVICE_REMOVED:50'), 'x').code).toBe('TOKEN_REMOVED');
    expect(pkcs11ReturnCode('CKR_DEVICE_REMOVED:50')).toBeUndefined();
    expect(returnCodeName(pkcs11js.CKR_PIN_INCORRECT)).toBe('CKR_PIN_INCORRECT');
    expect(returnCodeName(0x80000001)).toBe('CKR_0x80000001');
  });
});

describe('pinRetriesFromFlags', () => {
  it('reads the user and SO PIN flags of C_GetTokenInfo, the most severe first', () => {
    expect(pinRetriesFromFlags(0, 'user')).toBe('unknown');
    expect(pinRetriesFromFlags(pkcs11js.CKF_USER_PIN_COUNT_LOW, 'user')).toBe('low');
    expect(
      pinRetriesFromFlags(pkcs11js.CKF_USER_PIN_COUNT_LOW | pkcs11js.CKF_USER_PIN_FINAL_TRY, 'user'),
    ).toBe('final-try');
    expect(pinRetriesFromFlags(pkcs11js.CKF_USER_PIN_FINAL_TRY | pkcs11js.CKF_USER_PIN_LOCKED, 'user')).toBe(
      'locked',
    );
    expect(pinRetriesFromFlags(pkcs11js.CKF_USER_PIN_LOCKED, 'so')).toBe('unknown');
    expect(pinRetriesFromFlags(pkcs11js.CKF_SO_PIN_COUNT_LOW, 'so')).toBe('low');
    expect(pinRetriesFromFlags(pkcs11js.CKF_SO_PIN_FINAL_TRY, 'so')).toBe('final-try');
    expect(pinRetriesFromFlags(pkcs11js.CKF_SO_PIN_LOCKED, 'so')).toBe('locked');
  });
});
