/**
 * Server side of the notary protocol, as the lab's hub uses it: validating a
 * publish exactly as notary-server 0.7 does, signing the server-held snapshot
 * and timestamp, and notary-server's error bodies. Pure functions, no I/O.
 */
export * from './errors.js';
export { decodeSignedMeta } from './go-json.js';
export * from './validation.js';
