/**
 * `docker trust inspect`, `sign` and `revoke` through the lab's own
 * `bin/docker` against an in-process hub (passphrases from the
 * environment), and `trust inspect` compared with the real docker CLI's
 * on the same hub repository when docker is installed; then `trust key
 * generate|load` and `trust signer add|remove` on their own repository.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type TestHub } from '../hub/helpers.js';
import { requireBinariesForSuite, runDocker as runRealDocker } from '../support/index.js';

// The comparisons with the real docker CLI: a failure under CI=true when it is missing, a skip elsewhere.
const realDocker = requireBinariesForSuite(['docker']);
import { dockerHome, runDocker, type DockerHome } from './docker-helpers.js';
import { PrivateKey, PublicKey, decodePem, encodeKeyFile, encodePem } from '../../trust-core/src/index.js';
import { FileKeyStore } from '../../trust-core/src/node/index.js';

const VECTORS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../vectors/notary');

const USER = 'alice';
const PASSWORD = 'alice-password';
const REPO = `${USER}/trusty`;
const GUN = `docker.io/${REPO}`;

describe('docker trust inspect, sign, revoke', () => {
  let t: TestHub;
  let learner: DockerHome;
  let env: NodeJS.ProcessEnv;
  let signedDigest = '';

  beforeAll(async () => {
    t = await startHub();
    await t.hub.accounts.createAccount(USER, PASSWORD);
    learner = await dockerHome(t.hub.url, t.hub.caCertificate ?? '');
    env = {
      ...learner.env,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-passphrase-1',
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repo-passphrase-1',
    };
    expect((await runDocker(['login', '-u', USER, '--password-stdin'], env, `${PASSWORD}\n`)).code).toBe(0);
    expect((await runDocker(['pull', 'busybox'], env)).code).toBe(0);
    for (const tag of ['v1', 'v2'])
      expect((await runDocker(['tag', 'busybox', `${REPO}:${tag}`], env)).code).toBe(0);
  });

  afterAll(async () => {
    await learner?.cleanup();
    await t?.close();
  });

  it('prints the trust help and the subcommand help texts', async () => {
    const help = await runDocker(['trust', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Manage trust on Docker images');
    const inspect = await runDocker(['trust', 'inspect', '--help'], env);
    expect(inspect.stdout).toBe(
      'Usage:  docker trust inspect IMAGE[:TAG] [IMAGE[:TAG]...]\n\nReturn low-level information about keys and signatures\n\nOptions:\n      --pretty   Print the information in a human friendly format\n',
    );
  });

  it('inspect says there is nothing for a repository without trust data', async () => {
    const result = await runDocker(['trust', 'inspect', REPO], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('[]\n');
    expect(result.stderr).toBe(`No signatures or cannot access ${REPO}\n`);
  });

  it('sign pushes and signs a local tag in a new repository', async () => {
    const result = await runDocker(['trust', 'sign', `${REPO}:v1`], env);
    expect(result.stderr).toBe(
      `Signing and pushing trust data for local image ${REPO}:v1, may overwrite remote trust data\n`,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`Finished initializing "${GUN}"\n`);
    expect(result.stdout).toContain(`Successfully signed ${GUN}:v1\n`);
    signedDigest = /v1: digest: sha256:([0-9a-f]{64})/.exec(result.stdout)![1]!;
  });

  it('inspect prints docker JSON with Repo Admin signatures and the administrative keys', async () => {
    const result = await runDocker(['trust', 'inspect', REPO], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const info = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(info).toHaveLength(1);
    expect(info[0]).toEqual({
      Name: REPO,
      SignedTags: [{ SignedTag: 'v1', Digest: signedDigest, Signers: ['Repo Admin'] }],
      Signers: [],
      AdministrativeKeys: [
        { Name: 'Root', Keys: [{ ID: expect.stringMatching(/^[0-9a-f]{64}$/) }] },
        { Name: 'Repository', Keys: [{ ID: expect.stringMatching(/^[0-9a-f]{64}$/) }] },
      ],
    });
    expect(result.stdout.startsWith('[\n    {\n        "Name": ')).toBe(true);
  });

  it('inspect --pretty prints the signature table and the administrative keys', async () => {
    const result = await runDocker(['trust', 'inspect', '--pretty', `${REPO}:v1`], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^\\nSignatures for ${REPO}:v1\\n\\nSIGNED TAG   DIGEST {61}SIGNERS\\nv1           ${signedDigest}   Repo Admin\\n\\nAdministrative keys for ${REPO}\\n\\nRepository Key:\\t[0-9a-f]{64}\\nRoot Key:\\t[0-9a-f]{64}\\n$`,
      ),
    );
  });

  it('sign adds a tag already pushed, and revoke removes it', async () => {
    expect((await runDocker(['push', `${REPO}:v2`], env)).code).toBe(0);
    const pushedOnly = await runDocker(['trust', 'sign', `${REPO}:v2`], env);
    expect(pushedOnly.code).toBe(0);
    expect(pushedOnly.stdout).toContain(`Successfully signed ${GUN}:v2\n`);
    const again = await runDocker(['trust', 'sign', `${REPO}:v2`], env);
    expect(again.stderr).toBe('');
    expect(again.stdout).toBe(
      `Signing and pushing trust metadata for ${REPO}:v2\nSuccessfully signed ${GUN}:v2\n`,
    );
    const revoke = await runDocker(['trust', 'revoke', `${REPO}:v2`], env);
    expect(revoke.stderr).toBe('');
    expect(revoke.stdout).toBe(`Successfully deleted signature for ${REPO}:v2\n`);
    expect(revoke.code).toBe(0);
    const info = JSON.parse((await runDocker(['trust', 'inspect', REPO], env)).stdout) as Array<{
      SignedTags: Array<{ SignedTag: string }>;
    }>;
    expect(info[0]!.SignedTags.map((r) => r.SignedTag)).toEqual(['v1']);
  });

  it('revoke without a tag asks for confirmation and aborts on no', async () => {
    const result = await runDocker(['trust', 'revoke', REPO], env, 'n\n');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Please confirm you would like to delete all signature data for ${REPO}? [y/N] `,
    );
    expect(result.stdout).toContain('\nAborting action.\n');
  });

  it.skipIf(!realDocker)(
    'trust inspect JSON matches the real docker CLI on the same hub repository',
    async () => {
      // A loopback registry name: the real CLI then talks to the hub's trust server without checking its certificate.
      const host = new URL(t.hub.url).host;
      const name = `${host}/${USER}/compare`;
      expect((await runDocker(['tag', 'busybox', `${name}:c1`], env)).code).toBe(0);
      const loginHost = await runDocker(
        ['login', '-u', USER, '--password-stdin', host],
        env,
        `${PASSWORD}\n`,
      );
      expect(loginHost.code).toBe(0);
      const signed = await runDocker(['trust', 'sign', `${name}:c1`], env);
      expect(signed.stdout + signed.stderr).toContain('Successfully signed');
      const ours = await runDocker(['trust', 'inspect', name], env);
      expect(ours.code).toBe(0);
      const dockerConfig = await mkdtemp(path.join(os.tmpdir(), 'trustlab-real-docker-'));
      try {
        const real = await runRealDocker(['trust', 'inspect', name], {
          dockerConfig,
          env: { DOCKER_CONTENT_TRUST_SERVER: t.hub.url },
        });
        expect(real.stderr).toBe('');
        expect(ours.stdout).toBe(real.stdout);
      } finally {
        await rm(dockerConfig, { recursive: true, force: true });
      }
    },
  );
});

describe('docker trust key and signer', () => {
  const SIGNED = `${USER}/delegated`;
  const SIGNED_GUN = `docker.io/${SIGNED}`;
  let t: TestHub;
  let learner: DockerHome;
  let env: NodeJS.ProcessEnv;
  let keysDir = '';
  let trustDir = '';
  let aliceKeyId = '';

  beforeAll(async () => {
    t = await startHub();
    await t.hub.accounts.createAccount(USER, PASSWORD);
    learner = await dockerHome(t.hub.url, t.hub.caCertificate ?? '');
    env = {
      ...learner.env,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-passphrase-1',
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repo-passphrase-1',
    };
    keysDir = path.join(learner.home, 'keys');
    trustDir = path.join(learner.home, '.docker', 'trust');
    await mkdir(keysDir);
    expect((await runDocker(['login', '-u', USER, '--password-stdin'], env, `${PASSWORD}\n`)).code).toBe(0);
    expect((await runDocker(['pull', 'busybox'], env)).code).toBe(0);
    expect((await runDocker(['tag', 'busybox', `${SIGNED}:v1`], env)).code).toBe(0);
  });

  afterAll(async () => {
    await learner?.cleanup();
    await t?.close();
  });

  it('key generate writes NAME.pub like docker and loads the private key with role NAME', async () => {
    const result = await runDocker(['trust', 'key', 'generate', 'alice', '--dir', keysDir], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const pubPath = path.join(keysDir, 'alice.pub');
    expect(result.stdout).toBe(
      `Generating key for alice...\nSuccessfully generated and loaded private key. Corresponding public key available: ${pubPath}\n`,
    );
    const pub = await readFile(pubPath, 'utf8');
    const vector = await readFile(path.join(VECTORS, 'docker-trust-key-generate-alice.pub'), 'utf8');
    const shape = (text: string) => text.replace(/^[A-Za-z0-9+/=]+$/gm, 'B64');
    expect(shape(pub)).toBe(shape(vector));
    expect(pub.length).toBe(vector.length);
    expect((await stat(pubPath)).mode & 0o777).toBe(0o600);
    const block = decodePem(pub);
    expect(block.headers).toEqual({ role: 'alice' });
    aliceKeyId = new PublicKey('ecdsa', block.bytes).id;
    const listed = await new FileKeyStore(trustDir).list();
    expect(listed).toEqual([{ id: aliceKeyId, role: 'alice', path: expect.any(String) }]);
    const keyFile = await readFile(listed[0]!.path, 'utf8');
    expect(keyFile).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: alice\n\n/);

    const again = await runDocker(['trust', 'key', 'generate', 'alice', '--dir', keysDir], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`public key file already exists: "${pubPath}"`);
    const bad = await runDocker(['trust', 'key', 'generate', 'Alice', '--dir', keysDir], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('key name "Alice" must start with lowercase alphanumeric characters');
  });

  it('key load imports a PEM private key under --name and refuses a file others can read', async () => {
    const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const file = path.join(keysDir, 'carol.pem');
    await writeFile(file, pem, { mode: 0o644 });
    const open = await runDocker(['trust', 'key', 'load', file, '--name', 'carol'], env);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(
      `refusing to load key from ${file}: private key file ${file} must not be readable or writable by others`,
    );
    await rm(file);
    await writeFile(file, pem, { mode: 0o600 });
    const result = await runDocker(['trust', 'key', 'load', file, '--name', 'carol'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`Loading key from "${file}"...\nSuccessfully imported key from ${file}\n`);
    const listed = await new FileKeyStore(trustDir).list();
    expect(listed.map((k) => k.role).sort()).toEqual(['alice', 'carol']);
    const carol = listed.find((k) => k.role === 'carol')!;
    expect(await readFile(carol.path, 'utf8')).toMatch(
      /^-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: carol\n\n/,
    );
  });

  it('key load decrypts an encrypted key (the "encrypted" passphrase) and stores it under --name', async () => {
    const key = PrivateKey.generate('ecdsa');
    const block = decodePem(encodeKeyFile(key, { role: 'x', passphrase: 'repo-passphrase-1' }));
    delete block.headers.role;
    const file = path.join(keysDir, 'dave.key');
    await writeFile(file, encodePem(block), { mode: 0o600 });
    const result = await runDocker(['trust', 'key', 'load', '--name', 'dave', file], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const listed = await new FileKeyStore(trustDir).list();
    expect(listed.find((k) => k.id === key.id)?.role).toBe('dave');
    const wrong = await runDocker(['trust', 'key', 'load', '--name', 'dave', file], {
      ...env,
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'not-the-passphrase',
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(
      `error importing key from ${file}: cannot load key from provided file ${file}: could not decrypt key`,
    );
  });

  it('signer add initialises the repository and adds targets/alice and targets/releases', async () => {
    const pubPath = path.join(keysDir, 'alice.pub');
    const result = await runDocker(['trust', 'signer', 'add', '--key', pubPath, 'alice', SIGNED], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `Adding signer "alice" to ${SIGNED}...\nInitializing signed repository for ${SIGNED}...\nSuccessfully initialized "${SIGNED}"\nSuccessfully added signer: alice to ${SIGNED}\n\n`,
    );
    const info = JSON.parse((await runDocker(['trust', 'inspect', SIGNED], env)).stdout) as Array<
      Record<string, unknown>
    >;
    expect(info[0]!.Signers).toEqual([{ Name: 'alice', Keys: [{ ID: aliceKeyId }] }]);
    expect(info[0]!.SignedTags).toEqual([]);
    // As docker does (tests/vectors/notary/docker-signer-add): only the delegations in targets.json, no delegation files yet.
    const metadata = path.join(trustDir, 'tuf', SIGNED_GUN, 'metadata');
    const snapshot = JSON.parse(await readFile(path.join(metadata, 'snapshot.json'), 'utf8')) as {
      signed: { meta: Record<string, unknown> };
    };
    expect(Object.keys(snapshot.signed.meta).sort()).toEqual(['root', 'targets']);
    const targets = JSON.parse(await readFile(path.join(metadata, 'targets.json'), 'utf8')) as {
      signed: { delegations: { roles: unknown[] } };
    };
    expect(targets.signed.delegations.roles).toEqual(
      ['targets/alice', 'targets/releases'].map((name) => ({
        keyids: [aliceKeyId],
        name,
        paths: [''],
        threshold: 1,
      })),
    );
    const missing = await runDocker(['trust', 'signer', 'add', 'bob', SIGNED], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('path to a public key must be provided using the `--key` flag');
  });

  it('trust sign then signs into targets/alice and targets/releases, and inspect lists alice', async () => {
    const signed = await runDocker(['trust', 'sign', `${SIGNED}:v1`], env);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain(`Successfully signed ${SIGNED_GUN}:v1\n`);
    const info = JSON.parse((await runDocker(['trust', 'inspect', SIGNED], env)).stdout) as Array<{
      SignedTags: Array<{ SignedTag: string; Signers: string[] }>;
      Signers: Array<{ Name: string }>;
    }>;
    expect(info[0]!.SignedTags.map((r) => [r.SignedTag, r.Signers])).toEqual([['v1', ['alice']]]);
    expect(info[0]!.Signers.map((s) => s.Name)).toEqual(['alice']);
    // inspect refreshed the local cache, delegations included.
    const metadata = path.join(trustDir, 'tuf', SIGNED_GUN, 'metadata');
    for (const role of ['alice', 'releases']) {
      const md = JSON.parse(await readFile(path.join(metadata, 'targets', `${role}.json`), 'utf8')) as {
        signed: { targets: Record<string, unknown> };
        signatures: Array<{ keyid: string }>;
      };
      expect(Object.keys(md.signed.targets)).toEqual(['v1']);
      expect(md.signatures.map((s) => s.keyid)).toEqual([aliceKeyId]);
    }
  });

  it('signer remove asks before removing the last releases signer, and -f removes it', async () => {
    const asked = await runDocker(['trust', 'signer', 'remove', 'alice', SIGNED], env, 'n\n');
    expect(asked.code).toBe(0);
    expect(asked.stdout).toContain(
      `The signer "alice" signed the last released version of ${SIGNED}. Removing this signer will make ${SIGNED} unpullable. Are you sure you want to continue? [y/N] `,
    );
    expect(asked.stdout).toContain('\nAborting action.\n');
    const removed = await runDocker(['trust', 'signer', 'remove', '-f', 'alice', SIGNED], env);
    expect(removed.stderr).toBe('');
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(
      `Removing signer "alice" from ${SIGNED}...\nSuccessfully removed alice from ${SIGNED}\n\n`,
    );
    const info = JSON.parse((await runDocker(['trust', 'inspect', SIGNED], env)).stdout) as Array<{
      Signers: unknown[];
    }>;
    expect(info[0]!.Signers).toEqual([]);
    const none = await runDocker(['trust', 'signer', 'remove', 'alice', SIGNED], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`no signer alice for repository ${SIGNED}`);
  });

  it.skipIf(!realDocker)('trust inspect after signer add and sign matches the real docker CLI', async () => {
    const host = new URL(t.hub.url).host;
    const name = `${host}/${USER}/signers`;
    expect((await runDocker(['tag', 'busybox', `${name}:s1`], env)).code).toBe(0);
    expect(
      (await runDocker(['login', '-u', USER, '--password-stdin', host], env, `${PASSWORD}\n`)).code,
    ).toBe(0);
    const added = await runDocker(
      ['trust', 'signer', 'add', '--key', path.join(keysDir, 'alice.pub'), 'alice', name],
      env,
    );
    expect(added.code).toBe(0);
    expect((await runDocker(['trust', 'sign', `${name}:s1`], env)).code).toBe(0);
    const ours = await runDocker(['trust', 'inspect', name], env);
    expect(ours.code).toBe(0);
    const dockerConfig = await mkdtemp(path.join(os.tmpdir(), 'trustlab-real-docker-'));
    try {
      const real = await runRealDocker(['trust', 'inspect', name], {
        dockerConfig,
        env: { DOCKER_CONTENT_TRUST_SERVER: t.hub.url },
      });
      expect(real.stderr).toBe('');
      expect(ours.stdout).toBe(real.stdout);
      expect(ours.stdout).toContain('"Name": "alice"');
    } finally {
      await rm(dockerConfig, { recursive: true, force: true });
    }
  });
});
