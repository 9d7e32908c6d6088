/** The interop test harness: real notary, notary-server, docker-registry and docker CLI on loopback. */
export * from './binaries.js';
export * from './docker-cli.js';
export * from './https.js';
export * from './notary-cli.js';
export * from './notary-server.js';
export * from './process.js';
export * from './registry.js';
export * from './tls.js';
