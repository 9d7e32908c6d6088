/**
 * Docker token auth on the registry: the token endpoint, token checks on
 * every request, and the namespace policy (refusals store nothing).
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImage, sha256, startHub, type HubClient, type Response, type TestHub } from './helpers.js';

const ALICE = { user: 'alice', password: 'alice-password' };
const BOB = { user: 'bob', password: 'bob-password-1' };

let t: TestHub;
let client: HubClient;

function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.json<{ errors: { code: string }[] }>().errors[0]?.code).toBe(code);
}

function accessOf(token: string) {
  return decodeJwt(token).access as { type: string; name: string; actions: string[] }[];
}

beforeAll(async () => {
  // This suite fills library/ itself (official-images.test.ts covers the hub's own images).
  t = await startHub({ officialImages: false });
  client = t.client;
  await t.hub.accounts.createAccount(ALICE.user, ALICE.password);
  await t.hub.accounts.createAccount(BOB.user, BOB.password);
});

afterAll(async () => {
  await t?.close();
});

describe('accounts', () => {
  it('keeps only scrypt hashes and verifies passwords', async () => {
    expect(await t.hub.accounts.verifyPassword('alice', ALICE.password)).toBe(true);
    expect(await t.hub.accounts.verifyPassword('alice', 'wrong-password')).toBe(false);
    expect(await t.hub.accounts.verifyPassword('nobody', ALICE.password)).toBe(false);
    const db = await readFile(path.join(t.dataDir, 'hub', 'hub.db'));
    const wal = await readFile(path.join(t.dataDir, 'hub', 'hub.db-wal')).catch(() => Buffer.alloc(0));
    expect(Buffer.concat([db, wal]).includes(Buffer.from(ALICE.password))).toBe(false);
  });

  it('keeps the token signing key private (0600)', async () => {
    const { stat } = await import('node:fs/promises');
    const info = await stat(path.join(t.dataDir, 'hub', 'token-signing-key.pem'));
    expect(info.mode & 0o777).toBe(0o600);
  });
});

describe('token endpoint', () => {
  it('issues ES256 JWTs with Docker claims, granting the policy intersection', async () => {
    const res = await client.request(
      'GET',
      '/token?service=trustlab-hub&scope=repository:alice/app:pull,push&scope=repository:bob/app:pull,push',
      { basic: ALICE },
    );
    expect(res.status).toBe(200);
    const body = res.json<{ token: string; access_token: string; expires_in: number; issued_at: string }>();
    expect(body.access_token).toBe(body.token);
    expect(body.expires_in).toBe(300);
    expect(Number.isNaN(Date.parse(body.issued_at))).toBe(false);
    expect(decodeProtectedHeader(body.token).alg).toBe('ES256');
    const claims = decodeJwt(body.token);
    expect(claims).toMatchObject({ iss: 'trustlab-hub', aud: 'trustlab-hub', sub: 'alice' });
    expect(claims.jti).toBeTruthy();
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    expect(claims.access).toEqual([
      { type: 'repository', name: 'alice/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'bob/app', actions: ['pull'] },
    ]);
  });

  it('gives anonymous callers pull only, and refuses bad credentials', async () => {
    const anonymous = await client.token([
      'repository:alice/app:pull,push',
      'repository:library/alpine:pull',
    ]);
    expect(decodeJwt(anonymous).sub).toBe('');
    expect(accessOf(anonymous)).toEqual([
      { type: 'repository', name: 'alice/app', actions: ['pull'] },
      { type: 'repository', name: 'library/alpine', actions: ['pull'] },
    ]);
    const refused = await client.request('GET', '/token?service=trustlab-hub', {
      basic: { user: 'alice', password: 'not-her-password' },
    });
    expectError(refused, 401, 'UNAUTHORIZED');
    expect(refused.json<{ errors: { message: string }[] }>().errors[0]?.message).toBe(
      'incorrect username or password',
    );
    expect((await client.request('GET', '/token?service=other')).status).toBe(400);
  });

  it('accepts the OAuth2 password grant on POST', async () => {
    const form = new URLSearchParams({
      grant_type: 'password',
      username: ALICE.user,
      password: ALICE.password,
      service: 'trustlab-hub',
      scope: 'repository:alice/app:pull,push',
      client_id: 'docker',
    });
    const res = await client.request('POST', '/token', {
      body: form.toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(res.status).toBe(200);
    const token = res.json<{ access_token: string }>().access_token;
    expect(accessOf(token)).toEqual([{ type: 'repository', name: 'alice/app', actions: ['pull', 'push'] }]);
    const bad = await client.request('POST', '/token', {
      body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'x' }).toString(),
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    });
    expect(bad.status).toBe(401);
  });
});

describe('challenges and token checks', () => {
  it('challenges a request without a token with the scope it needs', async () => {
    const pull = await client.request('GET', '/v2/alice/app/manifests/latest');
    expectError(pull, 401, 'UNAUTHORIZED');
    expect(pull.header('www-authenticate')).toBe(
      `Bearer realm="${t.hub.url}/token",service="trustlab-hub",scope="repository:alice/app:pull"`,
    );
    const push = await client.request('POST', '/v2/alice/app/blobs/uploads/');
    expect(push.header('www-authenticate')).toContain('scope="repository:alice/app:pull,push"');
    const base = await client.request('GET', '/v2/');
    expectError(base, 401, 'UNAUTHORIZED');
    expect(base.header('www-authenticate')).toBe(`Bearer realm="${t.hub.url}/token",service="trustlab-hub"`);
  });

  it('refuses a token with a bad signature', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = await new SignJWT({
      access: [{ type: 'repository', name: 'alice/app', actions: ['pull', 'push'] }],
    })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('trustlab-hub')
      .setAudience('trustlab-hub')
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const res = await client.pushBlob('alice/app', 'forged', forged);
    expectError(res, 401, 'UNAUTHORIZED');
    expect(res.header('www-authenticate')).toContain('error="invalid_token"');
    const anonymous = await client.token(['repository:alice/app:pull']);
    expect(
      (await client.request('HEAD', `/v2/alice/app/blobs/${sha256('forged')}`, { token: anonymous })).status,
    ).toBe(404);
    // A tampered payload breaks the signature too.
    const real = await client.token(['repository:alice/app:pull'], BOB);
    const [header, , signature] = real.split('.');
    const payload = Buffer.from(
      JSON.stringify({
        ...decodeJwt(real),
        sub: 'alice',
        access: [{ type: 'repository', name: 'alice/app', actions: ['push'] }],
      }),
    ).toString('base64url');
    expectError(
      await client.pushBlob('alice/app', 'forged', `${header}.${payload}.${signature}`),
      401,
      'UNAUTHORIZED',
    );
  });

  it('refuses an expired token and a token for another audience', async () => {
    const key = createPrivateKey(
      await readFile(path.join(t.dataDir, 'hub', 'token-signing-key.pem'), 'utf8'),
    );
    const sign = (audience: string, issuedAt: number, ttl: number) =>
      new SignJWT({ access: [{ type: 'repository', name: 'alice/app', actions: ['pull', 'push'] }] })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer('trustlab-hub')
        .setAudience(audience)
        .setSubject('alice')
        .setIssuedAt(issuedAt)
        .setExpirationTime(issuedAt + ttl)
        .sign(key);
    const now = Math.floor(Date.now() / 1000);
    const expired = await client.pushBlob('alice/app', 'late', await sign('trustlab-hub', now - 3600, 300));
    expectError(expired, 401, 'UNAUTHORIZED');
    expect(expired.header('www-authenticate')).toContain('expired');
    const otherAudience = await client.pushBlob(
      'alice/app',
      'late',
      await sign('some-other-registry', now, 300),
    );
    expectError(otherAudience, 401, 'UNAUTHORIZED');
    // Same key, right claims: accepted, which shows the refusals were for the claims.
    expect((await client.pushBlob('alice/app', 'late', await sign('trustlab-hub', now, 300))).status).toBe(
      201,
    );
  });

  it('asks for a new token when the token covers another scope', async () => {
    const token = await client.token(['repository:alice/one:pull,push'], ALICE);
    const res = await client.pushBlob('alice/two', 'scoped', token);
    expectError(res, 401, 'UNAUTHORIZED');
    expect(res.header('www-authenticate')).toContain('scope="repository:alice/two:pull,push"');
    expect(res.header('www-authenticate')).toContain('error="insufficient_scope"');
    const pullOnly = await client.token(['repository:alice/two:pull'], ALICE);
    expectError(await client.pushBlob('alice/two', 'scoped', pullOnly), 401, 'UNAUTHORIZED');
    const full = await client.token(['repository:alice/two:pull,push'], ALICE);
    expect(
      (await client.request('HEAD', `/v2/alice/two/blobs/${sha256('scoped')}`, { token: full })).status,
    ).toBe(404);
  });
});

describe('namespace policy', () => {
  it('lets anyone pull, even anonymously', async () => {
    const alice = await client.token(['repository:alice/public:pull,push'], ALICE);
    const image = makeImage('public');
    for (const blob of [image.config, ...image.layers]) await client.pushBlob('alice/public', blob, alice);
    expect(
      (await client.pushManifest('alice/public', 'latest', image.manifest, image.mediaType, alice)).status,
    ).toBe(201);
    for (const token of [
      await client.token(['repository:alice/public:pull']),
      await client.token(['repository:alice/public:pull'], BOB),
    ]) {
      const res = await client.request('GET', '/v2/alice/public/manifests/latest', { token });
      expect(res.status).toBe(200);
      expect(res.body.equals(image.manifest)).toBe(true);
    }
  });

  it("refuses a push into someone else's namespace with DENIED and stores nothing", async () => {
    const bob = await client.token(['repository:alice/app:pull,push'], BOB);
    expect(accessOf(bob)).toEqual([{ type: 'repository', name: 'alice/app', actions: ['pull'] }]);
    const image = makeImage('intruder');
    expectError(await client.pushBlob('alice/app', image.config, bob), 403, 'DENIED');
    expectError(await client.request('POST', '/v2/alice/app/blobs/uploads/', { token: bob }), 403, 'DENIED');
    expectError(
      await client.pushManifest('alice/app', 'pwned', image.manifest, image.mediaType, bob),
      403,
      'DENIED',
    );
    const alice = await client.token(['repository:alice/app:pull,delete'], ALICE);
    expect(
      (await client.request('HEAD', `/v2/alice/app/blobs/${sha256(image.config)}`, { token: alice })).status,
    ).toBe(404);
    expect((await client.request('GET', '/v2/alice/app/manifests/pwned', { token: alice })).status).toBe(404);
    // Deleting is the owner's too.
    const bobDelete = await client.token(['repository:alice/public:delete'], BOB);
    expectError(
      await client.request('DELETE', '/v2/alice/public/manifests/latest', { token: bobDelete }),
      403,
      'DENIED',
    );
    // Anonymous pushers are asked to sign in rather than denied.
    const anonymous = await client.token(['repository:alice/app:pull,push']);
    expectError(await client.pushBlob('alice/app', image.config, anonymous), 401, 'UNAUTHORIZED');
    expect(
      t.hub.records.query({ account: 'bob', repository: 'alice/app' }).every((r) => r.status === 403),
    ).toBe(true);
  });

  it('keeps library/ read-only for every account', async () => {
    const alice = await client.token(['repository:library/alpine:pull,push'], ALICE);
    expect(accessOf(alice)).toEqual([{ type: 'repository', name: 'library/alpine', actions: ['pull'] }]);
    const image = makeImage('library');
    expectError(await client.pushBlob('library/alpine', image.config, alice), 403, 'DENIED');
    expectError(
      await client.pushManifest('library/alpine', 'latest', image.manifest, image.mediaType, alice),
      403,
      'DENIED',
    );
    expect(
      (await client.request('GET', '/v2/library/alpine/manifests/latest', { token: alice })).status,
    ).toBe(404);

    // The hub itself fills library/, and everyone can pull it.
    for (const blob of [image.config, ...image.layers]) await t.hub.content.putBlob('library/alpine', blob);
    const digest = t.hub.content.putManifest('library/alpine', 'latest', image.mediaType, image.manifest);
    expect(digest).toBe(image.digest);
    const anonymous = await client.token(['repository:library/alpine:pull']);
    const res = await client.request('GET', '/v2/library/alpine/manifests/latest', { token: anonymous });
    expect(res.status).toBe(200);
    expect(res.header('docker-content-digest')).toBe(image.digest);
  });
});
