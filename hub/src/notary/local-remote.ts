/**
 * The hub's own trust data as a trust-core `RemoteStore`, read in process:
 * lets the hub run trust-core's client `Updater` over what it serves (to
 * re-sign its official images, and in tests to verify stored state) without
 * going through HTTP. Names follow the RemoteStore contract: `root`,
 * `timestamp`, `snapshot.<sha256 hex>`, `3.root`.
 */
import { FetchError, type MetadataCache, type RemoteStore } from '../../../trust-core/src/index.js';
import type { NotaryService } from './service.js';

const BY_VERSION = /^(\d+)\.(.+)$/;
const BY_CHECKSUM = /^(.+)\.([a-f0-9]{64})$/;

export class LocalRemote implements RemoteStore {
  readonly displayName = 'hub';

  constructor(
    private readonly service: NotaryService,
    private readonly gun: string,
  ) {}

  async getMeta(name: string, maxLength: number): Promise<Uint8Array> {
    let bytes: Uint8Array;
    try {
      const version = BY_VERSION.exec(name);
      const checksum = BY_CHECKSUM.exec(name);
      if (version) bytes = this.service.byVersion(this.gun, version[2] as string, Number(version[1])).content;
      else if (checksum)
        bytes = this.service.byChecksum(this.gun, checksum[1] as string, checksum[2] as string).content;
      else bytes = (await this.service.current(this.gun, name)).content;
    } catch (cause) {
      throw new FetchError('TRUST_DATA_MISSING', `hub does not have trust data for ${this.gun}`, { cause });
    }
    if (bytes.length > maxLength)
      throw new FetchError('TOO_LARGE', `${name} is larger than ${maxLength} bytes`);
    return bytes;
  }
}

/** A throwaway metadata cache (every update starts from nothing). */
export class MemoryCache implements MetadataCache {
  private readonly files = new Map<string, Uint8Array>();
  get(role: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.files.get(role));
  }
  set(role: string, bytes: Uint8Array): Promise<void> {
    this.files.set(role, bytes);
    return Promise.resolve();
  }
  remove(role: string): Promise<void> {
    this.files.delete(role);
    return Promise.resolve();
  }
}
