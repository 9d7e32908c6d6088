/**
 * Learners: who is behind a browser, and their account on the hub.
 *
 * A learner is created the first time a browser without a (known) cookie
 * needs one. The cookie holds a random 128-bit token, HttpOnly and
 * SameSite=Lax; the store keeps only its digest. Three names, three jobs:
 *
 * - the token (cookie): the credential, never shown, never logged;
 * - the id (16 hex digits): public and stable, the terminal's attendee and
 *   home key, what logs and the instructor's views name;
 * - the username (`learner-3fa9`): their hub account, derived from the id
 *   and made longer only when a shorter one is taken, with a random
 *   password that is theirs and shown on their page.
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Hub } from '../hub/src/index.js';
import type { Learner } from './api.js';
import { LEARNER_COOKIE } from './api.js';
import { PlatformError } from './errors.js';
import type { ProgressStore } from './progress-store.js';

const TOKEN = /^[0-9a-f]{32}$/;
/** A year: a self-paced learner comes back to the same progress. */
const COOKIE_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;
/** No 0/o, 1/l/i: the password is read off the page and typed into a terminal. */
const PASSWORD_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Three groups of five: about 74 bits, and easy to type. */
export function readablePassword(): string {
  const group = () =>
    Array.from({ length: 5 }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');
  return `${group()}-${group()}-${group()}`;
}

/** The value of a `Cookie` header's learner cookie, if it has a well-formed one. */
export function learnerTokenFrom(cookieHeader: string | null | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== LEARNER_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (TOKEN.test(value)) return value;
  }
  return undefined;
}

export interface LearnersOptions {
  store: ProgressStore;
  accounts: Hub['accounts'];
  /** Adds `Secure` to the cookie (the app is served over https). */
  secureCookie: boolean;
  now?: () => number;
}

export class Learners {
  /** Learners whose hub account was checked in this process. */
  private readonly verified = new Set<string>();

  constructor(private readonly options: LearnersOptions) {}

  /** The `Set-Cookie` value that hands `token` to the browser. */
  cookieFor(token: string): string {
    return [
      `${LEARNER_COOKIE}=${token}`,
      'Path=/',
      `Max-Age=${COOKIE_MAX_AGE_SECONDS}`,
      'HttpOnly',
      'SameSite=Lax',
      ...(this.options.secureCookie ? ['Secure'] : []),
    ].join('; ');
  }

  /** The learner holding `token`, or undefined (nothing is created). */
  async find(token: string | undefined): Promise<Learner | undefined> {
    if (token === undefined || !TOKEN.test(token)) return undefined;
    const row = this.options.store.learnerByToken(tokenDigest(token));
    if (row === undefined) return undefined;
    await this.ensureAccount(row);
    return { id: row.id, username: row.username, password: row.password };
  }

  byId(id: string): Learner | undefined {
    const row = this.options.store.learner(id);
    return row && { id: row.id, username: row.username, password: row.password };
  }

  /** A new learner with their hub account; `token` goes in their cookie. */
  async create(): Promise<{ learner: Learner; token: string }> {
    const { store } = this.options;
    const token = randomBytes(16).toString('hex');
    const id = randomBytes(8).toString('hex');
    const username = this.usernameFor(id);
    const password = readablePassword();
    store.addLearner({
      id,
      tokenDigest: tokenDigest(token),
      username,
      password,
      createdAt: (this.options.now ?? Date.now)(),
    });
    try {
      await this.ensureAccount({ id, username, password });
    } catch (error) {
      store.removeLearner(id);
      throw error;
    }
    return { learner: { id, username, password }, token };
  }

  /** `learner-` and the id's first hex digits: four, or more when taken here or on the hub. */
  private usernameFor(id: string): string {
    for (let length = 4; length <= id.length; length += 2) {
      const candidate = `learner-${id.slice(0, length)}`;
      if (!this.options.store.usernameTaken(candidate) && !this.options.accounts.exists(candidate))
        return candidate;
    }
    throw new PlatformError('ACCOUNT_FAILED', 'no free hub username for a new learner');
  }

  /**
   * The hub account exists with the stored password. Repairs what a crash
   * between the two writes, or a hub data directory reset, left behind.
   */
  private async ensureAccount(learner: { id: string; username: string; password: string }): Promise<void> {
    if (this.verified.has(learner.id)) return;
    const { accounts } = this.options;
    try {
      if (!accounts.exists(learner.username)) {
        await accounts.createAccount(learner.username, learner.password);
      } else if (!(await accounts.verifyPassword(learner.username, learner.password))) {
        await accounts.setPassword(learner.username, learner.password);
      }
    } catch (cause) {
      throw new PlatformError('ACCOUNT_FAILED', `cannot create the hub account ${learner.username}`, {
        cause,
      });
    }
    this.verified.add(learner.id);
  }
}
