/**
 * The instructor's sign-in: one password for the platform, sessions in a
 * cookie, a CSRF token per session, and a throttle on wrong passwords.
 *
 * - The password is TRUSTLAB_INSTRUCTOR_PASSWORD when set (its hash
 *   replaces the stored one whenever it changes, which ends every session).
 *   Unset, one is generated at the first start, printed once through the
 *   logger and stored hashed; later starts keep it and print nothing.
 *   Unsetting the variable later keeps the last password it set.
 * - A session is a random 128-bit token in the `trustlab_instructor`
 *   cookie (HttpOnly, SameSite=Strict, about 12 hours); the store keeps its
 *   SHA-256 only.
 * - The CSRF token is derived from the session token (SHA-256 under a
 *   label of its own), so it needs no storage, survives restarts, and is
 *   worthless without the cookie it belongs to; it is compared in constant
 *   time.
 * - Wrong passwords: the first few are free, then each one doubles the
 *   wait before the next attempt (1 s, 2 s, 4 s, ... up to 5 minutes), for
 *   the whole process, since there is one instructor password and
 *   addresses behind a proxy say little. Attempts are checked one at a
 *   time, and only a few may wait in line.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { PlatformError } from '../errors.js';
import type { PlatformLogger } from '../logger.js';
import { INSTRUCTOR_COOKIE, type InstructorSessionView } from './types.js';
import {
  DEFAULT_SCRYPT,
  generatedPassword,
  hashPassword,
  parseParams,
  verifyPassword,
  type PasswordHash,
  type ScryptParams,
} from './password.js';
import type { WorkshopStore } from './store.js';

const TOKEN = /^[0-9a-f]{32}$/;
/** A working day and then some. */
export const INSTRUCTOR_SESSION_MS = 12 * 60 * 60 * 1000;

export interface ThrottleOptions {
  /** Wrong passwords allowed before any wait. */
  freeAttempts: number;
  /** The first wait; each further wrong password doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A quiet spell this long forgets earlier failures. */
  forgetAfterMs: number;
  /** Attempts that may wait for the one being checked; more are refused at once. */
  maxQueued: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  freeAttempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60 * 1000,
  forgetAfterMs: 15 * 60 * 1000,
  maxQueued: 8,
};

/** Exponential delay after repeated wrong passwords. */
export class SignInThrottle {
  private failures = 0;
  private lastFailure = 0;
  private lockedUntil = 0;

  constructor(private readonly options: ThrottleOptions = DEFAULT_THROTTLE) {}

  /** Milliseconds before the next attempt may be checked; 0 when now. */
  waitMs(now: number): number {
    this.forget(now);
    return Math.max(0, this.lockedUntil - now);
  }

  failed(now: number): void {
    this.forget(now);
    this.failures++;
    this.lastFailure = now;
    const over = this.failures - this.options.freeAttempts;
    if (over >= 0) {
      this.lockedUntil = now + Math.min(this.options.baseDelayMs * 2 ** over, this.options.maxDelayMs);
    }
  }

  succeeded(): void {
    this.failures = 0;
    this.lockedUntil = 0;
  }

  private forget(now: number): void {
    if (this.failures > 0 && now - this.lastFailure > this.options.forgetAfterMs && now >= this.lockedUntil) {
      this.failures = 0;
    }
  }
}

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The CSRF token of the session holding `token`. */
export function csrfTokenFor(token: string): string {
  return createHash('sha256').update(`trustlab-instructor-csrf\0${token}`, 'utf8').digest('base64url');
}

/** Constant time whatever the lengths: both sides are hashed to 32 bytes first. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The value of a `Cookie` header's instructor cookie, if it has a well-formed one. */
export function instructorTokenFrom(cookieHeader: string | null | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== INSTRUCTOR_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (TOKEN.test(value)) return value;
  }
  return undefined;
}

export interface InstructorSession extends InstructorSessionView {
  readonly tokenDigest: string;
}

export interface InstructorAuthOptions {
  store: WorkshopStore;
  logger: PlatformLogger;
  /** Adds `Secure` to the cookie (the app is served over https). */
  secureCookie: boolean;
  /** TRUSTLAB_INSTRUCTOR_PASSWORD, if set. */
  password: string | undefined;
  /** Where to sign in, for the line that prints a generated password. */
  signInUrl?: string;
  throttle?: Partial<ThrottleOptions>;
  scrypt?: ScryptParams;
  now?: () => number;
}

export class InstructorAuth {
  private readonly throttle: SignInThrottle;
  private readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private readonly maxQueued: number;

  private constructor(
    private readonly options: InstructorAuthOptions,
    private hash: PasswordHash,
  ) {
    const throttle = { ...DEFAULT_THROTTLE, ...options.throttle };
    this.throttle = new SignInThrottle(throttle);
    this.maxQueued = throttle.maxQueued;
    this.now = options.now ?? Date.now;
  }

  /** Loads the password hash, or makes it (see the module comment). */
  static async open(options: InstructorAuthOptions): Promise<InstructorAuth> {
    const { store, logger } = options;
    const now = options.now ?? Date.now;
    const params = options.scrypt ?? DEFAULT_SCRYPT;
    const stored = store.passwordHash();
    const storedHash = stored && toHash(stored);
    const save = async (password: string, fromEnv: boolean) => {
      const hash = await hashPassword(password, params);
      store.setPasswordHash({
        algorithm: hash.algorithm,
        params: JSON.stringify(hash.params),
        salt: hash.salt,
        hash: hash.hash,
        fromEnv,
        createdAt: now(),
      });
      return hash;
    };
    if (options.password !== undefined) {
      const current =
        storedHash !== undefined && stored?.fromEnv && (await verifyPassword(options.password, storedHash))
          ? storedHash
          : await save(options.password, true);
      return new InstructorAuth(options, current);
    }
    if (storedHash !== undefined) return new InstructorAuth(options, storedHash);
    const password = generatedPassword();
    const hash = await save(password, false);
    // Printed once, after it is stored: a later start finds the hash and prints nothing.
    logger.info(
      [
        `Instructor password (shown this once; set TRUSTLAB_INSTRUCTOR_PASSWORD to choose another): ${password}`,
        ...(options.signInUrl ? [`Instructors sign in at ${options.signInUrl}`] : []),
      ].join('\n'),
    );
    return new InstructorAuth(options, hash);
  }

  /** The `Set-Cookie` value that hands `token` to the browser. */
  cookieFor(token: string, expiresAt: number): string {
    const maxAge = Math.max(0, Math.round((expiresAt - this.now()) / 1000));
    return this.cookie(`${INSTRUCTOR_COOKIE}=${token}`, maxAge);
  }

  /** The `Set-Cookie` value that removes the cookie. */
  clearingCookie(): string {
    return this.cookie(`${INSTRUCTOR_COOKIE}=`, 0);
  }

  private cookie(pair: string, maxAge: number): string {
    return [
      pair,
      'Path=/',
      `Max-Age=${maxAge}`,
      'HttpOnly',
      'SameSite=Strict',
      ...(this.options.secureCookie ? ['Secure'] : []),
    ].join('; ');
  }

  /**
   * Checks the password (one attempt at a time) and opens a session.
   * Throws WRONG_PASSWORD, or TOO_MANY_ATTEMPTS with the wait.
   */
  signIn(password: string): Promise<{ session: InstructorSession; cookie: string }> {
    if (this.queued >= this.maxQueued)
      return Promise.reject(this.tooMany(this.throttle.waitMs(this.now()) || 1000));
    this.queued++;
    const attempt = this.queue.then(() => this.attempt(password));
    this.queue = attempt.catch(() => undefined).finally(() => this.queued--);
    return attempt;
  }

  private async attempt(password: string): Promise<{ session: InstructorSession; cookie: string }> {
    const wait = this.throttle.waitMs(this.now());
    if (wait > 0) throw this.tooMany(wait);
    if (!(await verifyPassword(password, this.hash))) {
      this.throttle.failed(this.now());
      throw new PlatformError('WRONG_PASSWORD', 'That is not the instructor password.', {
        suggestion:
          'Use the password printed when TrustLab first started, or the one in TRUSTLAB_INSTRUCTOR_PASSWORD.',
      });
    }
    this.throttle.succeeded();
    const token = randomBytes(16).toString('hex');
    const createdAt = this.now();
    const expiresAt = createdAt + INSTRUCTOR_SESSION_MS;
    this.options.store.addInstructorSession(tokenDigest(token), createdAt, expiresAt);
    return {
      session: {
        tokenDigest: tokenDigest(token),
        csrfToken: csrfTokenFor(token),
        expiresAt: new Date(expiresAt).toISOString(),
      },
      cookie: this.cookieFor(token, expiresAt),
    };
  }

  private tooMany(waitMs: number): PlatformError {
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    return new PlatformError(
      'TOO_MANY_ATTEMPTS',
      `Too many wrong passwords: wait ${seconds} second${seconds === 1 ? '' : 's'} before trying again.`,
      {
        suggestion: 'Each further wrong password doubles the wait; a correct one resets it.',
        retryAfterMs: seconds * 1000,
      },
    );
  }

  /** The live session whose token the cookie holds, or undefined. */
  session(token: string | undefined): InstructorSession | undefined {
    if (token === undefined || !TOKEN.test(token)) return undefined;
    const digest = tokenDigest(token);
    const expiresAt = this.options.store.instructorSession(digest, this.now());
    if (expiresAt === undefined) return undefined;
    return {
      tokenDigest: digest,
      csrfToken: csrfTokenFor(token),
      expiresAt: new Date(expiresAt).toISOString(),
    };
  }

  signOut(session: InstructorSession): void {
    this.options.store.removeInstructorSession(session.tokenDigest);
  }
}

function toHash(row: {
  algorithm: string;
  params: string;
  salt: string;
  hash: string;
}): PasswordHash | undefined {
  const params = parseParams(row.params);
  if (row.algorithm !== 'scrypt' || params === undefined) return undefined;
  return { algorithm: 'scrypt', params, salt: row.salt, hash: row.hash };
}
