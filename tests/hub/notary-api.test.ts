/**
 * The hub's Notary server API: byte-level behaviour against real
 * notary-server responses (tests/vectors/notary/http/), then the real notary
 * CLI and the real docker CLI (no daemon) against the hub with accounts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, PrivateKey, Targets } from '../../trust-core/src/index.js';
import type { RunResult } from '../support/index.js';
import { makeTempDir, removeTempDir, requireBinariesForSuite, runDocker } from '../support/index.js';
import { makeImage, startHub, type TestHub } from './helpers.js';
import { expectOk, hubNotary, sha256Hex, signWithTrustCore, type Credentials } from './trust-helpers.js';

const VECTORS = path.resolve(import.meta.dirname, '../vectors/notary/http');
const ALICE: Credentials = { user: 'alice', password: 'alice-password' };
const BOB: Credentials = { user: 'bob', password: 'bob-password' };

const available = requireBinariesForSuite(['notary', 'docker', 'openssl']);

/** Status line, headers and body of a captured notary-server response. */
async function vector(name: string) {
  const text = await readFile(path.join(VECTORS, name), 'latin1');
  const split = text.indexOf('\r\n\r\n');
  const head = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(head[0]?.split(' ')[1]), headers, body: text.slice(split + 4) };
}

let t: TestHub;
let work: string;
/** `https://localhost:PORT`: the name notary and docker use for the hub. */
let server: string;
let hostPort: string;
let caPath: string;

beforeAll(async () => {
  t = await startHub({ officialImages: false });
  await t.hub.accounts.createAccount(ALICE.user, ALICE.password);
  await t.hub.accounts.createAccount(BOB.user, BOB.password);
  hostPort = `localhost:${new URL(t.hub.url).port}`;
  server = `https://${hostPort}`;
  caPath = t.hub.caCertificatePath as string;
  work = await makeTempDir('hub-notary');
});

afterAll(async () => {
  await t?.close();
  if (work) await removeTempDir(work);
});

/** notary prints fatal errors on stdout or stderr depending on the command. */
const output = (result: RunResult) => `${result.stdout}\n${result.stderr}`;

function notaryAs(credentials: Credentials | undefined, trustDir: string) {
  return (...args: string[]): Promise<RunResult> =>
    hubNotary(args, {
      trustDir,
      serverUrl: server,
      caCertPath: caPath,
      ...(credentials ? { credentials } : {}),
    });
}

function multipart(parts: { filename?: string; body: Buffer | string }[]) {
  const boundary = 'trustlabboundary0123456789';
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition =
      part.filename === undefined
        ? 'form-data; name="files"'
        : `form-data; name="files"; filename="${part.filename}"`;
    chunks.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: ${disposition}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      Buffer.from(part.body),
      Buffer.from('\r\n'),
    );
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

async function post(gun: string, body: Buffer | string, contentType: string, token?: string) {
  return t.client.request('POST', `/v2/${gun}/_trust/tuf/`, {
    body,
    headers: { 'Content-Type': contentType },
    ...(token ? { token } : {}),
  });
}

describe('Notary API, byte level', () => {
  it('answers missing metadata and unknown routes with notary-server bodies', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v2/localhost:1/alice/none/_trust/tuf/root.json', 'missing_gun.txt'],
      ['GET', '/v2/localhost:1/alice/none/_trust/tuf/3.root.json', 'missing_version.txt'],
      ['GET', '/v2/localhost:1/alice/none/_trust/tuf/foo.json', 'bad_role.txt'],
      ['GET', '/v2/localhost:1/alice/none/_trust/other', 'other_path.txt'],
      ['PUT', '/v2/localhost:1/alice/none/_trust/tuf/root.json', 'put_not_allowed.txt'],
      ['GET', `/v2/localhost:1/alice/none/_trust/tuf/root.${'ab'.repeat(64)}.json`, 'root_by_sha512.txt'],
    ];
    for (const [method, target, file] of cases) {
      const expected = await vector(file);
      const res = await t.client.request(method, target);
      expect(res.status, file).toBe(expected.status);
      expect(res.header('content-type'), file).toBe(expected.headers['content-type']);
      // Some captures kept headers only; then the length tells the body (116 = with `"detail":{}`).
      if (expected.body === '')
        expect(String(res.body.length), file).toBe(expected.headers['content-length']);
      else expect(res.body.toString('latin1'), file).toBe(expected.body);
    }
  });

  it('refuses writes without a token with the Bearer challenge, naming the GUN scope', async () => {
    const res = await post('localhost:1/alice/app', 'x', 'text/plain');
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toContain('scope="repository:localhost:1/alice/app:push,pull"');
    const key = await t.client.request('GET', '/v2/localhost:1/alice/app/_trust/tuf/timestamp.key');
    expect(key.status).toBe(401);
  });

  it('serves server keys and refuses malformed publishes like notary-server', async () => {
    const gun = `${hostPort}/alice/bytes`;
    const token = await t.client.token([`repository:${gun}:*`], ALICE);
    const key = await t.client.request('GET', `/v2/${gun}/_trust/tuf/timestamp.key`, { token });
    const keyVector = await vector('ts_key.txt');
    expect(key.status).toBe(200);
    expect(key.header('content-type')).toBe(keyVector.headers['content-type']);
    expect(key.header('cache-control')).toBeUndefined();
    expect(key.body.toString()).toMatch(
      /^\{"keytype":"ed25519","keyval":\{"public":"[A-Za-z0-9+/]{43}=","private":null\}\}$/,
    );
    // Until a root exists, the same key is handed out again; POST makes a new one.
    const again = await t.client.request('GET', `/v2/${gun}/_trust/tuf/timestamp.key`, { token });
    expect(again.body.equals(key.body)).toBe(true);
    const rotated = await t.client.request('POST', `/v2/${gun}/_trust/tuf/timestamp.key`, { token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.equals(key.body)).toBe(false);

    const notMultipart = await vector('post_not_multipart.txt');
    const res1 = await post(gun, '{}', 'application/json', token);
    expect([res1.status, res1.body.toString()]).toEqual([notMultipart.status, notMultipart.body]);

    const malformed = await vector('post_malformed.txt');
    const m1 = multipart([{ filename: 'targets', body: 'not json' }]);
    const res2 = await post(gun, m1.body, m1.contentType, token);
    expect([res2.status, res2.body.toString()]).toEqual([malformed.status, malformed.body]);

    const badRole = await vector('post_bad_role.txt');
    const m2 = multipart([{ filename: 'foo', body: '{}' }]);
    const res3 = await post(gun, m2.body, m2.contentType, token);
    expect([res3.status, res3.body.toString()]).toEqual([badRole.status, badRole.body]);

    const noRoot = await vector('post_no_root.txt');
    const targets = await readFile(path.resolve(VECTORS, '../targets.json'));
    const m3 = multipart([{ filename: 'targets.json', body: targets }]);
    const res4 = await post(gun, m3.body, m3.contentType, token);
    expect([res4.status, res4.body.toString()]).toEqual([noRoot.status, noRoot.body]);

    const m4 = multipart([{ body: targets }]);
    const res5 = await post(gun, m4.body, m4.contentType, token);
    expect(res5.status).toBe(400);
    expect(res5.json<{ errors: { code: string }[] }>().errors[0]?.code).toBe('NO_FILENAME');
  });

  it('refuses targets signed by the wrong key and an oversized part, and stores nothing', async () => {
    const gun = `${hostPort}/alice/wrongkey`;
    await signWithTrustCore({
      client: t.client,
      serverUrl: server,
      ca: t.hub.caCertificate ?? '',
      gun,
      trustDir: path.join(work, 'wrongkey'),
      credentials: ALICE,
      tags: { v1: Buffer.from('one') },
    });
    const token = await t.client.token([`repository:${gun}:push,pull`], ALICE);
    const read = (role: string) => t.client.request('GET', `/v2/${gun}/_trust/tuf/${role}.json`);
    const before = await Promise.all(['root', 'targets', 'snapshot'].map(read));
    const current = Metadata.parse(new Uint8Array(before[1]!.body), 'Targets').signed;

    const forged = await Metadata.create(
      new Targets(current.version + 1, current.expires, current.targets, current.delegations),
    ).sign([PrivateKey.generate('ecdsa').signer()]);
    const m1 = multipart([{ filename: 'targets', body: Buffer.from(forged.toBytes()) }]);
    const res1 = await post(gun, m1.body, m1.contentType, token);
    expect(res1.status).toBe(400);
    expect(res1.json<{ errors: { code: string; detail: { Name: string } }[] }>().errors[0]).toMatchObject({
      code: 'INVALID_UPDATE',
      detail: { Name: 'ErrBadTargets' },
    });

    const m2 = multipart([{ filename: 'targets', body: Buffer.alloc(17 * 1024 * 1024, 0x20) }]);
    const res2 = await post(gun, m2.body, m2.contentType, token);
    expect(res2.status).toBe(400);
    expect(res2.json<{ errors: { code: string }[] }>().errors[0]?.code).toBe('MALFORMED_UPLOAD');

    const after = await Promise.all(['root', 'targets', 'snapshot'].map(read));
    after.forEach((res, i) => expect(res.body.equals(before[i]!.body)).toBe(true));
  });
});

describe.skipIf(!available)('real notary CLI against the hub', () => {
  const gun = () => `${hostPort}/alice/app`;
  let aliceDir: string;
  const files: Record<string, Buffer> = {
    v1: Buffer.from('first target\n'),
    v2: Buffer.from('released target\n'),
  };

  beforeAll(async () => {
    aliceDir = path.join(work, 'alice-trust');
    for (const [name, bytes] of Object.entries(files)) await writeFile(path.join(work, name), bytes);
  });

  it('init, add, delegation add, publish and list, then reads byte-exact files over HTTP', async () => {
    const alice = notaryAs(ALICE, aliceDir);
    expectOk(await alice('init', gun()), 'init');
    expectOk(await alice('add', gun(), 'v1', path.join(work, 'v1')), 'add');
    expectOk(await alice('publish', gun()), 'publish');

    // A delegation with a key made by openssl (a self-signed cert), as the notary docs do.
    const key = path.join(work, 'releases.key');
    const cert = path.join(work, 'releases.crt');
    const { runCommand, baseEnv } = await import('../support/process.js');
    const openssl = await runCommand(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '30',
        '-subj',
        '/CN=releases',
      ],
      { env: baseEnv(work), timeoutMs: 10_000 },
    );
    expect(openssl.code).toBe(0);
    expectOk(
      await alice('delegation', 'add', gun(), 'targets/releases', cert, '--all-paths'),
      'delegation add',
    );
    expectOk(await alice('publish', gun()), 'publish delegation');
    expectOk(await alice('key', 'import', key, '--role', 'targets/releases'), 'key import');
    expectOk(await alice('add', gun(), 'v2', path.join(work, 'v2'), '--roles', 'targets/releases'), 'add v2');
    expectOk(await alice('publish', gun()), 'publish v2');

    const list = expectOk(await alice('list', gun()), 'list').stdout;
    expect(list).toMatch(
      new RegExp(`v1\\s+${sha256Hex(files.v1 as Buffer)}\\s+${(files.v1 as Buffer).length}\\s+targets\\n`),
    );
    expect(list).toMatch(
      new RegExp(
        `v2\\s+${sha256Hex(files.v2 as Buffer)}\\s+${(files.v2 as Buffer).length}\\s+targets/releases`,
      ),
    );

    // Files are served exactly as notary cached them, with notary-server's headers.
    const cached = await readFile(path.join(aliceDir, 'tuf', gun(), 'metadata', 'root.json'));
    const root = await t.client.request('GET', `/v2/${gun()}/_trust/tuf/root.json`);
    expect(root.body.equals(cached)).toBe(true);
    expect(root.header('content-type')).toBe('text/plain; charset=utf-8');
    expect(root.header('cache-control')).toBe('public, max-age=300, s-maxage=300, must-revalidate');
    expect(root.header('last-modified')).toMatch(
      /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} UTC$/,
    );
    const bySha = await t.client.request('GET', `/v2/${gun()}/_trust/tuf/root.${sha256Hex(cached)}.json`);
    expect(bySha.body.equals(cached)).toBe(true);
    expect(bySha.header('cache-control')).toBe((await vector('root_by_sha256.txt')).headers['cache-control']);
    const byVersion = await t.client.request('GET', `/v2/${gun()}/_trust/tuf/1.root.json`);
    expect(byVersion.body.equals(cached)).toBe(true);
    const releases = await t.client.request('GET', `/v2/${gun()}/_trust/tuf/1.targets/releases.json`);
    expect(Metadata.parse(releases.body, 'Targets', 'targets/releases').signed.version).toBe(1);

    // Republishing the stored targets and snapshot: notary-server's VERSION body.
    const token = await t.client.token([`repository:${gun()}:push,pull`], ALICE);
    const targets = (await t.client.request('GET', `/v2/${gun()}/_trust/tuf/targets.json`)).body;
    const snapshot = (await t.client.request('GET', `/v2/${gun()}/_trust/tuf/snapshot.json`)).body;
    const same = multipart([
      { filename: 'targets', body: targets },
      { filename: 'snapshot', body: snapshot },
    ]);
    const versionVector = await vector('post_same_snapshot.txt');
    const res = await post(gun(), same.body, same.contentType, token);
    expect([res.status, res.body.toString()]).toEqual([versionVector.status, versionVector.body]);

    // This GUN's root uploaded to another GUN: the wrong-GUN root error.
    const other = `${hostPort}/alice/other`;
    const otherToken = await t.client.token([`repository:${other}:push,pull`], ALICE);
    const wrongRoot = multipart([{ filename: 'root', body: cached }]);
    const wrong = await post(other, wrongRoot.body, wrongRoot.contentType, otherToken);
    const wrongVector = await vector('post_wrong_gun_root.txt');
    expect([wrong.status, wrong.body.toString()]).toEqual([wrongVector.status, wrongVector.body]);

    // Records name the GUN and role.
    const records = t.hub.records.query({ gun: gun(), limit: 10_000 });
    expect(records.some((r) => r.method === 'POST' && r.account === 'alice' && r.status === 200)).toBe(true);
    expect(records.some((r) => r.role === 'targets/releases' && r.repository === 'alice/app')).toBe(true);
  });

  it('lets anyone list, and refuses a publish, a delete and a key rotation by another account', async () => {
    const anonymous = expectOk(
      await notaryAs(undefined, path.join(work, 'anon'))('list', gun()),
      'anon list',
    );
    expect(anonymous.stdout).toContain(sha256Hex(files.v1 as Buffer));

    const bobDir = path.join(work, 'bob-trust');
    const bob = notaryAs(BOB, bobDir);
    // bob starts from a verified copy of the repository but holds no keys the server accepts from him.
    expectOk(await bob('list', gun()), 'bob list');
    expectOk(await bob('add', gun(), 'evil', path.join(work, 'v1')), 'bob add');
    const publish = await bob('publish', gun());
    expect(publish.code).not.toBe(0);
    expect(output(publish)).toMatch(/could not find necessary signing keys|not authorized/);
    const refusal = await bob('delete', gun(), '--remote');
    expect(refusal.code).not.toBe(0);
    expect(output(refusal)).toContain('you are not authorized to perform this operation');
    const rotate = await bob('key', 'rotate', gun(), 'timestamp', '-r');
    expect(output(rotate)).toContain('you are not authorized to perform this operation');
    // bob's init of alice's GUN stops at the server key.
    const init = await notaryAs(BOB, path.join(work, 'bob-init'))('init', `${hostPort}/alice/bobs-attempt`);
    expect(init.code).not.toBe(0);
    expect(output(init)).toContain('you are not authorized');
  });

  it('rotates the snapshot key to the server, then deletes the remote trust data', async () => {
    const alice = notaryAs(ALICE, aliceDir);
    expectOk(await alice('key', 'rotate', gun(), 'snapshot', '-r'), 'key rotate snapshot -r');
    const root = Metadata.parse(
      (await t.client.request('GET', `/v2/${gun()}/_trust/tuf/root.json`)).body,
      'Root',
    );
    expect(root.signed.version).toBe(2);
    const snapshotKeys = Object.values(root.signed.roleKeys('snapshot'));
    expect(snapshotKeys.map((k) => k.keytype)).toEqual(['ed25519']);
    // The server now signs snapshots: a publish with targets only goes through.
    expectOk(await alice('add', gun(), 'v3', path.join(work, 'v1')), 'add v3');
    expectOk(await alice('publish', gun()), 'publish after rotation');
    const list = expectOk(await notaryAs(undefined, path.join(work, 'anon2'))('list', gun()), 'list').stdout;
    expect(list).toMatch(/v3\s+/);

    const feed = await t.client.request('GET', `/v2/${gun()}/_trust/changefeed?change_id=0&records=100`);
    const body = feed.json<{ count: number; records: { GUN: string; Category: string; ID: string }[] }>();
    expect(body.count).toBeGreaterThanOrEqual(4);
    expect(body.records.every((r) => r.GUN === gun() && r.Category === 'update')).toBe(true);

    expectOk(await alice('delete', gun(), '--remote'), 'delete --remote');
    expect((await t.client.request('GET', `/v2/${gun()}/_trust/tuf/root.json`)).status).toBe(404);
    const after = await notaryAs(undefined, path.join(work, 'anon3'))('list', gun());
    expect(output(after)).toContain(`${hostPort} does not have trust data for ${gun()}`);
    const all = await t.client.request('GET', '/v2/_trust/changefeed?records=-1');
    expect(all.json<{ records: { Category: string }[] }>().records[0]?.Category).toBe('deletion');
  });
});

describe.skipIf(!available)('real docker CLI against the hub (no daemon)', () => {
  const image = makeImage('docker-trust');
  const signedGun = () => `${hostPort}/alice/signed`;

  beforeAll(async () => {
    await signWithTrustCore({
      client: t.client,
      serverUrl: server,
      ca: t.hub.caCertificate as string,
      gun: signedGun(),
      trustDir: path.join(work, 'trust-core-signer'),
      credentials: ALICE,
      tags: { v1: image.manifest },
    });
  });

  async function docker(args: string[], trust = true) {
    const dockerConfig = await makeTempDir('docker-config');
    try {
      return await runDocker(args, {
        dockerConfig,
        env: { ...(trust ? { DOCKER_CONTENT_TRUST: '1' } : {}), DOCKER_CONTENT_TRUST_SERVER: server },
      });
    } finally {
      await removeTempDir(dockerConfig);
    }
  }

  it('trust inspect shows the tag, its digest and the signers', async () => {
    const result = expectOk(await docker(['trust', 'inspect', signedGun()], false), 'docker trust inspect');
    const [inspect] = JSON.parse(result.stdout) as {
      Name: string;
      SignedTags: { SignedTag: string; Digest: string; Signers: string[] }[];
      AdministrativeKeys: { Name: string }[];
    }[];
    expect(inspect?.Name).toBe(signedGun());
    expect(inspect?.SignedTags).toEqual([
      { SignedTag: 'v1', Digest: image.digest.slice('sha256:'.length), Signers: ['Repo Admin'] },
    ]);
    expect(inspect?.AdministrativeKeys.map((k) => k.Name)).toEqual(['Root', 'Repository']);
  });

  it('a trusted pull resolves the signed tag before it needs the daemon', async () => {
    const result = await docker(['pull', `${signedGun()}:v1`]);
    expect(result.stdout).toContain(`Pull (1 of 1): ${signedGun()}:v1@${image.digest}`);
    const unsigned = await docker(['pull', `${signedGun()}:v9`]);
    expect(unsigned.stderr).toContain('No valid trust data for v9');
    const missing = await docker(['pull', `${hostPort}/alice/nodata:v1`]);
    expect(missing.stderr).toContain(
      `Error: remote trust data does not exist for ${hostPort}/alice/nodata: ${hostPort} does not have trust data for ${hostPort}/alice/nodata`,
    );
  });
});
