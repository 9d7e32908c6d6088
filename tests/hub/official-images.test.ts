/**
 * The hub's official images: real layers, configs and manifests in
 * `library/busybox` and `library/alpine`, signed as `docker.io/library/…`,
 * stable across restarts, and verified by the real docker CLI (no daemon)
 * pointed at the hub as its trust server.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metadata, Updater } from '../../trust-core/src/index.js';
import { createHub, type Hub, type NotaryService } from '../../hub/src/index.js';
import { LocalRemote, MemoryCache } from '../../hub/src/notary/local-remote.js';
import { OFFICIAL_IMAGES, buildImage } from '../../hub/src/official/official-images.js';
import {
  installDockerTrustCa,
  makeTempDir,
  removeTempDir,
  requireBinariesForSuite,
  runDocker,
} from '../support/index.js';
import { HubClient } from './helpers.js';

const available = requireBinariesForSuite(['docker']);
const sha = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let dataDir: string;
let hub: Hub;
let client: HubClient;

async function start(): Promise<void> {
  hub = createHub({ dataDir, host: '127.0.0.1', port: 0 });
  client = new HubClient(await hub.listen(), hub.caCertificate ?? '');
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-official-'));
  await start();
});

afterAll(async () => {
  await hub?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function pullManifest(repository: string, tag: string) {
  const token = await client.token([`repository:${repository}:pull`]);
  const res = await client.request('GET', `/v2/${repository}/manifests/${tag}`, {
    token,
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  return { res, token };
}

describe('official images', () => {
  it('are real images: layer tar.gz, config diff_ids, schema 2 manifest', async () => {
    for (const spec of OFFICIAL_IMAGES) {
      for (const tag of spec.tags) {
        const { res, token } = await pullManifest(spec.repository, tag);
        expect(res.status).toBe(200);
        expect(res.header('docker-content-digest')).toBe(buildImage(spec).digest);
        const manifest = res.json<{
          schemaVersion: number;
          config: { digest: string };
          layers: { digest: string; mediaType: string }[];
        }>();
        expect(manifest.schemaVersion).toBe(2);
        const config = (
          await client.request('GET', `/v2/${spec.repository}/blobs/${manifest.config.digest}`, { token })
        ).json<{ architecture: string; os: string; rootfs: { diff_ids: string[] } }>();
        expect([config.architecture, config.os]).toEqual(['amd64', 'linux']);
        const layer = (
          await client.request('GET', `/v2/${spec.repository}/blobs/${manifest.layers[0]?.digest}`, { token })
        ).body;
        expect(sha(layer)).toBe(manifest.layers[0]?.digest);
        const tar = gunzipSync(layer);
        expect(config.rootfs.diff_ids).toEqual([sha(tar)]);
        expect(tar.subarray(257, 262).toString()).toBe('ustar');
        expect(tar.includes(Buffer.from('bin/sh'))).toBe(true);
      }
    }
  });

  it('are signed as docker.io/library/… with the manifest digest, and survive a restart unchanged', async () => {
    const before = new Map<string, Buffer>();
    for (const spec of OFFICIAL_IMAGES) {
      const gun = `docker.io/${spec.repository}`;
      const trusted = await new Updater({
        gun,
        remote: new LocalRemote(requireNotary(), gun),
        cache: new MemoryCache(),
      }).refresh();
      const image = buildImage(spec);
      for (const tag of spec.tags) {
        const meta = trusted.targets.signed.targets[tag];
        expect(meta?.length).toBe(image.manifest.length);
        expect(Buffer.from(meta?.hashes.sha256 ?? []).toString('hex')).toBe(image.digest.slice(7));
        expect(Object.keys(meta?.hashes ?? {})).toEqual(['sha256']);
      }
      const root = await client.request('GET', `/v2/${gun}/_trust/tuf/root.json`);
      expect(Metadata.parse(root.body, 'Root').signed.version).toBe(1);
      before.set(gun, (await client.request('GET', `/v2/${gun}/_trust/tuf/targets.json`)).body);
    }
    await hub.close();
    await start();
    for (const [gun, targets] of before) {
      expect((await client.request('GET', `/v2/${gun}/_trust/tuf/targets.json`)).body.equals(targets)).toBe(
        true,
      );
    }
    for (const spec of OFFICIAL_IMAGES) {
      expect((await pullManifest(spec.repository, 'latest')).res.header('docker-content-digest')).toBe(
        buildImage(spec).digest,
      );
    }
  });

  it('are read-only for every account, trust data included', async () => {
    await hub.accounts.createAccount('mallory', 'mallory-password');
    const token = await client.token(
      ['repository:docker.io/library/busybox:*', 'repository:library/busybox:push,pull'],
      { user: 'mallory', password: 'mallory-password' },
    );
    const del = await client.request('DELETE', '/v2/docker.io/library/busybox/_trust/tuf/', { token });
    expect(del.status).toBe(401);
    expect(del.header('www-authenticate')).toContain('insufficient_scope');
    const push = await client.pushBlob('library/busybox', 'x', token);
    expect(push.status).toBe(403);
  });
});

function requireNotary(): NotaryService {
  if (!hub.notary) throw new Error('the hub is not listening');
  return hub.notary;
}

describe.skipIf(!available)('official images through the real docker CLI', () => {
  let dockerConfig: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dockerConfig = await makeTempDir('docker-official');
    // docker.io is not a loopback registry: docker verifies the trust server's certificate.
    const server = `https://localhost:${new URL(hub.url).port}`;
    await installDockerTrustCa(dockerConfig, server, hub.caCertificatePath as string);
    env = { DOCKER_CONTENT_TRUST_SERVER: server };
  });
  afterAll(async () => {
    if (dockerConfig) await removeTempDir(dockerConfig);
  });

  it('docker trust inspect busybox lists the signed tags', async () => {
    const result = await runDocker(['trust', 'inspect', 'busybox'], { dockerConfig, env });
    expect(result.code, result.stderr).toBe(0);
    const [inspect] = JSON.parse(result.stdout) as {
      Name: string;
      SignedTags: { SignedTag: string; Digest: string }[];
    }[];
    const digest = buildImage(OFFICIAL_IMAGES[0] as (typeof OFFICIAL_IMAGES)[number]).digest.slice(7);
    expect(inspect?.Name).toBe('busybox');
    expect(inspect?.SignedTags.map((s) => [s.SignedTag, s.Digest])).toEqual([
      ['1.36', digest],
      ['latest', digest],
    ]);
  });

  it('a trusted pull of alpine resolves the version tag', async () => {
    const result = await runDocker(['pull', 'alpine:3.20'], {
      dockerConfig,
      env: { ...env, DOCKER_CONTENT_TRUST: '1' },
    });
    const alpine = buildImage(OFFICIAL_IMAGES[1] as (typeof OFFICIAL_IMAGES)[number]);
    expect(result.stdout).toContain(`Pull (1 of 1): alpine:3.20@${alpine.digest}`);
  });
});
