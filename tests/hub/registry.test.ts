/**
 * Registry workflows of the OCI distribution spec against a real hub over
 * HTTPS: pull, push (monolithic and chunked), mount, content discovery,
 * content management, and the error paths, each checked to store nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../hub/src/index.js';
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  OCI_INDEX,
  OCI_MANIFEST,
  makeImage,
  sha256,
  startHub,
  type HubClient,
  type Response,
  type TestHub,
} from './helpers.js';

const ALICE = { user: 'alice', password: 'alice-password' };
const MAX_BLOB = 256 * 1024;

let t: TestHub;
let client: HubClient;
/** alice's push+pull token for the repositories used below. */
let alice: string;

function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  if (res.body.length > 0) {
    expect(res.json<{ errors: { code: string }[] }>().errors[0]?.code).toBe(code);
  }
}

async function pushImage(repository: string, tag: string, image = makeImage(`${repository}:${tag}`)) {
  for (const blob of [image.config, ...image.layers]) {
    expect((await client.pushBlob(repository, blob, alice)).status).toBe(201);
  }
  const res = await client.pushManifest(repository, tag, image.manifest, image.mediaType, alice);
  expect(res.status).toBe(201);
  return image;
}

const REPOS = [
  'alice/app',
  'alice/other',
  'alice/chunked',
  'alice/tags',
  'alice/errors',
  'alice/index',
  'alice/del',
];

beforeAll(async () => {
  t = await startHub({
    // This suite fills library/ itself (official-images.test.ts covers the hub's own images).
    officialImages: false,
    maxBlobBytes: MAX_BLOB,
    sessionResolver: (req) => (req.headers['x-test-session'] as string | undefined) ?? undefined,
  });
  client = t.client;
  await t.hub.accounts.createAccount(ALICE.user, ALICE.password);
  alice = await client.token(
    [...REPOS.map((repo) => `repository:${repo}:pull,push,delete`), 'registry:catalog:*'],
    ALICE,
  );
});

afterAll(async () => {
  await t?.close();
});

describe('base endpoint', () => {
  it('answers 200 {} with the API version header to an authenticated client', async () => {
    const res = await client.request('GET', '/v2/', { token: alice });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({});
    expect(res.header('docker-distribution-api-version')).toBe('registry/2.0');
  });
});

describe('push and pull', () => {
  it('pushes monolithically and pulls by tag and by digest, bytes unchanged', async () => {
    const image = await pushImage('alice/app', 'v1');
    const byTag = await client.request('GET', '/v2/alice/app/manifests/v1', {
      token: alice,
      headers: { Accept: `${DOCKER_MANIFEST}, ${OCI_MANIFEST}` },
    });
    expect(byTag.status).toBe(200);
    expect(byTag.header('content-type')).toBe(DOCKER_MANIFEST);
    expect(byTag.header('docker-content-digest')).toBe(image.digest);
    expect(byTag.body.equals(image.manifest)).toBe(true);

    const byDigest = await client.request('GET', `/v2/alice/app/manifests/${image.digest}`, { token: alice });
    expect(byDigest.body.equals(image.manifest)).toBe(true);
    const head = await client.request('HEAD', '/v2/alice/app/manifests/v1', { token: alice });
    expect(head.status).toBe(200);
    expect(head.header('content-length')).toBe(String(image.manifest.length));
    expect(head.body.length).toBe(0);

    const layer = image.layers[1] as Buffer;
    const blob = await client.request('GET', `/v2/alice/app/blobs/${sha256(layer)}`, { token: alice });
    expect(blob.status).toBe(200);
    expect(blob.body.equals(layer)).toBe(true);
    expect(blob.header('docker-content-digest')).toBe(sha256(layer));
    expect(blob.header('content-length')).toBe(String(layer.length));
    const blobHead = await client.request('HEAD', `/v2/alice/app/blobs/${sha256(layer)}`, { token: alice });
    expect(blobHead.status).toBe(200);
    expect(blobHead.header('content-length')).toBe(String(layer.length));
  });

  it('serves byte ranges (206) and refuses unsatisfiable ones (416)', async () => {
    const bytes = Buffer.from('0123456789abcdef');
    expect((await client.pushBlob('alice/app', bytes, alice)).status).toBe(201);
    const partial = await client.request('GET', `/v2/alice/app/blobs/${sha256(bytes)}`, {
      token: alice,
      headers: { Range: 'bytes=2-5' },
    });
    expect(partial.status).toBe(206);
    expect(partial.body.toString()).toBe('2345');
    expect(partial.header('content-range')).toBe(`bytes 2-5/${bytes.length}`);
    const suffix = await client.request('GET', `/v2/alice/app/blobs/${sha256(bytes)}`, {
      token: alice,
      headers: { Range: 'bytes=-3' },
    });
    expect(suffix.body.toString()).toBe('def');
    const beyond = await client.request('GET', `/v2/alice/app/blobs/${sha256(bytes)}`, {
      token: alice,
      headers: { Range: 'bytes=100-200' },
    });
    expectError(beyond, 416, 'RANGE_INVALID');
    expect(beyond.header('content-range')).toBe(`bytes */${bytes.length}`);
  });

  it('reports unknown blobs and manifests with the spec codes', async () => {
    expectError(
      await client.request('GET', `/v2/alice/app/blobs/${sha256('nope')}`, { token: alice }),
      404,
      'BLOB_UNKNOWN',
    );
    expectError(
      await client.request('GET', '/v2/alice/app/manifests/nope', { token: alice }),
      404,
      'MANIFEST_UNKNOWN',
    );
    expectError(
      await client.request('GET', '/v2/alice/app/blobs/md5:abc', { token: alice }),
      400,
      'DIGEST_INVALID',
    );
  });

  it('pushes in chunks with Content-Range checks and resumable status', async () => {
    const bytes = Buffer.from('chunked-upload-'.repeat(500));
    const start = await client.request('POST', '/v2/alice/chunked/blobs/uploads/', { token: alice });
    expect(start.status).toBe(202);
    const location = start.header('location') as string;
    expect(location).toMatch(/^\/v2\/alice\/chunked\/blobs\/uploads\/[0-9a-f-]{36}$/);
    expect(start.header('range')).toBe('0-0');
    expect(location.endsWith(start.header('docker-upload-uuid') as string)).toBe(true);

    const first = bytes.subarray(0, 3000);
    const patch = await client.request('PATCH', location, {
      token: alice,
      body: first,
      headers: { 'Content-Range': `0-${first.length - 1}`, 'Content-Type': 'application/octet-stream' },
    });
    expect(patch.status).toBe(202);
    expect(patch.header('range')).toBe('0-2999');

    const outOfOrder = await client.request('PATCH', location, {
      token: alice,
      body: bytes.subarray(4000, 5000),
      headers: { 'Content-Range': '4000-4999' },
    });
    expectError(outOfOrder, 416, 'RANGE_INVALID');
    expect(outOfOrder.header('range')).toBe('0-2999');

    const wrongLength = await client.request('PATCH', location, {
      token: alice,
      body: bytes.subarray(3000, 3010),
      headers: { 'Content-Range': '3000-3999' },
    });
    expectError(wrongLength, 400, 'BLOB_UPLOAD_INVALID');

    const status = await client.request('GET', location, { token: alice });
    expect(status.status).toBe(204);
    expect(status.header('range')).toBe('0-2999');

    const second = bytes.subarray(3000, 6000);
    expect(
      (
        await client.request('PATCH', location, {
          token: alice,
          body: second,
          headers: { 'Content-Range': `3000-${3000 + second.length - 1}` },
        })
      ).header('range'),
    ).toBe('0-5999');
    // The final chunk rides on the PUT, as the spec allows.
    const done = await client.request('PUT', `${location}?digest=${sha256(bytes)}`, {
      token: alice,
      body: bytes.subarray(6000),
    });
    expect(done.status).toBe(201);
    expect(done.header('location')).toBe(`/v2/alice/chunked/blobs/${sha256(bytes)}`);
    expect(done.header('docker-content-digest')).toBe(sha256(bytes));
    const blob = await client.request('GET', `/v2/alice/chunked/blobs/${sha256(bytes)}`, { token: alice });
    expect(blob.body.equals(bytes)).toBe(true);
    // The session is gone once completed.
    expectError(await client.request('GET', location, { token: alice }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('cancels an upload and refuses a session of another repository', async () => {
    const start = await client.request('POST', '/v2/alice/chunked/blobs/uploads/', { token: alice });
    const location = start.header('location') as string;
    const uuid = start.header('docker-upload-uuid') as string;
    expectError(
      await client.request('GET', `/v2/alice/other/blobs/uploads/${uuid}`, { token: alice }),
      404,
      'BLOB_UPLOAD_UNKNOWN',
    );
    expect((await client.request('DELETE', location, { token: alice })).status).toBe(204);
    expectError(await client.request('GET', location, { token: alice }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('mounts a blob from another repository the caller can pull, else opens a session', async () => {
    const bytes = Buffer.from('mount me');
    await client.pushBlob('alice/app', bytes, alice);
    const mounted = await client.request(
      'POST',
      `/v2/alice/other/blobs/uploads/?mount=${sha256(bytes)}&from=alice/app`,
      { token: alice },
    );
    expect(mounted.status).toBe(201);
    expect(mounted.header('docker-content-digest')).toBe(sha256(bytes));
    expect(
      (await client.request('HEAD', `/v2/alice/other/blobs/${sha256(bytes)}`, { token: alice })).status,
    ).toBe(200);
    const fallback = await client.request(
      'POST',
      `/v2/alice/other/blobs/uploads/?mount=${sha256('absent')}&from=alice/app`,
      { token: alice },
    );
    expect(fallback.status).toBe(202);
    expect(fallback.header('docker-upload-uuid')).toBeTruthy();
    // A token without pull on `from` cannot mount, even if the blob exists there.
    const narrow = await client.token(['repository:alice/del:pull,push'], ALICE);
    const denied = await client.request(
      'POST',
      `/v2/alice/del/blobs/uploads/?mount=${sha256(bytes)}&from=alice/app`,
      { token: narrow },
    );
    expect(denied.status).toBe(202);
    expect(
      (await client.request('HEAD', `/v2/alice/del/blobs/${sha256(bytes)}`, { token: alice })).status,
    ).toBe(404);
  });

  it('stores an OCI manifest and an OCI index and serves their media types', async () => {
    const amd = await pushImage('alice/index', 'amd64', makeImage('index-amd64', OCI_MANIFEST));
    const arm = await pushImage('alice/index', 'arm64', makeImage('index-arm64', OCI_MANIFEST));
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [amd, arm].map((image, i) => ({
          mediaType: OCI_MANIFEST,
          digest: image.digest,
          size: image.manifest.length,
          platform: { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
        })),
      }),
    );
    expect((await client.pushManifest('alice/index', 'latest', index, OCI_INDEX, alice)).status).toBe(201);
    const res = await client.request('GET', '/v2/alice/index/manifests/latest', { token: alice });
    expect(res.header('content-type')).toBe(OCI_INDEX);
    expect(res.body.equals(index)).toBe(true);
    // An OCI manifest without a mediaType field takes it from Content-Type.
    const bare = JSON.parse(amd.manifest.toString()) as Record<string, unknown>;
    delete bare.mediaType;
    const bareBytes = Buffer.from(JSON.stringify(bare));
    expect((await client.pushManifest('alice/index', 'bare', bareBytes, OCI_MANIFEST, alice)).status).toBe(
      201,
    );
    expect(
      (await client.request('GET', '/v2/alice/index/manifests/bare', { token: alice })).header(
        'content-type',
      ),
    ).toBe(OCI_MANIFEST);
  });
});

describe('content discovery', () => {
  it('lists tags in order with n/last pagination and a Link header', async () => {
    const image = await pushImage('alice/tags', 'a');
    for (const tag of ['e', 'b', 'd', 'c']) {
      expect(
        (await client.pushManifest('alice/tags', tag, image.manifest, image.mediaType, alice)).status,
      ).toBe(201);
    }
    const all = await client.request('GET', '/v2/alice/tags/tags/list', { token: alice });
    expect(all.json()).toEqual({ name: 'alice/tags', tags: ['a', 'b', 'c', 'd', 'e'] });
    expect(all.header('link')).toBeUndefined();

    const page1 = await client.request('GET', '/v2/alice/tags/tags/list?n=2', { token: alice });
    expect(page1.json()).toEqual({ name: 'alice/tags', tags: ['a', 'b'] });
    expect(page1.header('link')).toBe('</v2/alice/tags/tags/list?n=2&last=b>; rel="next"');
    const page2 = await client.request('GET', '/v2/alice/tags/tags/list?n=2&last=b', { token: alice });
    expect(page2.json()).toEqual({ name: 'alice/tags', tags: ['c', 'd'] });
    const page3 = await client.request('GET', '/v2/alice/tags/tags/list?n=2&last=d', { token: alice });
    expect(page3.json()).toEqual({ name: 'alice/tags', tags: ['e'] });
    expect(page3.header('link')).toBeUndefined();

    expectError(
      await client.request('GET', '/v2/alice/nothing/tags/list', { token: alice }),
      401,
      'UNAUTHORIZED',
    );
    const anonymous = await client.token(['repository:alice/nothing:pull']);
    expectError(
      await client.request('GET', '/v2/alice/nothing/tags/list', { token: anonymous }),
      404,
      'NAME_UNKNOWN',
    );
  });

  it('lists the catalog, paginated, for signed-in accounts only', async () => {
    const page = await client.request('GET', '/v2/_catalog?n=2', { token: alice });
    expect(page.status).toBe(200);
    const repositories = page.json<{ repositories: string[] }>().repositories;
    expect(repositories).toHaveLength(2);
    expect(page.header('link')).toBe(
      `</v2/_catalog?n=2&last=${encodeURIComponent(repositories[1] as string)}>; rel="next"`,
    );
    const all = await client.request('GET', '/v2/_catalog', { token: alice });
    expect(all.json<{ repositories: string[] }>().repositories).toEqual(
      expect.arrayContaining(['alice/app', 'alice/chunked', 'alice/tags']),
    );
    const anonymous = await client.token(['registry:catalog:*']);
    const refused = await client.request('GET', '/v2/_catalog', { token: anonymous });
    expectError(refused, 401, 'UNAUTHORIZED');
    expect(refused.header('www-authenticate')).toContain('scope="registry:catalog:*"');
  });
});

describe('content management', () => {
  it('deletes a tag, then the manifest by digest (and its other tags)', async () => {
    const image = await pushImage('alice/del', 'one');
    await client.pushManifest('alice/del', 'two', image.manifest, image.mediaType, alice);
    expect((await client.request('DELETE', '/v2/alice/del/manifests/one', { token: alice })).status).toBe(
      202,
    );
    expectError(
      await client.request('GET', '/v2/alice/del/manifests/one', { token: alice }),
      404,
      'MANIFEST_UNKNOWN',
    );
    expect(
      (await client.request('GET', `/v2/alice/del/manifests/${image.digest}`, { token: alice })).status,
    ).toBe(200);
    expect(
      (await client.request('DELETE', `/v2/alice/del/manifests/${image.digest}`, { token: alice })).status,
    ).toBe(202);
    expectError(
      await client.request('GET', '/v2/alice/del/manifests/two', { token: alice }),
      404,
      'MANIFEST_UNKNOWN',
    );
    expect((await client.request('GET', '/v2/alice/del/tags/list', { token: alice })).json()).toEqual({
      name: 'alice/del',
      tags: [],
    });
    expectError(
      await client.request('DELETE', `/v2/alice/del/manifests/${image.digest}`, { token: alice }),
      404,
      'MANIFEST_UNKNOWN',
    );
  });

  it('deletes a blob link', async () => {
    const bytes = Buffer.from('to be deleted');
    await client.pushBlob('alice/del', bytes, alice);
    expect(
      (await client.request('DELETE', `/v2/alice/del/blobs/${sha256(bytes)}`, { token: alice })).status,
    ).toBe(202);
    expectError(
      await client.request('HEAD', `/v2/alice/del/blobs/${sha256(bytes)}`, { token: alice }),
      404,
      'BLOB_UNKNOWN',
    );
  });
});

describe('refusals store nothing', () => {
  const absentManifest = async (repository: string, reference: string) => {
    const res = await client.request('GET', `/v2/${repository}/manifests/${reference}`, { token: alice });
    expectError(res, 404, 'MANIFEST_UNKNOWN');
  };
  const absentBlob = async (repository: string, digest: string) => {
    expect((await client.request('HEAD', `/v2/${repository}/blobs/${digest}`, { token: alice })).status).toBe(
      404,
    );
  };

  it('refuses a manifest whose digest does not match the URL', async () => {
    const image = makeImage('mismatch');
    for (const blob of [image.config, ...image.layers]) await client.pushBlob('alice/errors', blob, alice);
    const wrong = sha256('something else');
    const res = await client.pushManifest('alice/errors', wrong, image.manifest, image.mediaType, alice);
    expectError(res, 400, 'DIGEST_INVALID');
    await absentManifest('alice/errors', wrong);
    await absentManifest('alice/errors', image.digest);
  });

  it('refuses a blob whose content does not match its digest', async () => {
    const claimed = sha256('the real content');
    const res = await client.pushBlob('alice/errors', 'forged content', alice, claimed);
    expectError(res, 400, 'DIGEST_INVALID');
    await absentBlob('alice/errors', claimed);
    await absentBlob('alice/errors', sha256('forged content'));

    const start = await client.request('POST', '/v2/alice/errors/blobs/uploads/', { token: alice });
    const location = start.header('location') as string;
    await client.request('PATCH', location, { token: alice, body: 'forged content' });
    expectError(
      await client.request('PUT', `${location}?digest=${claimed}`, { token: alice }),
      400,
      'DIGEST_INVALID',
    );
    await absentBlob('alice/errors', claimed);
    // As in docker's registry, a failed completion ends the session.
    expectError(await client.request('GET', location, { token: alice }), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('refuses a manifest whose descriptor has the wrong blob length', async () => {
    const image = makeImage('wrong-length');
    for (const blob of [image.config, ...image.layers]) await client.pushBlob('alice/errors', blob, alice);
    const manifest = JSON.parse(image.manifest.toString()) as { layers: { size: number }[] };
    (manifest.layers[0] as { size: number }).size += 1;
    const res = await client.pushManifest(
      'alice/errors',
      'wrong-length',
      JSON.stringify(manifest),
      DOCKER_MANIFEST,
      alice,
    );
    expectError(res, 400, 'MANIFEST_INVALID');
    await absentManifest('alice/errors', 'wrong-length');
  });

  it('refuses a manifest referencing blobs the repository does not have', async () => {
    const image = makeImage('missing-blobs');
    await client.pushBlob('alice/errors', image.config, alice);
    const res = await client.pushManifest('alice/errors', 'missing', image.manifest, image.mediaType, alice);
    expectError(res, 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(res.json<{ errors: { detail: { blobs: string[] } }[] }>().errors[0]?.detail.blobs).toEqual(
      image.layers.map((layer) => sha256(layer)),
    );
    await absentManifest('alice/errors', 'missing');
    await absentManifest('alice/errors', image.digest);
    // Blobs in another repository do not count (they must be mounted first).
    const elsewhere = await pushImage('alice/app', 'elsewhere', makeImage('elsewhere'));
    const res2 = await client.pushManifest(
      'alice/errors',
      'elsewhere',
      elsewhere.manifest,
      DOCKER_MANIFEST,
      alice,
    );
    expectError(res2, 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('refuses an index whose child manifests are unknown', async () => {
    const list = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_LIST,
        manifests: [{ mediaType: DOCKER_MANIFEST, digest: sha256('no such manifest'), size: 10 }],
      }),
    );
    expectError(
      await client.pushManifest('alice/errors', 'list', list, DOCKER_LIST, alice),
      400,
      'MANIFEST_BLOB_UNKNOWN',
    );
    await absentManifest('alice/errors', 'list');
  });

  it('refuses malformed manifests and unsupported media types', async () => {
    expectError(
      await client.pushManifest('alice/errors', 'bad', '{not json', DOCKER_MANIFEST, alice),
      400,
      'MANIFEST_INVALID',
    );
    expectError(
      await client.pushManifest(
        'alice/errors',
        'bad',
        JSON.stringify({ schemaVersion: 1 }),
        'application/json',
        alice,
      ),
      400,
      'MANIFEST_INVALID',
    );
    const image = makeImage('type-mismatch');
    expectError(
      await client.pushManifest('alice/errors', 'bad', image.manifest, OCI_MANIFEST, alice),
      400,
      'MANIFEST_INVALID',
    );
    expectError(
      await client.pushManifest('alice/errors', '-bad-tag', image.manifest, DOCKER_MANIFEST, alice),
      400,
      'MANIFEST_INVALID',
    );
    await absentManifest('alice/errors', 'bad');
  });

  it('refuses ../ and uppercase repository names with NAME_INVALID', async () => {
    const image = makeImage('names');
    for (const name of ['alice/../bob', '..%2Falice', 'Alice/app', 'alice/App', 'alice//app']) {
      expectError(
        await client.pushManifest(name, 'latest', image.manifest, DOCKER_MANIFEST, alice),
        400,
        'NAME_INVALID',
      );
      expectError(await client.pushBlob(name, 'x', alice), 400, 'NAME_INVALID');
      expectError(await client.request('GET', `/v2/${name}/tags/list`), 400, 'NAME_INVALID');
    }
    const catalog = await client.request('GET', '/v2/_catalog', { token: alice });
    for (const repository of catalog.json<{ repositories: string[] }>().repositories) {
      expect(repository).toMatch(/^[a-z0-9/._-]+$/);
      expect(repository).not.toContain('..');
    }
  });

  it('refuses oversized manifests and blobs with SIZE_INVALID (413)', async () => {
    const huge = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const res = await client.pushManifest('alice/errors', 'huge', huge, DOCKER_MANIFEST, alice);
    expectError(res, 413, 'SIZE_INVALID');
    await absentManifest('alice/errors', 'huge');

    const big = Buffer.alloc(MAX_BLOB + 1, 1);
    expectError(await client.pushBlob('alice/errors', big, alice), 413, 'SIZE_INVALID');
    await absentBlob('alice/errors', sha256(big));

    // Chunked: the limit is on the whole blob, not on each chunk.
    const start = await client.request('POST', '/v2/alice/errors/blobs/uploads/', { token: alice });
    const location = start.header('location') as string;
    const half = Buffer.alloc(MAX_BLOB / 2 + 1, 2);
    expect((await client.request('PATCH', location, { token: alice, body: half })).status).toBe(202);
    expectError(await client.request('PATCH', location, { token: alice, body: half }), 413, 'SIZE_INVALID');
    expect((await client.request('GET', location, { token: alice })).header('range')).toBe(
      `0-${half.length - 1}`,
    );
  });
});

describe('request records', () => {
  it('records every request with account, repository, reference and digest, and emits them live', async () => {
    const seen: RequestRecord[] = [];
    const listener = (record: RequestRecord) => seen.push(record);
    t.hub.records.on('record', listener);
    const image = await pushImage('alice/app', 'recorded');
    const res = await client.request('GET', '/v2/alice/app/manifests/recorded', {
      token: alice,
      headers: { 'X-Test-Session': 'lab-42' },
    });
    expect(res.status).toBe(200);
    t.hub.records.off('record', listener);

    const get = seen.find((record) => record.method === 'GET' && record.reference === 'recorded');
    expect(get).toMatchObject({
      session: 'lab-42',
      account: 'alice',
      path: '/v2/alice/app/manifests/recorded',
      status: 200,
      repository: 'alice/app',
      digest: image.digest,
    });
    const bySession = t.hub.records.query({ session: 'lab-42' });
    expect(bySession).toHaveLength(1);
    const puts = t.hub.records
      .query({ account: 'alice', repository: 'alice/app', limit: 1000 })
      .filter((record) => record.method === 'PUT');
    expect(puts.map((record) => record.reference)).toContain('recorded');
    expect(t.hub.records.query({ since: Date.now() + 60_000 })).toEqual([]);
    expect(t.hub.records.query({ limit: 3 })).toHaveLength(3);
    // Failures are recorded too.
    expect(t.hub.records.query({ limit: 10_000 }).some((record) => record.status === 413)).toBe(true);
  });
});
