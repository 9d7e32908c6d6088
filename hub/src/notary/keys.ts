/**
 * Server-held keys: the timestamp and (for docker-style repositories) the
 * snapshot key of each GUN, plus the keys the hub signs its official images
 * with. notary-server's local trust service creates ed25519 keys whatever
 * `key_algorithm` says (notary tuf/utils/x509.go, cryptoservice/certificate.go), and so does the hub.
 *
 * Private keys live in the `tuf_keys` table sealed with AES-256-GCM under a
 * 32-byte secret in `<dataDir>/hub/trust-keys.secret` (0600); the GUN, role
 * and key ID are the associated data, so a sealed key cannot be moved to
 * another row. Private keys never leave this module except as signers.
 *
 * notary keeps every key it ever created for a GUN and role (a rotation adds
 * a "pending" key that becomes active when a root naming it is published);
 * signing picks the ones the current root lists, so the hub keeps them all too.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PrivateKey, PublicKey, type PrivateKeyType, type Signer } from '../../../trust-core/src/index.js';
import { statement, type Db } from '../storage/database.js';
import { writeFileAtomic } from '../storage/durable-fs.js';

export const KEY_SECRET_FILE = 'trust-keys.secret';

/** Loads the key-sealing secret, creating it (0600) on first start. */
export async function loadOrCreateKeySecret(hubDir: string): Promise<Buffer> {
  const file = path.join(hubDir, KEY_SECRET_FILE);
  try {
    const secret = await readFile(file);
    if (secret.length !== 32) throw new Error(`${KEY_SECRET_FILE} is damaged (expected 32 bytes)`);
    return secret;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const secret = randomBytes(32);
  await writeFileAtomic(file, secret, 0o600);
  return secret;
}

interface KeyRow {
  key_id: string;
  keytype: string;
  public: Buffer;
  sealed: Buffer;
}

/** GUN/role pairs whose unsealed signers are kept in memory (least recently built dropped first). */
const MAX_CACHED_SIGNER_SETS = 1000;

export class ServerKeys {
  private readonly signerCache = new Map<string, { ids: string; signers: Signer[] }>();

  constructor(
    private readonly db: Db,
    private readonly secret: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  private aad(gun: string, role: string, keyId: string): Buffer {
    return Buffer.from(JSON.stringify([gun, role, keyId]));
  }

  private seal(gun: string, role: string, key: PrivateKey): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.secret, iv);
    cipher.setAAD(this.aad(gun, role, key.id));
    const body = Buffer.concat([cipher.update(key.secretBytes()), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  private unseal(gun: string, role: string, row: KeyRow): PrivateKey {
    const decipher = createDecipheriv('aes-256-gcm', this.secret, row.sealed.subarray(0, 12));
    decipher.setAAD(this.aad(gun, role, row.key_id));
    decipher.setAuthTag(row.sealed.subarray(12, 28));
    const secret = Buffer.concat([decipher.update(row.sealed.subarray(28)), decipher.final()]);
    return PrivateKey.fromSecretBytes(row.keytype as PrivateKeyType, secret);
  }

  /** Creates and stores a new key; returns its public key (notary crypto.Create). */
  create(gun: string, role: string, keytype: PrivateKeyType = 'ed25519'): PublicKey {
    const key = PrivateKey.generate(keytype);
    statement(
      this.db,
      'INSERT INTO tuf_keys (gun, role, key_id, keytype, public, sealed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(
      gun,
      role,
      key.id,
      keytype,
      Buffer.from(key.publicKey().publicBytes),
      this.seal(gun, role, key),
      this.now(),
    );
    return key.publicKey();
  }

  /** Every key held for `gun`/`role`, newest last. */
  publicKeys(gun: string, role: string): PublicKey[] {
    const rows = statement(
      this.db,
      'SELECT key_id, keytype, public, sealed FROM tuf_keys WHERE gun = ? AND role = ? ORDER BY rowid',
    ).all(gun, role) as KeyRow[];
    return rows.map((row) => new PublicKey(row.keytype, row.public));
  }

  has(gun: string, role: string, keyId: string): boolean {
    return (
      statement(this.db, 'SELECT 1 FROM tuf_keys WHERE gun = ? AND role = ? AND key_id = ?').get(
        gun,
        role,
        keyId,
      ) !== undefined
    );
  }

  /** The private key with this ID, if the hub holds it. */
  privateKey(gun: string, role: string, keyId: string): PrivateKey | undefined {
    const row = statement(
      this.db,
      'SELECT key_id, keytype, public, sealed FROM tuf_keys WHERE gun = ? AND role = ? AND key_id = ?',
    ).get(gun, role, keyId) as KeyRow | undefined;
    return row ? this.unseal(gun, role, row) : undefined;
  }

  /**
   * Signers for every key held for `gun`/`role` (validation keeps the ones the
   * root lists). Unsealing a key and rebuilding it costs far more than a
   * signature check, so the signers are kept per GUN and role and reused
   * while the list of held key IDs is unchanged (checked on every call, so a
   * key added by `create` or by another process is picked up).
   */
  signers(gun: string, role: string): Signer[] {
    const cacheKey = JSON.stringify([gun, role]);
    const ids = (
      statement(this.db, 'SELECT key_id FROM tuf_keys WHERE gun = ? AND role = ? ORDER BY rowid').all(
        gun,
        role,
      ) as { key_id: string }[]
    )
      .map((row) => row.key_id)
      .join(',');
    const cached = this.signerCache.get(cacheKey);
    if (cached !== undefined && cached.ids === ids) return cached.signers.slice();
    const rows = statement(
      this.db,
      'SELECT key_id, keytype, public, sealed FROM tuf_keys WHERE gun = ? AND role = ? ORDER BY rowid',
    ).all(gun, role) as KeyRow[];
    const signers = rows.map((row) => this.unseal(gun, role, row).signer());
    this.signerCache.delete(cacheKey);
    this.signerCache.set(cacheKey, { ids: rows.map((row) => row.key_id).join(','), signers });
    // Oldest first in a Map: keep the cache bounded.
    if (this.signerCache.size > MAX_CACHED_SIGNER_SETS) {
      const oldest = this.signerCache.keys().next().value;
      if (oldest !== undefined) this.signerCache.delete(oldest);
    }
    return signers.slice();
  }
}
