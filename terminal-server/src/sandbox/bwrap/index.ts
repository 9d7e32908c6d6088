/**
 * The bwrap sandbox driver (isolated; the default on Linux where it can
 * run). See bwrap-driver.ts for the design and ../driver.ts for the
 * contract.
 */
export type { BwrapDriver, BwrapSandbox } from './bwrap-driver.js';
export { createBwrapDriver } from './bwrap-driver.js';
export type { BwrapDriverConfig, ResolvedBwrapConfig } from './config.js';
export { INSIDE, bwrapConfigSchema } from './config.js';
export type { BwrapDriverErrorCode } from './errors.js';
export { BwrapDriverError } from './errors.js';
export type { ProbeResult } from './probe.js';
export { isBwrapAvailable, probeBwrap } from './probe.js';
