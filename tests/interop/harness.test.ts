/**
 * Proves the interop harness end to end with the real programs: notary publishes to a harness
 * notary-server, and the docker CLI (no daemon) reads the same trust data back. Doubles as the
 * reference for how to point docker at a test notary-server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { NotaryServer, Registry, RunResult, TestCa } from '../support/index.js';
import {
  dockerTrustEnv,
  httpsGet,
  installDockerTrustCa,
  makeTempDir,
  makeTestCa,
  removeTempDir,
  requireBinariesForSuite,
  runDocker,
  runNotary,
  startNotaryServer,
  startRegistry,
} from '../support/index.js';

const available = requireBinariesForSuite([
  'notary',
  'notary-server',
  'docker-registry',
  'docker',
  'openssl',
]);

/** Fails with the program's own output, which is what one needs to see when interop breaks. */
function expectSuccess(result: RunResult, what: string): RunResult {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
  return result;
}

describe.skipIf(!available)('interop harness (notary, notary-server, docker-registry, docker CLI)', () => {
  const suiteStart = performance.now();
  const timings: string[] = [];
  let work: string | undefined;
  let ca: TestCa;
  let notaryServer: NotaryServer | undefined;
  let registry: Registry | undefined;
  let trustDir: string;
  let payloadPath: string;
  let payloadHex: string;
  let payloadSize: number;

  async function timed<T>(label: string, action: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await action();
    } finally {
      timings.push(`${(performance.now() - start).toFixed(0).padStart(6)} ms  ${label}`);
    }
  }

  function notary(args: readonly string[]): Promise<RunResult> {
    if (!notaryServer) throw new Error('notary-server is not running');
    const options = { trustDir, serverUrl: notaryServer.url, caCertPath: ca.caCertPath };
    return timed(`notary ${args.join(' ')}`, () => runNotary(args, options));
  }

  async function docker(args: readonly string[], env: NodeJS.ProcessEnv, installCa = false) {
    if (!notaryServer || !work) throw new Error('harness is not running');
    // A fresh DOCKER_CONFIG per scenario: docker caches trust data in it.
    const dockerConfig = await makeTempDir('docker-config');
    try {
      if (installCa) await installDockerTrustCa(dockerConfig, notaryServer.url, ca.caCertPath);
      return await timed(`docker ${args.join(' ')}`, () => runDocker(args, { dockerConfig, env }));
    } finally {
      await removeTempDir(dockerConfig);
    }
  }

  async function publish(gun: string, tag: string): Promise<void> {
    expectSuccess(await notary(['init', gun]), `notary init ${gun}`);
    expectSuccess(await notary(['add', gun, tag, payloadPath]), `notary add ${gun} ${tag}`);
    expectSuccess(await notary(['publish', gun]), `notary publish ${gun}`);
  }

  beforeAll(async () => {
    work = await makeTempDir('harness-test');
    trustDir = path.join(work, 'notary-trust');
    payloadPath = path.join(work, 'payload.bin');
    const payload = randomBytes(1234);
    await writeFile(payloadPath, payload);
    payloadHex = createHash('sha256').update(payload).digest('hex');
    payloadSize = payload.length;

    const sharedCa = await timed('makeTestCa', () => makeTestCa(work as string));
    ca = sharedCa;
    // Start both at once; whichever did start is kept so afterAll can stop it if the other failed.
    const [server, reg] = await Promise.allSettled([
      timed('startNotaryServer', () => startNotaryServer({ ca: sharedCa })),
      timed('startRegistry', () => startRegistry({ ca: sharedCa })),
    ]);
    if (server.status === 'fulfilled') notaryServer = server.value;
    if (reg.status === 'fulfilled') registry = reg.value;
    if (server.status === 'rejected') throw server.reason;
    if (reg.status === 'rejected') throw reg.reason;
  });

  afterAll(async () => {
    const results = await Promise.allSettled([notaryServer?.stop(), registry?.stop()]);
    if (work) await removeTempDir(work);
    timings.push(`${(performance.now() - suiteStart).toFixed(0).padStart(6)} ms  whole suite`);
    console.log(`[interop] timings:\n${timings.join('\n')}`);
    for (const result of results) if (result.status === 'rejected') throw result.reason;
  });

  it('notary-server and docker-registry answer over TLS signed by the test CA', async () => {
    if (!notaryServer || !registry) throw new Error('harness is not running');
    expect(notaryServer.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);

    const v2 = await httpsGet(`${registry.url}/v2/`, { caPem: ca.caPem });
    expect(v2.status).toBe(200);
    expect(v2.body).toBe('{}');
    expect(v2.headers['docker-distribution-api-version']).toBe('registry/2.0');

    const health = await httpsGet(`${notaryServer.url}/_notary_server/health`, { caPem: ca.caPem });
    expect(health.status).toBe(200);
  });

  describe('a repository published with notary', () => {
    // Not a loopback name: docker verifies the trust server's certificate for it.
    const gun = 'example.com/harness/repo';

    beforeAll(async () => {
      await publish(gun, 'v1');
    });

    it('notary list shows v1 with the sha256 of the file', async () => {
      const list = expectSuccess(await notary(['list', gun]), 'notary list');
      const row = list.stdout.split('\n').find((line) => line.startsWith('v1 '));
      expect(row, list.stdout).toBeDefined();
      expect(row?.trim().split(/\s+/)).toEqual(['v1', payloadHex, String(payloadSize), 'targets']);
    });

    it('docker trust inspect reads the tag from notary-server when given its URL and CA', async () => {
      if (!notaryServer) throw new Error('notary-server is not running');
      const env = { DOCKER_CONTENT_TRUST_SERVER: notaryServer.url };
      const inspect = expectSuccess(
        await docker(['trust', 'inspect', gun], env, true),
        'docker trust inspect',
      );
      const [repo] = JSON.parse(inspect.stdout) as Array<{
        Name: string;
        SignedTags: Array<{ SignedTag: string; Digest: string; Signers: string[] }>;
      }>;
      expect(repo?.Name).toBe(gun);
      expect(repo?.SignedTags).toEqual([{ SignedTag: 'v1', Digest: payloadHex, Signers: ['Repo Admin'] }]);
    });

    it('docker trust inspect fails without the CA for a non-loopback name', async () => {
      if (!notaryServer) throw new Error('notary-server is not running');
      const env = { DOCKER_CONTENT_TRUST_SERVER: notaryServer.url };
      const inspect = await docker(['trust', 'inspect', gun], env, false);
      expect(inspect.code).not.toBe(0);
      expect(inspect.stderr).toContain(`no signatures or cannot access ${gun}`);
    });
  });

  describe('a repository named after the loopback registry', () => {
    let gun: string;

    beforeAll(async () => {
      if (!registry) throw new Error('docker-registry is not running');
      gun = `${registry.host}/harness/repo`;
      await publish(gun, 'v1');
    });

    it('a trusted docker pull resolves v1 to its digest through notary-server, then needs a daemon', async () => {
      if (!notaryServer) throw new Error('notary-server is not running');
      // Loopback registry: docker skips the trust server's certificate check, so no CA is installed.
      const pull = await docker(['pull', `${gun}:v1`], dockerTrustEnv(notaryServer.url));
      expect(pull.stdout).toContain(`Pull (1 of 1): ${gun}:v1@sha256:${payloadHex}`);
      expect(pull.code).not.toBe(0);
      expect(pull.stderr).toContain('Cannot connect to the Docker daemon');
    });

    it('without DOCKER_CONTENT_TRUST_SERVER docker asks the registry, which has no trust data', async () => {
      if (!registry) throw new Error('docker-registry is not running');
      const pull = await docker(['pull', `${gun}:v1`], { DOCKER_CONTENT_TRUST: '1' });
      expect(pull.code).not.toBe(0);
      expect(pull.stdout).not.toContain('Pull (1 of 1)');
      expect(pull.stderr).toContain(`${registry.host} does not have trust data for ${gun}`);
    });
  });
});
