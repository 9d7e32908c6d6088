/**
 * Limits and options of the client update workflow, in one typed default
 * (as tuf-js keeps `rootMaxLength`, `maxRootRotations` … together).
 * The sizes are notary's (client/tufclient.go, notary const.go).
 */
export interface UpdaterLimits {
  /** notary downloads root.json with a 100 MiB cap when no length is known. */
  rootMaxLength: number;
  /** notary's timestamp download cap. */
  timestampMaxLength: number;
  /** Cap for roles whose length the snapshot does not give. */
  defaultTargetsMaxLength: number;
  /** How many root versions a client walks forward before giving up. */
  maxRootRotations: number;
  /** How many delegated roles one lookup may visit. */
  maxDelegations: number;
}

export const DEFAULT_LIMITS: UpdaterLimits = {
  rootMaxLength: 100 * 1024 * 1024,
  timestampMaxLength: 1024 * 1024,
  defaultTargetsMaxLength: 100 * 1024 * 1024,
  maxRootRotations: 256,
  maxDelegations: 1024,
};

/**
 * notary trustpinning.TrustPinConfig: certificate IDs pinned per GUN, and
 * whether trust on first use is allowed when nothing is pinned.
 */
export interface TrustPinning {
  certs?: Record<string, string[]>;
  disableTofu?: boolean;
}
