/**
 * The attendee's hardware token as the client uses it: `socket.ts` speaks
 * the session's token socket (light enough for `notary key list`);
 * `token-key-store.ts` is trust-core's HardwareKeyStore over it.
 */
export { listToken, requestToken, TokenRequestError, TOUCH_PROMPT, YUBIKEY_LOCATION } from './socket.js';
export { TokenKeyStore, type TokenKeyStoreIo, type TokenListing } from './token-key-store.js';
