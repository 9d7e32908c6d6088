/**
 * `docker trust inspect`, `sign` and `revoke` through the lab's own
 * `bin/docker` against an in-process hub (passphrases from the
 * environment), and `trust inspect` compared with the real docker CLI's
 * on the same hub repository when docker is installed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type TestHub } from '../hub/helpers.js';
import { hasBinary, runDocker as runRealDocker } from '../support/index.js';
import { dockerHome, runDocker, type DockerHome } from './docker-helpers.js';

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

  it('key and signer say they are not available yet', async () => {
    const result = await runDocker(['trust', 'key', 'generate', 'bob'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('not available');
  });

  it.skipIf(!hasBinary('docker'))(
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
