/**
 * The Content Trust workshop (seed lab 05, Tasks 1–4) played through the
 * lab's own `bin/docker` against an in-process hub, checking what a learner
 * sees and the exit codes at each step; passphrases and the interactive
 * login are typed on a pseudo-terminal.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type TestHub } from '../hub/helpers.js';
import { dockerHome, runDocker, runDockerPty, type DockerHome } from './docker-helpers.js';

const USER = 'alice';
const PASSWORD = 'alice-password';
const ROOT_PASS = 'root-passphrase-1';
const REPO_PASS = 'repo-passphrase-1';

describe('workshop: Docker Content Trust, Tasks 1–4', () => {
  let t: TestHub;
  let learner: DockerHome;
  let env: NodeJS.ProcessEnv;
  let trusted: NodeJS.ProcessEnv;
  let signedDigest = '';

  beforeAll(async () => {
    t = await startHub();
    await t.hub.accounts.createAccount(USER, PASSWORD);
    learner = await dockerHome(t.hub.url, t.hub.caCertificate ?? '');
    env = learner.env;
    trusted = { ...env, DOCKER_CONTENT_TRUST: '1' };
  });

  afterAll(async () => {
    await learner?.cleanup();
    await t?.close();
  });

  it('Task 1.2: docker login asks Username and a hidden Password on a terminal', async () => {
    const result = await runDockerPty(['login'], env, [
      ['Username: ', USER],
      ['Password: ', PASSWORD],
    ]);
    expect(result.answered).toBe(2);
    expect(result.output).not.toContain(PASSWORD);
    expect(result.output).toContain(
      `WARNING! Your credentials are stored unencrypted in '${path.join(learner.home, '.docker', 'config.json')}'.`,
    );
    expect(result.output).toContain('Login Succeeded');
    expect(result.code).toBe(0);
    const file = path.join(learner.home, '.docker', 'config.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(config.auths['https://index.docker.io/v1/']?.auth).toBe(
      Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('refuses a wrong password with one line', async () => {
    const result = await runDocker(['login', '-u', USER, '--password-stdin'], env, 'wrong-password\n');
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('unauthorized: incorrect username or password');
  });

  it('Task 1.3: docker pull busybox', async () => {
    const result = await runDocker(['pull', 'busybox'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^Using default tag: latest\nlatest: Pulling from library\/busybox\n[0-9a-f]{12}: Pull complete\nDigest: sha256:[0-9a-f]{64}\nStatus: Downloaded newer image for busybox:latest\ndocker.io\/library\/busybox:latest\n$/,
    );
  });

  it('Task 1.4: docker tag busybox <user>/dctrust:latest, listed by docker images', async () => {
    expect((await runDocker(['tag', 'busybox', `${USER}/dctrust:latest`], env)).code).toBe(0);
    const images = await runDocker(['images'], env);
    expect(images.code).toBe(0);
    const lines = images.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
    expect(lines.some((l) => /^alice\/dctrust\s+latest\s+[0-9a-f]{12}\s+\S.* ago\s+[\d.]+k?B$/.test(l))).toBe(
      true,
    );
    expect(lines.some((l) => /^busybox\s+latest\s/.test(l))).toBe(true);
  });

  it('Task 1.5: pushes the unsigned image', async () => {
    const result = await runDocker(['push', `${USER}/dctrust:latest`], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^The push refers to repository \[docker.io\/alice\/dctrust\]\n([0-9a-f]{12}: (Pushed|Layer already exists)\n)+latest: digest: sha256:[0-9a-f]{64} size: \d+\n$/,
    );
  });

  it('Task 2: with DOCKER_CONTENT_TRUST=1 the unsigned image is refused (no trust data yet)', async () => {
    const result = await runDocker(['pull', `${USER}/dctrust:latest`], trusted);
    expect(result.code).toBe(1);
    const host = new URL(t.hub.url).host;
    expect(result.stderr).toBe(
      `Error: remote trust data does not exist for docker.io/alice/dctrust: ${host} does not have trust data for docker.io/alice/dctrust\n`,
    );
  });

  it('Task 3: a signed push asks for new root and repository passphrases', async () => {
    expect((await runDocker(['tag', 'busybox', `${USER}/dctrust:signed`], env)).code).toBe(0);
    const result = await runDockerPty(['push', `${USER}/dctrust:signed`], trusted, [
      ['Enter passphrase for new root key with ID ', ROOT_PASS],
      ['Repeat passphrase for new root key with ID ', ROOT_PASS],
      ['Enter passphrase for new repository key with ID ', REPO_PASS],
      ['Repeat passphrase for new repository key with ID ', REPO_PASS],
    ]);
    expect(result.answered).toBe(4);
    expect(result.output).not.toContain(ROOT_PASS);
    expect(result.output).not.toContain(REPO_PASS);
    const out = result.output.replace(/\r\n/g, '\n');
    expect(out).toContain('The push refers to repository [docker.io/alice/dctrust]');
    const digest = /signed: digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(out);
    expect(digest).not.toBeNull();
    signedDigest = digest![1]!;
    expect(out).toContain(
      'Signing and pushing trust metadata\nYou are about to create a new root signing key passphrase.',
    );
    expect(out).toMatch(/Enter passphrase for new root key with ID [0-9a-f]{7}: \n/);
    expect(out).toMatch(/Repeat passphrase for new repository key with ID [0-9a-f]{7}: \n/);
    expect(out).toContain('Finished initializing "docker.io/alice/dctrust"\n');
    expect(out).toContain('Successfully signed docker.io/alice/dctrust:signed\n');
    expect(result.code).toBe(0);
  });

  it('Task 4.1: with trust, :latest is refused and :signed is pulled through its signed digest', async () => {
    const latest = await runDocker(['pull', `${USER}/dctrust:latest`], trusted);
    expect(latest.code).toBe(1);
    expect(latest.stderr).toBe('No valid trust data for latest\n');

    const signed = await runDocker(['pull', `${USER}/dctrust:signed`], trusted);
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain(`Pull (1 of 1): alice/dctrust:signed@${signedDigest}\n`);
    expect(signed.stdout).toContain(`${signedDigest}: Pulling from alice/dctrust\n`);
    expect(signed.stdout).toContain(`Digest: ${signedDigest}\n`);
    expect(signed.stderr).toBe(`Tagging alice/dctrust@${signedDigest} as alice/dctrust:signed\n`);
  });

  it('Task 4.2: both pull with --disable-content-trust', async () => {
    for (const tag of ['latest', 'signed']) {
      const result = await runDocker(['pull', '--disable-content-trust', `${USER}/dctrust:${tag}`], trusted);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`${tag}: Pulling from alice/dctrust\n`);
      expect(result.stdout).toMatch(
        /Status: (Image is up to date|Downloaded newer image) for alice\/dctrust:/,
      );
    }
  });

  it('pulls the official busybox with trust (signed by the hub)', async () => {
    const result = await runDocker(['pull', 'busybox'], trusted);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^Using default tag: latest\nPull \(1 of 1\): busybox:latest@sha256:[0-9a-f]{64}\n/,
    );
  });

  it('a second signed push reuses the keys (passphrases from the environment)', async () => {
    expect((await runDocker(['tag', 'busybox', `${USER}/dctrust:v2`], env)).code).toBe(0);
    const result = await runDocker(['push', `${USER}/dctrust:v2`], {
      ...trusted,
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: REPO_PASS,
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Successfully signed docker.io/alice/dctrust:v2\n');
    expect(result.stdout).not.toContain('Finished initializing');
    expect(result.code).toBe(0);
  });

  it('stops cleanly after three wrong passphrases', async () => {
    expect((await runDocker(['tag', 'busybox', `${USER}/dctrust:v3`], env)).code).toBe(0);
    const result = await runDockerPty(['push', `${USER}/dctrust:v3`], trusted, [
      ['Enter passphrase for repository key with ID ', 'wrong-1-pass'],
      ['Enter passphrase for repository key with ID ', 'wrong-2-pass'],
      ['Enter passphrase for repository key with ID ', 'wrong-3-pass'],
    ]);
    const out = result.output.replace(/\r\n/g, '\n');
    expect(out).toContain('Passphrase incorrect. Please retry.');
    expect(result.code).toBe(1);
    const last = out.trim().split('\n').pop()!;
    expect(last).toMatch(/^failed to sign docker.io\/alice\/dctrust:v3: /);
    expect(out).not.toMatch(/\n\s+at /);
  });

  it('refuses an http trust server and reports a trust server that is down', async () => {
    const http = await runDocker(['pull', `${USER}/dctrust:signed`], {
      ...trusted,
      DOCKER_CONTENT_TRUST_SERVER: 'http://127.0.0.1:1',
    });
    expect(http.code).toBe(1);
    expect(http.stderr).toBe(
      'error establishing connection to trust repository: valid https URL required for trust server, got http://127.0.0.1:1\n',
    );
    // A fresh trust dir, so nothing cached can stand in for the server.
    const fresh = await dockerHome(t.hub.url, t.hub.caCertificate ?? '');
    try {
      const down = await runDocker(['pull', `${USER}/dctrust:signed`], {
        ...fresh.env,
        DOCKER_CONTENT_TRUST: '1',
        DOCKER_CONTENT_TRUST_SERVER: 'https://127.0.0.1:1',
      });
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/^Error: error contacting notary server: .+\n$/);
    } finally {
      await fresh.cleanup();
    }
  });

  it('pulls by digest without trust data', async () => {
    const result = await runDocker(['pull', `${USER}/dctrust@${signedDigest}`], trusted);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('Pull (1 of 1)');
  });
});
