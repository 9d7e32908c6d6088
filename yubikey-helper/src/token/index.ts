/**
 * yubikey-helper's token layer: root keys on a YubiKey (or any PKCS#11 token) through PKCS#11,
 * stored, listed and used for signing exactly as notary 0.7 does
 * (trustmanager/yubikey/yubikeystore.go). Everything it throws is a TokenError.
 */
export { TokenError } from './errors.js';
export type { PinKind, PinRetries, TokenErrorCode } from './errors.js';
export { NOTARY_YKCS11_PATHS, OPENSC_PKCS11_PATHS, findModule } from './module-path.js';
export { DEFAULT_SO_PIN, DEFAULT_USER_PIN, openToken } from './pkcs11-token.js';
export type { PinRequest, PinSource, RootKeyToken, TokenDescription, TokenRootKey } from './pkcs11-token.js';
