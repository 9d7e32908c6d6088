/**
 * notary's private key file store (trustmanager/keystore.go on top of
 * storage/filestore.go), so a trust directory can be shared with the real
 * notary and docker binaries:
 *
 *   <trustDir>/private/<canonicalID>.key    directory 0700, files 0600
 *
 * Role and GUN live in the PEM headers; the key ID is the file name
 * (`notary key list` reads nothing else, so listing needs no passphrase).
 * Files are written to a temporary name, fsync'd and renamed, so a crash
 * never leaves a half-written key. Keys in the pre-0.4 layout
 * (`private/root_keys/…`, `private/tuf_keys/<gun>/…`) are moved into the flat
 * directory the first time the store is used, as notary does.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { KeyError } from '../errors.js';
import type { DecodedKeyFile } from '../crypto/key-file.js';
import { keyFileGun, readKeyFileHeaders } from '../crypto/key-file-headers.js';
import { checkNewPassphrase } from '../crypto/passphrase.js';
import type { PassphraseRetriever } from '../crypto/passphrase.js';
import { decodePem, encodePem } from '../crypto/pem.js';
import type { PrivateKey } from '../crypto/signatures.js';
import { writeFileAtomic } from './atomic-file.js';

const PRIVATE_DIR = 'private';
const KEY_EXTENSION = '.key';
const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const LEGACY_ROOT_DIR = 'root_keys';
const LEGACY_NON_ROOT_DIR = 'tuf_keys';
const KEY_ID = /^[0-9a-f]{64}$/;

export interface KeyListEntry {
  id: string;
  role: string;
  gun?: string;
  path: string;
}

export interface LoadOptions {
  /** Wrong passphrases tolerated before giving up (notary's prompt allows 3 tries). */
  maxAttempts?: number;
}

function notFound(id: string): KeyError {
  return new KeyError('KEY_NOT_FOUND', `could not retrieve local key for key ID provided: ${id}`, {
    suggestion:
      'List the keys you have with `notary key list` (or `docker trust key`), and check the trust directory.',
  });
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}

export class FileKeyStore {
  readonly trustDir: string;
  readonly privateDir: string;
  #migrated = false;

  constructor(trustDir: string) {
    this.trustDir = path.resolve(trustDir);
    this.privateDir = path.join(this.trustDir, PRIVATE_DIR);
  }

  /** Path of the key file for a canonical key ID. */
  pathFor(id: string): string {
    if (!KEY_ID.test(id)) throw new KeyError('KEY_NOT_FOUND', `invalid key ID ${JSON.stringify(id)}`);
    return path.join(this.privateDir, id + KEY_EXTENSION);
  }

  async #ready(): Promise<void> {
    await fs.mkdir(this.privateDir, { recursive: true, mode: DIR_MODE });
    if (!this.#migrated) {
      await this.migrateLegacyLayout();
      this.#migrated = true;
    }
  }

  async #writeAtomically(file: string, text: string): Promise<void> {
    await writeFileAtomic(file, text, FILE_MODE);
  }

  /** Every key file, with role and GUN from its headers (no passphrase needed). Sorted by ID. */
  async list(): Promise<KeyListEntry[]> {
    await this.#ready();
    const out: KeyListEntry[] = [];
    for (const entry of await fs.readdir(this.privateDir, { withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith(KEY_EXTENSION) || entry.name.startsWith('.')) continue;
      const file = path.join(this.privateDir, entry.name);
      let headers;
      try {
        headers = readKeyFileHeaders(await fs.readFile(file, 'utf8'));
      } catch {
        continue; // notary skips files it cannot read as PEM
      }
      const item: KeyListEntry = {
        id: entry.name.slice(0, -KEY_EXTENSION.length),
        role: headers.role ?? '',
        path: file,
      };
      if (headers.gun) item.gun = headers.gun;
      out.push(item);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async has(id: string): Promise<boolean> {
    try {
      await fs.access(this.pathFor(id));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Load and decrypt a key. The retriever is asked again after a wrong
   * passphrase; after `maxAttempts` failures KeyError('PASSPHRASE_ATTEMPTS').
   * A retriever that throws ends the attempts with its error.
   */
  async load(id: string, retriever: PassphraseRetriever, options: LoadOptions = {}): Promise<DecodedKeyFile> {
    await this.#ready();
    let text: string;
    try {
      text = await fs.readFile(this.pathFor(id), 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw notFound(id);
      throw error;
    }
    const headers = readKeyFileHeaders(text);
    const check = (decoded: DecodedKeyFile): DecodedKeyFile => {
      if (decoded.key.id !== id) {
        throw new KeyError(
          'KEY_FILE',
          `key file ${id}${KEY_EXTENSION} holds a different key (${decoded.key.id})`,
        );
      }
      return decoded;
    };
    // The key-file cryptography loads only when a key is used, so listing keys stays light.
    const { decodeKeyFile } = await import('../crypto/key-file.js');
    if (!headers.encrypted) return check(decodeKeyFile(text, ''));
    const maxAttempts = options.maxAttempts ?? 3;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const request = {
        keyId: id,
        role: headers.role ?? '',
        createNew: false,
        attempt,
        ...(headers.gun ? { gun: headers.gun } : {}),
      };
      const passphrase = await retriever(request);
      try {
        return check(decodeKeyFile(text, passphrase));
      } catch (error) {
        if (error instanceof KeyError && error.code === 'WRONG_PASSPHRASE') continue;
        throw error;
      }
    }
    throw new KeyError(
      'PASSPHRASE_ATTEMPTS',
      `maximum number of passphrase attempts exceeded for key ${id.slice(0, 7)}`,
      {
        suggestion:
          'Check which passphrase protects this key; root and repository keys usually have different ones.',
      },
    );
  }

  /**
   * Encrypt and save a key under its canonical ID. The GUN is dropped for
   * root, delegation and other non-base roles, as notary's key store does.
   * A passphrase from a retriever is a new one and must have 8+ characters
   * (notary's prompt rule); a passphrase given directly is used as is ('' =
   * unencrypted). Returns the file path.
   */
  async save(
    key: PrivateKey,
    info: { role: string; gun?: string },
    passphrase: string | PassphraseRetriever,
  ): Promise<string> {
    await this.#ready();
    const id = key.id;
    const gun = keyFileGun(info.role, info.gun);
    let chosen: string;
    if (typeof passphrase === 'string') {
      chosen = passphrase;
    } else {
      chosen = await passphrase({
        keyId: id,
        role: info.role,
        createNew: true,
        attempt: 0,
        ...(gun ? { gun } : {}),
      });
      checkNewPassphrase(chosen);
    }
    const file = this.pathFor(id);
    await this.#writeAtomically(
      file,
      (await import('../crypto/key-file.js')).encodeKeyFile(key, {
        role: info.role,
        ...(gun ? { gun } : {}),
        passphrase: chosen,
      }),
    );
    return file;
  }

  /** Delete a key file. KeyError('KEY_NOT_FOUND') when there is none. */
  async remove(id: string): Promise<void> {
    await this.#ready();
    try {
      await fs.unlink(this.pathFor(id));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) throw notFound(id);
      throw error;
    }
  }

  /**
   * Move keys from the pre-0.4 layout into `private/` (notary
   * storage/filestore.go migrateTo0Dot4): `root_keys/<id>[_<role>].key` and
   * `tuf_keys/<gun>/<id>[_<role>].key` become `<id>.key` with `role`/`gun`
   * headers added; then the old directories are deleted.
   */
  async migrateLegacyLayout(): Promise<void> {
    for (const legacy of [LEGACY_ROOT_DIR, LEGACY_NON_ROOT_DIR]) {
      const base = path.join(this.privateDir, legacy);
      try {
        if (!(await fs.stat(base)).isDirectory()) continue;
      } catch {
        continue;
      }
      for (const file of await walk(base)) {
        const rel = path.relative(base, file);
        const dir = path.dirname(rel);
        let id = path.basename(rel, KEY_EXTENSION);
        let block;
        try {
          block = decodePem(await fs.readFile(file, 'utf8'));
        } catch {
          continue; // notary warns and leaves such a key behind
        }
        if (dir !== '.') block.headers.gun = dir.split(path.sep).join('/');
        if (id.includes('_')) {
          const role = id.split('_')[1]!;
          id = id.slice(0, id.length - role.length - 1);
          block.headers.role = role;
        }
        const target = path.join(this.privateDir, id + KEY_EXTENSION);
        await this.#writeAtomically(target, encodePem(block));
      }
      await fs.rm(base, { recursive: true, force: true });
    }
  }
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile() && entry.name.endsWith(KEY_EXTENSION)) out.push(full);
  }
  return out;
}
