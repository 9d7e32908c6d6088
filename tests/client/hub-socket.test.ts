/**
 * The lab's `bin/docker` in a sandbox's situation: TRUSTLAB_HUB names an
 * origin nothing serves over TCP (a trap that counts connection attempts
 * listens there), and the hub is reachable only through the session socket
 * in TRUSTLAB_HUB_SOCKET. Login, pulls, trust inspection, a trusted pull and
 * a signed push must all work through the socket, and the hub must record
 * every request as the session's.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../hub/src/index.js';
import { resolveConfig } from '../../client/src/notary/config.js';
import { socketPathFor } from '../../client/src/registry/hub-address.js';
import { startHub, type TestHub } from '../hub/helpers.js';
import { runCommand } from '../support/index.js';
import { dockerHome, runDocker, type DockerHome } from './docker-helpers.js';

const NOTARY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/notary');

const SESSION = 'lab-session-7';
const USER = 'alice';
const PASSWORD = 'alice-password';

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('docker through TRUSTLAB_HUB_SOCKET', () => {
  let t: TestHub;
  let trap: net.Server;
  let tcpAttempts = 0;
  let hubOrigin = '';
  let hubTcpPort = 0;
  let socketDir: string;
  let socketPath: string;
  let socket: { close(): Promise<void> };
  let learner: DockerHome;
  let env: NodeJS.ProcessEnv;
  const records: RequestRecord[] = [];

  beforeAll(async () => {
    // Whatever connects here over TCP is a connection that should have used the socket (an attempt
    // on ::1 instead would be refused, and the command would fail).
    trap = net.createServer((connection) => {
      tcpAttempts++;
      connection.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
    const trapPort = (trap.address() as net.AddressInfo).port;
    hubOrigin = `localhost:${trapPort}`;
    // The hub's realm and names are the origin the sandbox knows; its real TCP port is elsewhere.
    hubTcpPort = await freePort();
    t = await startHub({ port: hubTcpPort, publicUrl: `https://${hubOrigin}` });
    await t.hub.accounts.createAccount(USER, PASSWORD);
    t.hub.records.on('record', (record) => records.push(record));
    socketDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-hub-socket-'));
    socketPath = path.join(socketDir, 'hub.sock');
    socket = await t.hub.listenSessionSocket(SESSION, socketPath);
    learner = await dockerHome(hubOrigin, t.hub.caCertificate ?? '');
    env = {
      ...learner.env,
      TRUSTLAB_HUB_SOCKET: socketPath,
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-passphrase-1',
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repo-passphrase-1',
    };
  });

  afterAll(async () => {
    await learner?.cleanup();
    await socket?.close();
    await t?.close();
    await new Promise((resolve) => trap?.close(resolve));
    if (socketDir) await rm(socketDir, { recursive: true, force: true });
  });

  /** Records answered since `from`, once the hub has been quiet for a moment. */
  async function recordsSince(from: number): Promise<RequestRecord[]> {
    // A record is emitted when its response closes, which can trail the client's exit a little.
    for (let count = -1; count !== records.length;) {
      count = records.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return records.slice(from);
  }

  it('docker login goes through the socket, as the session', async () => {
    const from = records.length;
    const result = await runDocker(['login', '-u', USER, '--password-stdin'], env, `${PASSWORD}\n`);
    expect(result.stderr).not.toContain('Error');
    expect(result.stdout).toContain('Login Succeeded');
    expect(result.code).toBe(0);
    const seen = await recordsSince(from);
    expect(seen.map((r) => r.path)).toEqual(expect.arrayContaining(['/v2/', '/token']));
    expect(seen.every((r) => r.session === SESSION)).toBe(true);
    expect(seen.find((r) => r.path === '/token')?.account).toBe(USER);
    expect(tcpAttempts).toBe(0);
  });

  it('docker pull busybox goes through the socket, as the session', async () => {
    const from = records.length;
    const result = await runDocker(['pull', 'busybox'], env);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Status: Downloaded newer image for busybox:latest');
    expect(result.code).toBe(0);
    const seen = await recordsSince(from);
    expect(seen.some((r) => r.path.startsWith('/v2/library/busybox/manifests/') && r.status === 200)).toBe(
      true,
    );
    expect(seen.some((r) => r.path.startsWith('/v2/library/busybox/blobs/') && r.status === 200)).toBe(true);
    expect(seen.every((r) => r.session === SESSION)).toBe(true);
    expect(tcpAttempts).toBe(0);
  });

  it('docker trust inspect busybox reads the hub’s trust data through the socket', async () => {
    const from = records.length;
    const result = await runDocker(['trust', 'inspect', 'busybox'], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const [inspected] = JSON.parse(result.stdout) as Array<{
      Name: string;
      SignedTags: Array<{ SignedTag: string }>;
    }>;
    expect(inspected?.Name).toBe('busybox');
    expect(inspected?.SignedTags.map((s) => s.SignedTag)).toContain('latest');
    const seen = await recordsSince(from);
    expect(seen.some((r) => r.gun === 'docker.io/library/busybox' && r.role === 'timestamp')).toBe(true);
    expect(seen.every((r) => r.session === SESSION)).toBe(true);
    expect(tcpAttempts).toBe(0);
  });

  it('a trusted pull verifies alpine through the socket, with DOCKER_CONTENT_TRUST_SERVER on the hub', async () => {
    const from = records.length;
    const result = await runDocker(['pull', 'alpine'], {
      ...env,
      DOCKER_CONTENT_TRUST: '1',
      DOCKER_CONTENT_TRUST_SERVER: `https://${hubOrigin}`,
    });
    // docker reports the tag it moves to the verified digest on stderr.
    expect(result.stderr).toMatch(/^Tagging alpine@sha256:[0-9a-f]{64} as alpine:latest\n$/);
    expect(result.stdout).toMatch(/Pull \(1 of 1\): alpine:latest@sha256:[0-9a-f]{64}/);
    expect(result.code).toBe(0);
    const seen = await recordsSince(from);
    expect(seen.some((r) => r.gun === 'docker.io/library/alpine')).toBe(true);
    expect(seen.some((r) => r.repository === 'library/alpine' && r.path.includes('/manifests/sha256:'))).toBe(
      true,
    );
    expect(seen.every((r) => r.session === SESSION)).toBe(true);
    expect(tcpAttempts).toBe(0);
  });

  it('a signed push publishes trust data through the socket', async () => {
    expect((await runDocker(['tag', 'busybox', `${USER}/app:signed`], env)).code).toBe(0);
    const from = records.length;
    const result = await runDocker(['push', `${USER}/app:signed`], { ...env, DOCKER_CONTENT_TRUST: '1' });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`Successfully signed docker.io/${USER}/app:signed`);
    expect(result.code).toBe(0);
    const seen = await recordsSince(from);
    expect(
      seen.some((r) => r.method === 'POST' && r.gun === `docker.io/${USER}/app` && r.status === 200),
    ).toBe(true);
    expect(seen.every((r) => r.session === SESSION)).toBe(true);
    expect(tcpAttempts).toBe(0);
  });

  it('notary lists and publishes through the socket too, with its token auth', async () => {
    const gun = `docker.io/${USER}/app`;
    // The keys docker push made, as the lab's notary configuration points at them.
    const trustDir = path.join(learner.home, '.docker', 'trust');
    const notaryEnv = {
      ...env,
      NOTARY_TARGETS_PASSPHRASE: 'repo-passphrase-1',
      NOTARY_AUTH: Buffer.from(`${USER}:${PASSWORD}`).toString('base64'),
    };
    const from = records.length;
    const listed = await runCommand(NOTARY, ['-d', trustDir, 'list', gun], {
      env: notaryEnv,
      timeoutMs: 60_000,
    });
    expect(listed.stdout).toMatch(/^signed +[0-9a-f]{64} +\d+ +targets/m);
    expect(listed.code).toBe(0);
    await writeFile(path.join(socketDir, 'notes.txt'), 'release notes\n');
    const added = await runCommand(
      NOTARY,
      ['-d', trustDir, 'add', gun, 'notes', path.join(socketDir, 'notes.txt'), '-p'],
      {
        env: notaryEnv,
        timeoutMs: 60_000,
      },
    );
    expect(added.stdout + added.stderr).toContain(`Successfully published changes for repository ${gun}`);
    expect(added.code).toBe(0);
    const seen = await recordsSince(from);
    expect(seen.some((r) => r.path === '/token' && r.account === USER)).toBe(true);
    expect(seen.some((r) => r.method === 'POST' && r.gun === gun && r.status === 200)).toBe(true);
    expect(seen.every((r) => r.session === SESSION)).toBe(true);
    expect(tcpAttempts).toBe(0);
  });

  it('leaves other origins on TCP, while the token realm on the hub’s origin still uses the socket', async () => {
    const from = records.length;
    const result = await runDocker(['pull', `127.0.0.1:${hubTcpPort}/library/busybox`], env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const seen = await recordsSince(from);
    const registry = seen.filter((r) => r.path.startsWith('/v2/'));
    expect(registry.some((r) => r.path.startsWith('/v2/library/busybox/manifests/'))).toBe(true);
    // Straight to the TCP port: no session.
    expect(registry.every((r) => r.session === undefined)).toBe(true);
    // The challenge's realm is https://<TRUSTLAB_HUB>/token: through the socket.
    const tokens = seen.filter((r) => r.path === '/token');
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens.every((r) => r.session === SESSION)).toBe(true);
    expect(tcpAttempts).toBe(0);
  });

  it('says in one line when the socket is not there', async () => {
    const missing = path.join(socketDir, 'gone.sock');
    const broken = { ...env, TRUSTLAB_HUB_SOCKET: missing };
    const pull = await runDocker(['pull', 'busybox'], broken);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toBe(
      `Error response from daemon: Get "https://${hubOrigin}/v2/": dial unix ${missing}: connect: no such file or directory\n`,
    );
    // A fresh trust directory, so there is no cached trust data to fall back on.
    const fresh = await dockerHome(hubOrigin, t.hub.caCertificate ?? '');
    try {
      const trusted = await runDocker(['pull', 'busybox'], {
        ...fresh.env,
        TRUSTLAB_HUB_SOCKET: missing,
        DOCKER_CONTENT_TRUST: '1',
      });
      expect(trusted.code).toBe(1);
      expect(trusted.stderr).toBe(
        `Error: error contacting notary server: dial unix ${missing}: connect: no such file or directory\n`,
      );
    } finally {
      await fresh.cleanup();
    }
    expect(tcpAttempts).toBe(0);
  });
});

describe('notary configuration', () => {
  const noConfigFile = (): string => {
    throw Object.assign(new Error('no config file'), { code: 'ENOENT' });
  };

  it('carries TRUSTLAB_HUB_SOCKET for the hub’s host:port, and nothing without it', async () => {
    const config = await resolveConfig(
      {},
      {
        env: { TRUSTLAB_HUB: 'localhost:4443', TRUSTLAB_HUB_SOCKET: '/run/lab/hub.sock' },
        home: '/home/u',
        readFile: noConfigFile,
      },
    );
    expect(config.server).toBe('https://localhost:4443');
    expect(socketPathFor(config.hubSocket, config.server)).toBe('/run/lab/hub.sock');
    expect(socketPathFor(config.hubSocket, 'https://notary.example:4443')).toBeUndefined();
    const plain = await resolveConfig(
      {},
      { env: { TRUSTLAB_HUB: 'localhost:4443' }, home: '/home/u', readFile: noConfigFile },
    );
    expect(plain.hubSocket).toBeUndefined();
  });
});
