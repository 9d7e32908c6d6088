/**
 * The instructor's password at rest: scrypt (node:crypto) with a random
 * salt, its parameters stored beside the hash so that a later TrustLab can
 * raise them and still check an older hash. Comparison is constant-time.
 */
import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly keyLength: number;
}

/** 2^15 × 8 × 128 bytes = 32 MiB and tens of milliseconds per check: the throttle does the rest. */
export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1, keyLength: 32 };

const paramsSchema = z.object({
  N: z
    .number()
    .int()
    .min(2 ** 10)
    .max(2 ** 20)
    .refine((n) => (n & (n - 1)) === 0, 'N must be a power of two'),
  r: z.number().int().min(1).max(32),
  p: z.number().int().min(1).max(16),
  keyLength: z.number().int().min(16).max(64),
});

export interface PasswordHash {
  readonly algorithm: 'scrypt';
  readonly params: ScryptParams;
  /** Hex. */
  readonly salt: string;
  /** Hex. */
  readonly hash: string;
}

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize('NFC'),
      salt,
      params.keyLength,
      // maxmem: scrypt needs 128·N·r bytes, and Node's default ceiling (32 MiB) is just that.
      { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r },
      (error, key) => (error ? reject(error) : resolve(key)),
    ),
  );
}

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
): Promise<PasswordHash> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return { algorithm: 'scrypt', params, salt: salt.toString('hex'), hash: key.toString('hex') };
}

/** Parameters as stored (JSON), checked: a tampered row must not make scrypt allocate gigabytes. */
export function parseParams(json: string): ScryptParams | undefined {
  try {
    const parsed = paramsSchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, 'hex');
  if (stored.algorithm !== 'scrypt' || expected.length !== stored.params.keyLength) return false;
  const key = await derive(password, Buffer.from(stored.salt, 'hex'), stored.params);
  return timingSafeEqual(key, expected);
}

/** No 0/o, 1/l/i: the instructor reads it off a console and types it. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Five groups of five: about 123 bits. */
export function generatedPassword(): string {
  const group = () => Array.from({ length: 5 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');
  return Array.from({ length: 5 }, group).join('-');
}
