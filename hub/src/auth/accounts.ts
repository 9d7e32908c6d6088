/**
 * Hub accounts with scrypt-hashed passwords.
 *
 * Stored form: `scrypt$N$r$p$<salt b64>$<hash b64>`; the parameters travel
 * with the hash so they can be raised later without invalidating existing
 * accounts. Passwords are never stored or logged in clear.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { z } from 'zod';
import { statement, type Db } from '../storage/database.js';

/** An account name is a namespace, so it must be one valid repository-name component. */
export const accountNameSchema = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/, 'lowercase letters, digits and single . _ - separators')
  .refine((name) => name !== 'library', { message: '"library" is reserved for the hub' })
  // GUN hosts (notary/gun.ts): `localhost/...` and `docker.io/...` never name an account's namespace.
  .refine((name) => name !== 'localhost' && name !== 'docker.io', { message: 'this name is reserved' });

export const passwordSchema = z.string().min(8, 'at least 8 characters').max(1024);

const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

function scryptAsync(
  password: string,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 256 * Number(n) * Number(r),
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export class AccountExistsError extends Error {
  constructor(name: string) {
    super(`account "${name}" already exists`);
    this.name = 'AccountExistsError';
  }
}

export class Accounts {
  /** Hash checked for unknown names so that a miss takes as long as a hit. */
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly db: Db) {}

  async createAccount(name: string, password: string): Promise<void> {
    accountNameSchema.parse(name);
    passwordSchema.parse(password);
    const hash = await hashPassword(password);
    const result = statement(
      this.db,
      'INSERT INTO accounts (name, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ).run(name, hash, Date.now());
    if (result.changes === 0) throw new AccountExistsError(name);
  }

  async setPassword(name: string, password: string): Promise<boolean> {
    passwordSchema.parse(password);
    const hash = await hashPassword(password);
    return (
      statement(this.db, 'UPDATE accounts SET password_hash = ? WHERE name = ?').run(hash, name).changes > 0
    );
  }

  exists(name: string): boolean {
    return statement(this.db, 'SELECT 1 FROM accounts WHERE name = ?').get(name) !== undefined;
  }

  list(): string[] {
    return (statement(this.db, 'SELECT name FROM accounts ORDER BY name').all() as { name: string }[]).map(
      (row) => row.name,
    );
  }

  async verifyPassword(name: string, password: string): Promise<boolean> {
    const row = statement(this.db, 'SELECT password_hash FROM accounts WHERE name = ?').get(name) as
      { password_hash: string } | undefined;
    if (row === undefined) {
      this.dummyHash ??= hashPassword('not-a-real-password');
      await checkPassword(password, await this.dummyHash);
      return false;
    }
    return checkPassword(password, row.password_hash);
  }
}
