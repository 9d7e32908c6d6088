/**
 * The I/O the update workflow needs, as interfaces: trust-core never opens a
 * socket or a file itself. Node implementations live in trust-core/src/node/;
 * tests use in-memory ones (trust-core/src/testing/).
 */

/**
 * The trust server, read side. Names are notary-server's metadata names
 * without `.json`: `root`, `timestamp`, `snapshot.<sha256 hex>`,
 * `targets/releases.<sha256 hex>`, `3.root`.
 *
 * Implementations throw a FetchError: `TRUST_DATA_MISSING` for 404,
 * `TOO_LARGE` when the body exceeds `maxLength`, `UNAUTHORIZED` for 401,
 * `SERVER_UNREACHABLE` for network failures and `SERVER_ERROR` otherwise.
 */
export interface RemoteStore {
  /** How the server is named in messages (`localhost:4443`), as notary prints it. */
  readonly displayName: string;
  getMeta(name: string, maxLength: number): Promise<Uint8Array>;
}

/** The local metadata cache, `<trust dir>/tuf/<gun>/metadata/<role>.json` in notary. */
export interface MetadataCache {
  get(role: string): Promise<Uint8Array | undefined>;
  set(role: string, bytes: Uint8Array): Promise<void>;
  remove(role: string): Promise<void>;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface UpdateWarning {
  code: string;
  message: string;
}
