/**
 * The `trustData` fact from the hub's own store: trust-core's client update
 * workflow run in process over what the hub serves for a GUN, starting from
 * nothing (trust on first use of root, as a fresh docker would), so a check
 * sees exactly what a learner's `docker pull` with content trust would
 * accept, and no more.
 */
import type { NotaryService } from '../../hub/src/index.js';
import type { MetadataCache, RemoteStore, TrustedRepository } from '../../trust-core/src/index.js';
import {
  FetchError,
  PULL_ROLES,
  TrustError,
  Updater,
  isServerValidationError,
  toHex,
} from '../../trust-core/src/index.js';
import { nodeRsaVerifier } from '../../trust-core/src/node/index.js';
import type { TrustDataFacts, VerifiedTarget } from './facts.js';

const BY_VERSION = /^(\d+)\.(.+)$/;
const BY_CHECKSUM = /^(.+)\.([a-f0-9]{64})$/;

type NotaryReads = Pick<NotaryService, 'current' | 'byVersion' | 'byChecksum'>;

/** The hub's stored files as a trust-core RemoteStore (names as in RemoteStore: `root`, `snapshot.<sha256>`, `3.root`). */
class StoredTrustData implements RemoteStore {
  readonly displayName = 'hub';

  constructor(
    private readonly notary: NotaryReads,
    private readonly gun: string,
  ) {}

  async getMeta(name: string, maxLength: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      const version = BY_VERSION.exec(name);
      const checksum = BY_CHECKSUM.exec(name);
      if (version) bytes = this.notary.byVersion(this.gun, version[2]!, Number(version[1])).content;
      else if (checksum) bytes = this.notary.byChecksum(this.gun, checksum[1]!, checksum[2]!).content;
      else bytes = (await this.notary.current(this.gun, name)).content;
    } catch (cause) {
      if (isServerValidationError(cause) && cause.code === 'METADATA_NOT_FOUND') {
        throw new FetchError('TRUST_DATA_MISSING', `hub does not have trust data for ${this.gun}`, { cause });
      }
      throw new FetchError('SERVER_ERROR', `hub could not read ${name} for ${this.gun}`, { cause });
    }
    if (bytes.length > maxLength)
      throw new FetchError('TOO_LARGE', `${name} is larger than ${maxLength} bytes`);
    return bytes;
  }
}

/** Every update starts from an empty cache: nothing a previous check saw can stand in for the hub. */
class EmptyCache implements MetadataCache {
  private readonly files = new Map<string, Uint8Array>();
  get(role: string) {
    return Promise.resolve(this.files.get(role));
  }
  set(role: string, bytes: Uint8Array) {
    this.files.set(role, bytes);
    return Promise.resolve();
  }
  remove(role: string) {
    this.files.delete(role);
    return Promise.resolve();
  }
}

/** The tags `docker pull` would accept, each with the role that signed it (cli/trust: releases, then targets). */
export function pullableTargets(trusted: TrustedRepository): VerifiedTarget[] {
  const out: VerifiedTarget[] = [];
  for (const { name } of trusted.listTargets([...PULL_ROLES])) {
    const found = trusted.lookupForPull(name);
    const sha = found?.meta.sha256;
    if (!found || !sha) continue;
    out.push({ name, role: found.role, digest: `sha256:${toHex(sha)}`, length: found.meta.length });
  }
  return out;
}

export function trustFactsOf(trusted: TrustedRepository): TrustDataFacts {
  const keyIds = (role: 'root' | 'targets') =>
    Object.values(trusted.root.signed.roleKeys(role)).map((key) => key.canonicalId());
  return {
    state: 'verified',
    targets: pullableTargets(trusted),
    rootKeyIds: keyIds('root'),
    targetsKeyIds: keyIds('targets'),
  };
}

/**
 * `trustData(gun)` over the hub's Notary service. `notary` is a getter
 * because the hub creates its service only once listening.
 */
export function hubTrustData(
  notary: () => NotaryReads | undefined,
  options: { now?: () => Date } = {},
): (gun: string) => Promise<TrustDataFacts> {
  return async (gun) => {
    const service = notary();
    if (service === undefined) return { state: 'invalid', reason: 'the hub is not serving trust data yet' };
    try {
      const trusted = await new Updater({
        gun,
        remote: new StoredTrustData(service, gun),
        cache: new EmptyCache(),
        rsa: nodeRsaVerifier,
        ...(options.now ? { clock: { now: options.now } } : {}),
      }).refresh();
      return trustFactsOf(trusted);
    } catch (error) {
      if (error instanceof FetchError && error.code === 'TRUST_DATA_MISSING') return { state: 'missing' };
      if (error instanceof TrustError) return { state: 'invalid', reason: error.message };
      throw error;
    }
  };
}
