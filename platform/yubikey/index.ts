/**
 * Attendees' YubiKeys on the lab server: pairing codes and helper
 * connections (broker.ts, helper-link.ts), each session's token socket
 * (token-socket.ts), and local mode (local-token.ts).
 */
export { YubikeyBroker, type LocalToken, type YubikeyBrokerOptions } from './broker.js';
export { localToken } from './local-token.js';
