/**
 * A hub that serves other bytes than were signed: a tiny HTTPS proxy (with
 * the hub's own certificate) in front of the hub rewrites the manifest of
 * one digest. The lab's docker must refuse it, with trust (the signed
 * length and sha256) and without (the digest the registry names), and must
 * not tag anything.
 */
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type TestHub } from '../hub/helpers.js';
import { dockerHome, runDocker, type DockerHome } from './docker-helpers.js';

async function tamperingProxy(hub: TestHub, tamper: (url: string, body: Buffer) => Buffer | undefined) {
  const hubUrl = new URL(hub.hub.url);
  const agent = new https.Agent({ ca: hub.hub.caCertificate ?? '' });
  const server = https.createServer(
    {
      key: await readFile(path.join(hub.hub.directory, 'server.key')),
      cert: await readFile(path.join(hub.hub.directory, 'server.crt')),
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const upstream = https.request(
          {
            host: hubUrl.hostname,
            port: hubUrl.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent,
          },
          (up) => {
            const body: Buffer[] = [];
            up.on('data', (c: Buffer) => body.push(c));
            up.on('end', () => {
              const original = Buffer.concat(body);
              const replaced = req.method === 'GET' ? tamper(req.url ?? '', original) : undefined;
              const headers = { ...up.headers };
              const sent = replaced ?? original;
              headers['content-length'] = String(sent.length);
              res.writeHead(up.statusCode ?? 502, headers);
              res.end(sent);
            });
          },
        );
        upstream.on('error', () => res.destroy());
        upstream.end(Buffer.concat(chunks));
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('a tampered manifest', () => {
  let t: TestHub;
  let proxy: { url: string; close(): Promise<void> };
  let publisher: DockerHome;
  let victim: DockerHome;
  let signedDigest = '';

  beforeAll(async () => {
    t = await startHub();
    await t.hub.accounts.createAccount('mallory', 'mallory-password');
    // The server certificate names 127.0.0.1, so the proxy passes TLS checks with the lab CA.
    proxy = await tamperingProxy(t, (url, body) => {
      if (signedDigest === '' || !url.includes('/manifests/')) return undefined;
      if (!url.endsWith(signedDigest) && !url.endsWith('/manifests/signed')) return undefined;
      const json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      return Buffer.from(JSON.stringify({ ...json, annotations: { evil: 'yes' } }));
    });
    publisher = await dockerHome(t.hub.url, t.hub.caCertificate ?? '');
    victim = await dockerHome(proxy.url, t.hub.caCertificate ?? '');
    const env = publisher.env;
    expect(
      (await runDocker(['login', '-u', 'mallory', '--password-stdin'], env, 'mallory-password\n')).code,
    ).toBe(0);
    expect((await runDocker(['pull', 'busybox'], env)).code).toBe(0);
    expect((await runDocker(['tag', 'busybox', 'mallory/app:signed'], env)).code).toBe(0);
    const push = await runDocker(['push', 'mallory/app:signed'], {
      ...env,
      DOCKER_CONTENT_TRUST: '1',
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-passphrase-1',
      DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: 'repo-passphrase-1',
    });
    expect(push.stdout).toContain('Successfully signed docker.io/mallory/app:signed');
    signedDigest = /signed: digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)![1]!;
  });

  afterAll(async () => {
    await publisher?.cleanup();
    await victim?.cleanup();
    await proxy?.close();
    await t?.close();
  });

  it('is refused by a trusted pull, and nothing is tagged', async () => {
    const result = await runDocker(['pull', 'mallory/app:signed'], {
      ...victim.env,
      DOCKER_CONTENT_TRUST: '1',
    });
    expect(result.stdout).toContain(`Pull (1 of 1): mallory/app:signed@${signedDigest}`);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/verification failed|does not match its trust data/);
    const images = await runDocker(['images'], victim.env);
    expect(images.stdout).not.toContain('mallory/app');
  });

  it('is refused by a pull by tag without trust (the registry named another digest)', async () => {
    const result = await runDocker(['pull', 'mallory/app:signed'], victim.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^Error response from daemon: manifest verification failed for digest sha256:/,
    );
  });

  it('is refused by a pull by digest', async () => {
    const result = await runDocker(['pull', `mallory/app@${signedDigest}`], victim.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `Error response from daemon: manifest verification failed for digest ${signedDigest}\n`,
    );
  });
});
