import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProgressStore } from '../progress-store.js';
import {
  csrfTokenFor,
  InstructorAuth,
  instructorTokenFrom,
  sameSecret,
  SignInThrottle,
  tokenDigest,
} from './instructor-auth.js';
import { generatedPassword, hashPassword, parseParams, verifyPassword } from './password.js';
import { WorkshopStore } from './store.js';

/** Cheap parameters: these tests are about the logic, not the cost. */
const CHEAP = { N: 2 ** 10, r: 8, p: 1, keyLength: 32 };

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(dir?: string): Promise<{ dir: string; store: WorkshopStore }> {
  const dataDir = dir ?? (await mkdtemp(path.join(tmpdir(), 'trustlab-instructor-')));
  if (dir === undefined) cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const progress = new ProgressStore(dataDir);
  cleanups.push(() => progress.close());
  return { dir: dataDir, store: new WorkshopStore(progress) };
}

function logger() {
  const infos: string[] = [];
  return { infos, info: (m: string) => infos.push(m), warn: () => undefined, error: () => undefined };
}

describe('the password at rest', () => {
  it('is a salted scrypt hash that verifies the password and nothing else', async () => {
    const hash = await hashPassword('correct horse', CHEAP);
    expect(hash).toMatchObject({ algorithm: 'scrypt', params: CHEAP });
    expect(hash.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horse ', hash)).toBe(false);
    expect((await hashPassword('correct horse', CHEAP)).hash).not.toBe(hash.hash);
  });

  it('refuses stored parameters that would make scrypt run away', () => {
    expect(parseParams(JSON.stringify(CHEAP))).toEqual(CHEAP);
    expect(parseParams(JSON.stringify({ ...CHEAP, N: 2 ** 30 }))).toBeUndefined();
    expect(parseParams(JSON.stringify({ ...CHEAP, N: 1000 }))).toBeUndefined();
    expect(parseParams('not json')).toBeUndefined();
  });

  it('is generated readable and long', () => {
    expect(generatedPassword()).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){4}$/);
    expect(generatedPassword()).not.toBe(generatedPassword());
  });
});

describe('secrets in cookies and headers', () => {
  it('derives a CSRF token of its own from the session token, and compares in constant time', () => {
    const token = 'a'.repeat(32);
    expect(csrfTokenFor(token)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(csrfTokenFor(token)).not.toBe(csrfTokenFor('b'.repeat(32)));
    expect(csrfTokenFor(token)).not.toBe(Buffer.from(tokenDigest(token), 'hex').toString('base64url'));
    expect(sameSecret(csrfTokenFor(token), csrfTokenFor(token))).toBe(true);
    expect(sameSecret('', csrfTokenFor(token))).toBe(false);
    expect(sameSecret(`${csrfTokenFor(token)}x`, csrfTokenFor(token))).toBe(false);
  });

  it('reads only a well-formed instructor cookie', () => {
    const token = '0123456789abcdef0123456789abcdef';
    expect(instructorTokenFrom(`a=b; trustlab_instructor=${token}`)).toBe(token);
    expect(instructorTokenFrom(`trustlab_learner=${token}`)).toBeUndefined();
    expect(instructorTokenFrom('trustlab_instructor=short')).toBeUndefined();
    expect(instructorTokenFrom(null)).toBeUndefined();
  });
});

describe('the sign-in throttle', () => {
  const options = {
    freeAttempts: 3,
    baseDelayMs: 1000,
    maxDelayMs: 8000,
    forgetAfterMs: 60_000,
    maxQueued: 2,
  };

  it('lets the first failures pass, then doubles the wait up to a ceiling', () => {
    const throttle = new SignInThrottle(options);
    throttle.failed(0);
    throttle.failed(0);
    expect(throttle.waitMs(0)).toBe(0);
    throttle.failed(0);
    expect(throttle.waitMs(0)).toBe(1000);
    throttle.failed(1000);
    expect(throttle.waitMs(1000)).toBe(2000);
    throttle.failed(3000);
    throttle.failed(7000);
    throttle.failed(15_000);
    expect(throttle.waitMs(15_000)).toBe(8000);
    throttle.succeeded();
    expect(throttle.waitMs(15_000)).toBe(0);
  });

  it('forgets failures after a quiet spell', () => {
    const throttle = new SignInThrottle(options);
    for (let i = 0; i < 3; i++) throttle.failed(0);
    expect(throttle.waitMs(500)).toBe(500);
    throttle.failed(100_000);
    expect(throttle.waitMs(100_000)).toBe(0);
  });
});

describe('instructor sign-in', () => {
  it('generates a password once, prints it once, and keeps it across opens', async () => {
    const { dir, store } = await openStore();
    const first = logger();
    const auth = await InstructorAuth.open({
      store,
      logger: first,
      secureCookie: false,
      password: undefined,
      scrypt: CHEAP,
    });
    expect(first.infos).toHaveLength(1);
    const password = /: (\S+)$/m.exec(first.infos[0]!)![1]!;
    const { session, cookie } = await auth.signIn(password);
    expect(cookie).toMatch(
      /^trustlab_instructor=[0-9a-f]{32}; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/,
    );

    const again = logger();
    const reopened = await InstructorAuth.open({
      store: (await openStore(dir)).store,
      logger: again,
      secureCookie: true,
      password: undefined,
      scrypt: CHEAP,
    });
    expect(again.infos).toEqual([]);
    const token = cookie.split(';')[0]!.split('=')[1]!;
    expect(reopened.session(token)).toEqual(session);
    expect((await reopened.signIn(password)).cookie).toMatch(/; Secure$/);
  });

  it('takes TRUSTLAB_INSTRUCTOR_PASSWORD, and ends every session when it changes', async () => {
    const { store } = await openStore();
    const open = (password: string) =>
      InstructorAuth.open({ store, logger: logger(), secureCookie: false, password, scrypt: CHEAP });
    const auth = await open('the first password');
    await expect(auth.signIn('wrong')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    const { cookie } = await auth.signIn('the first password');
    const token = cookie.split(';')[0]!.split('=')[1]!;
    const salt = store.passwordHash()!.salt;

    // The same password on the next start: nothing changes.
    const same = await open('the first password');
    expect(store.passwordHash()!.salt).toBe(salt);
    expect(same.session(token)).toBeDefined();

    const changed = await open('the second password');
    expect(store.passwordHash()!.fromEnv).toBe(true);
    expect(changed.session(token)).toBeUndefined();
    await expect(changed.signIn('the first password')).rejects.toMatchObject({ code: 'WRONG_PASSWORD' });
    expect((await changed.signIn('the second password')).session.csrfToken).toBeTruthy();
  });

  it('expires sessions, signs out, and refuses a flood of attempts at once', async () => {
    const { store } = await openStore();
    let now = 1_000_000;
    const auth = await InstructorAuth.open({
      store,
      logger: logger(),
      secureCookie: false,
      password: 'a long enough password',
      scrypt: CHEAP,
      throttle: { freeAttempts: 1, maxQueued: 2 },
      now: () => now,
    });
    const { session, cookie } = await auth.signIn('a long enough password');
    const token = cookie.split(';')[0]!.split('=')[1]!;
    expect(auth.session(token)).toEqual(session);
    now += 12 * 60 * 60 * 1000;
    expect(auth.session(token)).toBeUndefined();

    const second = await auth.signIn('a long enough password');
    const other = second.cookie.split(';')[0]!.split('=')[1]!;
    auth.signOut(second.session);
    expect(auth.session(other)).toBeUndefined();

    const attempts = Array.from({ length: 5 }, (_, i) =>
      auth.signIn(`wrong ${i}`).catch((error: unknown) => error),
    );
    const codes = (await Promise.all(attempts)).map((error) => (error as { code: string }).code);
    expect(codes.filter((code) => code === 'TOO_MANY_ATTEMPTS').length).toBeGreaterThanOrEqual(3);
    expect(codes[0]).toBe('WRONG_PASSWORD');
  });
});
