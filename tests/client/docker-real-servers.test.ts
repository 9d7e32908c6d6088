/**
 * The Content Trust workshop (seed lab 05, Tasks 1–4) played through the lab's own `bin/docker`
 * against the real programs of a self-hosted setup, started by this test on loopback with TLS
 * from one test CA: Debian's docker-registry and notary-server. Afterwards the real tools read
 * what our client wrote: `notary list` and `notary key list`, and the docker CLI's
 * `docker trust inspect` (it resolves trust without a daemon).
 *
 * Authentication, as these servers offer it on their own:
 * - docker-registry gets htpasswd (HTTP Basic) auth, the built-in scheme of distribution. So
 *   `docker login <registry>` checks a password the registry knows, and a push without a login
 *   is refused. (Docker Hub's token auth is covered against the lab hub in docker-workshop.test.ts.)
 * - notary-server runs without auth, as notary-server does unless it is given a token service;
 *   our client pings its /v2/, gets 200, and sends no credentials.
 *
 * `docker pull busybox` (Task 1.3) still goes to the lab hub: a self-hosted registry has no
 * official images, and docker.io names are the hub's (TRUSTLAB_HUB). The learner's repository
 * is `<registry host:port>/alice/dctrust`; its GUN is that full name, and the trust server is
 * DOCKER_CONTENT_TRUST_SERVER, as docker needs for a registry that serves no trust data itself.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublicKey, fromBase64 } from '../../trust-core/src/index.js';
import { startHub, type TestHub } from '../hub/helpers.js';
import {
  dockerTrustEnv,
  makeTempDir,
  makeTestCa,
  removeTempDir,
  requireBinariesForSuite,
  runDocker as runRealDocker,
  runNotary,
  startNotaryServer,
  type NotaryServer,
  type TestCa,
} from '../support/index.js';
import {
  ALICE_HTPASSWD,
  dockerHome,
  parseNotaryKeyList,
  parseNotaryList,
  runDocker,
  runDockerPty,
  startRegistryWithLogin,
  type DockerHome,
  type LoginRegistry,
} from './docker-helpers.js';

// A missing program fails the file under CI=true and skips it (with a note) elsewhere.
const available = requireBinariesForSuite([
  'docker-registry',
  'notary-server',
  'notary',
  'docker',
  'openssl',
]);

const USER = 'alice';
const PASSWORD = 'alice-password';
const ROOT_PASS = 'root-passphrase-1';
const REPO_PASS = 'repo-passphrase-1';

/** GET on the registry with Basic auth, trusting the test CA: what the registry itself stores. */
function registryGet(registry: LoginRegistry, target: string, accept: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>(
    (resolve, reject) => {
      const request = https.get(
        new URL(target, registry.url),
        {
          ca: registry.caPem,
          agent: false,
          headers: {
            Accept: accept,
            Authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.once('error', reject);
          response.once('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      request.once('error', reject);
    },
  );
}

describe.skipIf(!available)('workshop Tasks 1–4 against the real docker-registry and notary-server', () => {
  let work: string;
  let ca: TestCa;
  let hub: TestHub;
  let registry: LoginRegistry;
  let notary: NotaryServer;
  let learner: DockerHome;
  let env: NodeJS.ProcessEnv;
  let trusted: NodeJS.ProcessEnv;
  let repo = '';
  let trustDir = '';
  let latestDigest = '';
  let signedDigest = '';
  let signedSize = 0;

  /** The real docker CLI with trust on against our notary-server, in a config dir of its own. */
  async function realDocker(args: readonly string[]) {
    const dockerConfig = await makeTempDir('real-docker-config');
    try {
      return await runRealDocker(args, { dockerConfig, env: dockerTrustEnv(notary.url) });
    } finally {
      await removeTempDir(dockerConfig);
    }
  }

  beforeAll(async () => {
    work = await makeTempDir('docker-real-servers');
    ca = await makeTestCa(work);
    hub = await startHub();
    registry = await startRegistryWithLogin({ ca, htpasswd: ALICE_HTPASSWD });
    notary = await startNotaryServer({ ca });
    repo = `${registry.host}/${USER}/dctrust`;
    // One CA file for the learner: the hub's CA (busybox) and the test CA (registry, notary-server).
    learner = await dockerHome(hub.hub.url, `${hub.hub.caCertificate ?? ''}\n${ca.caPem}`);
    env = learner.env;
    trusted = { ...env, DOCKER_CONTENT_TRUST: '1', DOCKER_CONTENT_TRUST_SERVER: notary.url };
    trustDir = path.join(learner.home, '.docker', 'trust');
  });

  afterAll(async () => {
    await learner?.cleanup();
    await notary?.stop();
    await registry?.stop();
    await hub?.close();
    if (work) await removeTempDir(work);
  });

  it('the registry really asks for a login: a push before docker login is refused', async () => {
    expect((await runDocker(['pull', 'busybox'], env)).code).toBe(0);
    expect((await runDocker(['tag', 'busybox', `${repo}:early`], env)).code).toBe(0);
    const result = await runDocker(['push', `${repo}:early`], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(`The push refers to repository [${repo}]\n`);
    // moby's push: distribution's ErrNoBasicAuthCredentials, printed from the progress stream as it is.
    expect(result.stderr).toBe('no basic auth credentials\n');
    expect((await registryGet(registry, `/v2/${USER}/dctrust/tags/list`, '*/*')).status).toBe(404);
    expect((await runDocker(['rmi', `${repo}:early`], env)).code).toBe(0);
  });

  it('refuses a wrong password (the registry checks it), one line, exit 1', async () => {
    const result = await runDocker(
      ['login', '-u', USER, '--password-stdin', registry.host],
      env,
      'wrong-password\n',
    );
    expect(result.code).toBe(1);
    // moby registry/auth.go loginV2: the status of the GET /v2/ made with the refused credentials.
    expect(result.stderr).toBe(
      `Error response from daemon: login attempt to ${registry.url}/v2/ failed with status: 401 Unauthorized\n`,
    );
    expect(result.stdout).not.toContain('Login Succeeded');
  });

  it('Task 1.2: docker login <registry> asks Username and a hidden Password on a terminal', async () => {
    const result = await runDockerPty(['login', registry.host], env, [
      ['Username: ', USER],
      ['Password: ', PASSWORD],
    ]);
    expect(result.answered).toBe(2);
    expect(result.output).not.toContain(PASSWORD);
    expect(result.output).toContain('Login Succeeded');
    expect(result.code).toBe(0);
    const file = path.join(learner.home, '.docker', 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, { auth: string }> };
    // docker keeps a non-Hub login under the bare host:port.
    expect(config.auths[registry.host]?.auth).toBe(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('Task 1.3 and 1.4: pull busybox, tag it into the registry namespace', async () => {
    const pulled = await runDocker(['pull', 'busybox'], env);
    expect(pulled.code).toBe(0);
    expect(pulled.stdout).toMatch(/^Using default tag: latest\nlatest: Pulling from library\/busybox\n/);
    expect((await runDocker(['tag', 'busybox', `${repo}:latest`], env)).code).toBe(0);
    const images = await runDocker(['images'], env);
    expect(images.code).toBe(0);
    const escaped = repo.replace(/[.]/g, '\\.');
    expect(images.stdout).toMatch(new RegExp(`^${escaped}\\s+latest\\s+[0-9a-f]{12}\\s`, 'm'));
  });

  it('Task 1.5: pushes the unsigned image; the registry stores the manifest under that digest', async () => {
    const result = await runDocker(['push', `${repo}:latest`], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const match = new RegExp(
      `^The push refers to repository \\[${repo.replace(/[.]/g, '\\.')}\\]\\n([0-9a-f]{12}: (Pushed|Layer already exists)\\n)+latest: digest: (sha256:[0-9a-f]{64}) size: (\\d+)\\n$`,
    ).exec(result.stdout);
    expect(match, result.stdout).not.toBeNull();
    latestDigest = match![3]!;
    const manifest = await registryGet(
      registry,
      `/v2/${USER}/dctrust/manifests/latest`,
      'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
    );
    expect(manifest.status).toBe(200);
    expect(manifest.headers['docker-content-digest']).toBe(latestDigest);
    expect(manifest.body.length).toBe(Number(match![4]));
  });

  it('Task 2: with DOCKER_CONTENT_TRUST=1 the unsigned image is refused, as the docker CLI refuses it', async () => {
    const result = await runDocker(['pull', `${repo}:latest`], trusted);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `Error: remote trust data does not exist for ${repo}: ${notary.host} does not have trust data for ${repo}\n`,
    );
    const real = await realDocker(['pull', `${repo}:latest`]);
    expect(real.code).toBe(1);
    expect(result.stderr).toBe(real.stderr);
  });

  it('Task 3: a signed push asks for new root and repository passphrases', async () => {
    expect((await runDocker(['tag', 'busybox', `${repo}:signed`], env)).code).toBe(0);
    const result = await runDockerPty(['push', `${repo}:signed`], trusted, [
      ['Enter passphrase for new root key with ID ', ROOT_PASS],
      ['Repeat passphrase for new root key with ID ', ROOT_PASS],
      ['Enter passphrase for new repository key with ID ', REPO_PASS],
      ['Repeat passphrase for new repository key with ID ', REPO_PASS],
    ]);
    expect(result.answered).toBe(4);
    expect(result.output).not.toContain(ROOT_PASS);
    expect(result.output).not.toContain(REPO_PASS);
    const out = result.output.replace(/\r\n/g, '\n');
    expect(out).toContain(`The push refers to repository [${repo}]\n`);
    const digest = /signed: digest: (sha256:[0-9a-f]{64}) size: (\d+)\n/.exec(out);
    expect(digest, out).not.toBeNull();
    signedDigest = digest![1]!;
    signedSize = Number(digest![2]);
    expect(out).toContain(
      'Signing and pushing trust metadata\nYou are about to create a new root signing key passphrase.',
    );
    expect(out).toMatch(/Enter passphrase for new root key with ID [0-9a-f]{7}: \n/);
    expect(out).toMatch(/Repeat passphrase for new repository key with ID [0-9a-f]{7}: \n/);
    expect(out).toContain(`Finished initializing "${repo}"\n`);
    expect(out).toContain(`Successfully signed ${repo}:signed\n`);
    expect(result.code).toBe(0);
  });

  it('Task 4.1: :latest is refused and :signed is pulled by its signed digest; the docker CLI agrees', async () => {
    const latest = await runDocker(['pull', `${repo}:latest`], trusted);
    expect(latest.code).toBe(1);
    expect(latest.stderr).toBe('No valid trust data for latest\n');
    const realLatest = await realDocker(['pull', `${repo}:latest`]);
    expect(realLatest.code).toBe(1);
    expect(latest.stderr).toBe(realLatest.stderr);

    const signed = await runDocker(['pull', `${repo}:signed`], trusted);
    expect(signed.code).toBe(0);
    const pullLine = `Pull (1 of 1): ${repo}:signed@${signedDigest}\n`;
    expect(signed.stdout.startsWith(pullLine)).toBe(true);
    expect(signed.stdout).toContain(`${signedDigest}: Pulling from ${USER}/dctrust\n`);
    expect(signed.stdout).toContain(`Digest: ${signedDigest}\n`);
    expect(signed.stderr).toBe(`Tagging ${repo}@${signedDigest} as ${repo}:signed\n`);
    // The docker CLI resolves the same digest from the same trust data, then needs a daemon.
    const realSigned = await realDocker(['pull', `${repo}:signed`]);
    expect(realSigned.stdout).toBe(pullLine);
    expect(realSigned.stderr).toMatch(/Cannot connect to the Docker daemon/);
  });

  it('Task 4.2: both pull with --disable-content-trust, straight from the registry', async () => {
    for (const [tag, digest] of [
      ['latest', latestDigest],
      ['signed', signedDigest],
    ] as const) {
      const result = await runDocker(['pull', '--disable-content-trust', `${repo}:${tag}`], trusted);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain('Pull (1 of 1)');
      expect(result.stdout).toContain(`${tag}: Pulling from ${USER}/dctrust\n`);
      expect(result.stdout).toContain(`Digest: ${digest}\n`);
      expect(result.stdout).toMatch(/Status: (Image is up to date|Downloaded newer image) for /);
    }
  });

  it('real notary list shows the tag, digest and size our client signed (its own cache and ours)', async () => {
    const expected = [
      { name: 'signed', digest: signedDigest.slice('sha256:'.length), size: signedSize, role: 'targets' },
    ];
    const fresh = path.join(work, 'notary-reader');
    for (const dir of [fresh, trustDir]) {
      const listed = await runNotary(['list', repo], {
        trustDir: dir,
        serverUrl: notary.url,
        caCertPath: ca.caCertPath,
      });
      expect(listed.stderr).toBe('');
      expect(listed.code).toBe(0);
      expect(parseNotaryList(listed.stdout)).toEqual(expected);
    }
  });

  it('the docker CLI trust inspect shows the same signed tag, digest and keys as ours', async () => {
    const ours = await runDocker(['trust', 'inspect', repo], trusted);
    expect(ours.stderr).toBe('');
    expect(ours.code).toBe(0);
    const real = await realDocker(['trust', 'inspect', repo]);
    expect(real.stderr).toBe('');
    expect(real.code).toBe(0);
    expect(ours.stdout).toBe(real.stdout);
    const info = JSON.parse(real.stdout) as Array<{ SignedTags: unknown[] }>;
    expect(info[0]!.SignedTags).toEqual([
      { SignedTag: 'signed', Digest: signedDigest.slice('sha256:'.length), Signers: ['Repo Admin'] },
    ]);
  });

  it('real notary key list shows the root and repository keys our push created', async () => {
    const result = await runNotary(['key', 'list'], {
      trustDir,
      serverUrl: notary.url,
      caCertPath: ca.caCertPath,
    });
    expect(result.code).toBe(0);
    const keys = parseNotaryKeyList(result.stdout);
    // The root key is listed under its canonical ID (that of the key inside root.json's certificate).
    const root = JSON.parse(
      await readFile(path.join(trustDir, 'tuf', repo, 'metadata', 'root.json'), 'utf8'),
    ) as {
      signed: {
        keys: Record<string, { keytype: string; keyval: { public: string } }>;
        roles: Record<string, { keyids: string[] }>;
      };
    };
    const publicKey = (id: string) => {
      const key = root.signed.keys[id]!;
      return new PublicKey(key.keytype, fromBase64(key.keyval.public));
    };
    const rootId = publicKey(root.signed.roles.root!.keyids[0]!).canonicalId();
    const targetsId = publicKey(root.signed.roles.targets!.keyids[0]!).canonicalId();
    // The snapshot key is held by the server (docker's Initialize with a server-managed snapshot).
    // notary key list cuts a GUN longer than 25 characters to its last 22, after "...".
    const shownGun = repo.length > 25 ? `...${repo.slice(-22)}` : repo;
    expect(keys).toEqual(
      [
        { role: 'root', id: rootId },
        { role: 'targets', gun: shownGun, id: targetsId },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    expect((await readdir(path.join(trustDir, 'private'))).sort()).toEqual(
      [`${rootId}.key`, `${targetsId}.key`].sort(),
    );
  });

  it('the registry kept both tags (nothing else was pushed)', async () => {
    const tags = await registryGet(registry, `/v2/${USER}/dctrust/tags/list`, 'application/json');
    expect(tags.status).toBe(200);
    expect((JSON.parse(tags.body.toString('utf8')) as { tags: string[] }).tags.sort()).toEqual([
      'latest',
      'signed',
    ]);
  });
});
