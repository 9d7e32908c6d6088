/**
 * Trusted pulls the lab's `bin/docker` must refuse, against the real docker-registry and
 * notary-server (started on loopback with one test CA), each compared with what the real docker
 * CLI prints for the same trust data (it resolves trust before it needs a daemon):
 *
 * - a tag signed only in a delegation `targets/<user>`: docker pulls only what `targets/releases`
 *   or `targets` signed (docker/cli cli/command/image/trust.go getTrustedPullTargets). The trust
 *   data is made by the real notary CLI (init, delegation add, key import, addhash);
 * - a rollback: once the client has cached newer trust metadata, an HTTPS proxy in front of
 *   notary-server replays the older timestamp, snapshot and targets it recorded earlier (a freeze
 *   attack). notary's client refuses a timestamp whose version is lower than the cached one
 *   (tuf/builder.go, ErrLowVersion) and docker words it as "potential malicious behavior"
 *   (cli/trust/trust.go NotaryError). An older snapshot cannot be served on its own: the client
 *   asks for the snapshot by the hash the timestamp names, so only a whole older state replays.
 *
 * busybox and alpine come from the lab hub (docker.io names), then go to the registry unsigned.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type TestHub } from '../hub/helpers.js';
import {
  dockerTrustEnv,
  makeDelegateCertificate,
  makeTempDir,
  makeTestCa,
  removeTempDir,
  requireBinariesForSuite,
  runDocker as runRealDocker,
  runNotary,
  startNotaryServer,
  startRegistry,
  type NotaryServer,
  type Registry,
  type RunResult,
  type TestCa,
} from '../support/index.js';
import { dockerHome, runDocker, type DockerHome } from './docker-helpers.js';

// A missing program fails the file under CI=true and skips it (with a note) elsewhere.
const available = requireBinariesForSuite([
  'docker-registry',
  'notary-server',
  'notary',
  'docker',
  'openssl',
]);

const PASSPHRASES = {
  DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-passphrase-1',
  DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repo-passphrase-1',
};

interface Recorded {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * An HTTPS proxy in front of notary-server (with the server's certificate, so TLS checks pass). It
 * records every answer to a GET of trust metadata; `freeze()` keeps a copy of what it has seen so
 * far, and in `replay` mode those frozen answers are served instead of the server's current ones.
 */
async function replayingProxy(target: NotaryServer, ca: TestCa) {
  const upstream = new URL(target.url);
  const agent = new https.Agent({ ca: ca.caPem });
  const seen = new Map<string, Recorded>();
  let frozen = new Map<string, Recorded>();
  let replay = false;
  const replayed: string[] = [];
  const server = https.createServer(
    { key: await readFile(ca.keyPath), cert: await readFile(ca.certPath) },
    (req, res) => {
      const url = req.url ?? '/';
      const old = req.method === 'GET' && replay ? frozen.get(url) : undefined;
      if (old) {
        replayed.push(url);
        res.writeHead(old.status, old.headers);
        res.end(old.body);
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const forward = https.request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: url,
            headers: { ...req.headers, host: upstream.host },
            agent,
          },
          (up) => {
            const body: Buffer[] = [];
            up.on('data', (chunk: Buffer) => body.push(chunk));
            up.on('end', () => {
              const answer = { status: up.statusCode ?? 502, headers: up.headers, body: Buffer.concat(body) };
              if (req.method === 'GET' && url.includes('/_trust/tuf/')) seen.set(url, answer);
              res.writeHead(answer.status, answer.headers);
              res.end(answer.body);
            });
          },
        );
        forward.on('error', () => res.destroy());
        forward.end(Buffer.concat(chunks));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    freeze: () => {
      frozen = new Map(seen);
    },
    setReplay: (on: boolean) => {
      replay = on;
    },
    replayed,
    close: async () => {
      agent.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function version(file: string): Promise<number> {
  return readFile(file, 'utf8').then(
    (text) => (JSON.parse(text) as { signed: { version: number } }).signed.version,
  );
}

describe.skipIf(!available)('trusted pulls refused, against the real notary-server and registry', () => {
  let work: string;
  let ca: TestCa;
  let hub: TestHub;
  let registry: Registry;
  let notary: NotaryServer;
  let publisher: DockerHome;
  /** Digest (sha256:…) and manifest size of each image pushed, by name:tag. */
  const pushed = new Map<string, { digest: string; size: number }>();

  /** The real docker CLI with trust on against `serverUrl`, in `dockerConfig` (its trust cache). */
  function realDocker(args: readonly string[], dockerConfig: string, serverUrl: string): Promise<RunResult> {
    return runRealDocker(args, { dockerConfig, env: dockerTrustEnv(serverUrl) });
  }

  /** `docker push` without trust (an unsigned image in the registry); records digest and size. */
  async function pushUnsigned(source: string, name: string) {
    expect((await runDocker(['tag', source, name], publisher.env)).code).toBe(0);
    const result = await runDocker(['push', name], publisher.env);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const match = /: digest: (sha256:[0-9a-f]{64}) size: (\d+)\n$/.exec(result.stdout);
    expect(match, result.stdout).not.toBeNull();
    pushed.set(name, { digest: match![1]!, size: Number(match![2]) });
    return pushed.get(name)!;
  }

  beforeAll(async () => {
    work = await makeTempDir('docker-refusals');
    ca = await makeTestCa(work);
    hub = await startHub();
    registry = await startRegistry({ ca });
    notary = await startNotaryServer({ ca });
    publisher = await dockerHome(hub.hub.url, `${hub.hub.caCertificate ?? ''}\n${ca.caPem}`);
    for (const image of ['busybox', 'alpine']) {
      expect((await runDocker(['pull', image], publisher.env)).code).toBe(0);
    }
  });

  afterAll(async () => {
    await publisher?.cleanup();
    await notary?.stop();
    await registry?.stop();
    await hub?.close();
    if (work) await removeTempDir(work);
  });

  describe('a tag signed only in targets/<user>', () => {
    let repo = '';
    let learner: DockerHome;
    let trusted: NodeJS.ProcessEnv;

    beforeAll(async () => {
      repo = `${registry.host}/alice/delegated`;
      await pushUnsigned('busybox', `${repo}:user-only`);
      await pushUnsigned('alpine', `${repo}:admin`);
      await pushUnsigned('alpine', `${repo}:released`);
      // The real notary signs: `admin` in targets, `user-only` in targets/alice only, `released` in
      // targets/releases. alice's key signs both delegations, as docker's `trust signer add` sets up.
      const notaryDir = path.join(work, 'notary-publisher');
      const notaryRun = async (args: readonly string[]) => {
        const result = await runNotary(args, {
          trustDir: notaryDir,
          serverUrl: notary.url,
          caCertPath: ca.caCertPath,
        });
        expect(result.code, `notary ${args.join(' ')}\n${result.stdout}${result.stderr}`).toBe(0);
      };
      const addhash = (tag: string, role: string) => {
        const image = pushed.get(`${repo}:${tag}`)!;
        return notaryRun([
          'addhash',
          repo,
          tag,
          String(image.size),
          '--sha256',
          image.digest.slice('sha256:'.length),
          '--roles',
          role,
          '-p',
        ]);
      };
      await notaryRun(['init', repo, '-p']);
      await addhash('admin', 'targets');
      const alice = await makeDelegateCertificate(work, 'alice');
      await notaryRun(['delegation', 'add', repo, 'targets/alice', alice.certPath, '--all-paths', '-p']);
      await notaryRun(['delegation', 'add', repo, 'targets/releases', alice.certPath, '--all-paths', '-p']);
      await notaryRun(['key', 'import', alice.keyPath, '--role', 'targets/alice']);
      await addhash('user-only', 'targets/alice');
      await addhash('released', 'targets/releases');

      learner = await dockerHome(hub.hub.url, `${hub.hub.caCertificate ?? ''}\n${ca.caPem}`);
      trusted = { ...learner.env, DOCKER_CONTENT_TRUST: '1', DOCKER_CONTENT_TRUST_SERVER: notary.url };
    });

    afterAll(async () => {
      await learner?.cleanup();
    });

    it('is not pulled: docker says "No trust data for <tag>", as the docker CLI does', async () => {
      const result = await runDocker(['pull', `${repo}:user-only`], trusted);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe('No trust data for user-only\n');
      const images = await runDocker(['images'], learner.env);
      expect(images.stdout).not.toContain('delegated');

      const dockerConfig = await makeTempDir('real-docker-delegated');
      try {
        const real = await realDocker(['pull', `${repo}:user-only`], dockerConfig, notary.url);
        expect(real.code).toBe(1);
        expect(real.stdout).toBe('');
        expect(result.stderr).toBe(real.stderr);
      } finally {
        await removeTempDir(dockerConfig);
      }
    });

    it('tags signed in targets and in targets/releases are pulled, by the digests both CLIs resolve', async () => {
      const dockerConfig = await makeTempDir('real-docker-delegated');
      try {
        for (const tag of ['admin', 'released']) {
          const { digest } = pushed.get(`${repo}:${tag}`)!;
          const pullLine = `Pull (1 of 1): ${repo}:${tag}@${digest}\n`;
          const result = await runDocker(['pull', `${repo}:${tag}`], trusted);
          expect(result.code).toBe(0);
          expect(result.stdout.startsWith(pullLine)).toBe(true);
          expect(result.stderr).toBe(`Tagging ${repo}@${digest} as ${repo}:${tag}\n`);
          const real = await realDocker(['pull', `${repo}:${tag}`], dockerConfig, notary.url);
          expect(real.stdout).toBe(pullLine);
          expect(real.stderr).toMatch(/Cannot connect to the Docker daemon/);
        }
      } finally {
        await removeTempDir(dockerConfig);
      }
    });

    it('is pulled with --disable-content-trust (the registry has it)', async () => {
      const result = await runDocker(['pull', '--disable-content-trust', `${repo}:user-only`], trusted);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Digest: ${pushed.get(`${repo}:user-only`)!.digest}\n`);
    });

    it('trust inspect shows the same tags and signers as the docker CLI', async () => {
      const ours = await runDocker(['trust', 'inspect', repo], trusted);
      expect(ours.code).toBe(0);
      const dockerConfig = await makeTempDir('real-docker-delegated');
      try {
        const real = await realDocker(['trust', 'inspect', repo], dockerConfig, notary.url);
        expect(real.code).toBe(0);
        expect(ours.stdout).toBe(real.stdout);
      } finally {
        await removeTempDir(dockerConfig);
      }
    });
  });

  describe('a rollback replayed by a proxy in front of the trust server', () => {
    let repo = '';
    let proxy: Awaited<ReturnType<typeof replayingProxy>>;
    let victim: DockerHome;
    let trusted: NodeJS.ProcessEnv;
    let realConfig = '';
    let cachedTimestamp = '';

    beforeAll(async () => {
      repo = `${registry.host}/alice/rollback`;
      proxy = await replayingProxy(notary, ca);
      victim = await dockerHome(hub.hub.url, `${hub.hub.caCertificate ?? ''}\n${ca.caPem}`);
      trusted = { ...victim.env, DOCKER_CONTENT_TRUST: '1', DOCKER_CONTENT_TRUST_SERVER: proxy.url };
      realConfig = await makeTempDir('real-docker-rollback');
      cachedTimestamp = path.join(victim.home, '.docker', 'trust', 'tuf', repo, 'metadata', 'timestamp.json');
    });

    afterAll(async () => {
      await victim?.cleanup();
      await proxy?.close();
      if (realConfig) await removeTempDir(realConfig);
    });

    /** A signed push by the publisher, straight to notary-server. */
    async function signedPush(source: string, tag: string) {
      expect((await runDocker(['tag', source, `${repo}:${tag}`], publisher.env)).code).toBe(0);
      const result = await runDocker(['push', `${repo}:${tag}`], {
        ...publisher.env,
        ...PASSPHRASES,
        DOCKER_CONTENT_TRUST: '1',
        DOCKER_CONTENT_TRUST_SERVER: notary.url,
      });
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain(`Successfully signed ${repo}:${tag}\n`);
      expect(result.code).toBe(0);
      return /: digest: (sha256:[0-9a-f]{64}) size: /.exec(result.stdout)![1]!;
    }

    it('the victims (ours and the docker CLI) see v1 through the proxy, which records it', async () => {
      const digest = await signedPush('busybox', 'v1');
      const ours = await runDocker(['pull', `${repo}:v1`], trusted);
      expect(ours.code).toBe(0);
      expect(ours.stdout).toContain(`Pull (1 of 1): ${repo}:v1@${digest}\n`);
      const real = await realDocker(['pull', `${repo}:v1`], realConfig, proxy.url);
      expect(real.stdout).toBe(`Pull (1 of 1): ${repo}:v1@${digest}\n`);
      proxy.freeze();
    });

    it('after a newer publish both victims cache the newer trust data', async () => {
      const before = await version(cachedTimestamp);
      const digest = await signedPush('alpine', 'v2');
      const ours = await runDocker(['pull', `${repo}:v2`], trusted);
      expect(ours.code).toBe(0);
      expect(ours.stdout).toContain(`Pull (1 of 1): ${repo}:v2@${digest}\n`);
      const real = await realDocker(['pull', `${repo}:v2`], realConfig, proxy.url);
      expect(real.stdout).toBe(`Pull (1 of 1): ${repo}:v2@${digest}\n`);
      expect(await version(cachedTimestamp)).toBeGreaterThan(before);
    });

    it("the replayed older timestamp is refused with docker's rollback warning; the cache is kept", async () => {
      const cached = await version(cachedTimestamp);
      const imagesBefore = await runDocker(['images'], victim.env);
      proxy.setReplay(true);
      try {
        const ours = await runDocker(['pull', `${repo}:v1`], trusted);
        const real = await realDocker(['pull', `${repo}:v1`], realConfig, proxy.url);
        expect(proxy.replayed.some((url) => url.endsWith('/_trust/tuf/timestamp.json'))).toBe(true);
        expect(ours.code).toBe(1);
        expect(ours.stdout).toBe('');
        const match =
          /^Warning: potential malicious behavior - trust data version is lower than expected for remote repository (\S+): version (\d+) is lower than current version (\d+)\n$/.exec(
            ours.stderr,
          );
        expect(match, ours.stderr).not.toBeNull();
        expect(match![1]).toBe(repo);
        expect(Number(match![3])).toBe(cached);
        expect(Number(match![2])).toBeLessThan(cached);
        expect(real.code).toBe(1);
        expect(real.stdout).toBe('');
        expect(ours.stderr).toBe(real.stderr);
        // The local images are as they were, and the newer trust data is still what the client trusts.
        expect((await runDocker(['images'], victim.env)).stdout).toBe(imagesBefore.stdout);
        expect(await version(cachedTimestamp)).toBe(cached);
      } finally {
        proxy.setReplay(false);
      }
    });

    it('once the proxy serves the current data again, pulls work again', async () => {
      const ours = await runDocker(['pull', `${repo}:v1`], trusted);
      expect(ours.stderr).toContain(`as ${repo}:v1\n`);
      expect(ours.code).toBe(0);
    });
  });
});
