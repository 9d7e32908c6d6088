/**
 * notary's local metadata cache: `<trust dir>/tuf/<gun>/metadata/<role>.json`
 * (delegations as `targets/releases.json`), directories 0700 (notary storage/filestore.go, tuf/utils/pkcs8.go).
 * Names are validated before they touch the filesystem, so a GUN or role can
 * never climb out of the trust directory.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TrustError } from '../errors.js';
import type { MetadataCache } from '../client/interfaces.js';
import { ensureDir, writeFileAtomic } from './atomic-file.js';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

function checkPath(kind: string, value: string): string[] {
  const parts = value.split('/');
  if (parts.some((p) => !SAFE_SEGMENT.test(p) || p === '.' || p === '..')) {
    throw new TrustError('INVALID_ROLE', `invalid ${kind}: ${JSON.stringify(value)}`);
  }
  return parts;
}

export class FileMetadataCache implements MetadataCache {
  readonly dir: string;

  constructor(trustDir: string, gun: string) {
    this.dir = join(trustDir, 'tuf', ...checkPath('GUN', gun), 'metadata');
  }

  private path(role: string): string {
    return join(this.dir, ...checkPath('role', role)) + '.json';
  }

  async get(role: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.path(role)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async set(role: string, bytes: Uint8Array): Promise<void> {
    const path = this.path(role);
    await ensureDir(join(path, '..'));
    await writeFileAtomic(path, bytes, 0o600);
  }

  async remove(role: string): Promise<void> {
    await rm(this.path(role), { force: true });
  }

  /** Drop the whole cache of this GUN (notary delete without --remote). */
  async clear(): Promise<void> {
    await rm(join(this.dir, '..'), { recursive: true, force: true });
  }
}
