/**
 * Test helpers for the hub: a temporary hub over HTTPS, a small HTTPS
 * client trusting the lab CA, and docker-like token handling.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createHub, type Hub, type HubConfig } from '../../hub/src/index.js';

export interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json<T = unknown>(): T;
  header(name: string): string | undefined;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string;
  token?: string;
  basic?: { user: string; password: string };
}

export function sha256(bytes: Buffer | string): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export class HubClient {
  private readonly agent: https.Agent;

  constructor(
    readonly url: string,
    ca: string,
  ) {
    this.agent = new https.Agent({ ca, keepAlive: false });
  }

  request(method: string, target: string, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    if (options.basic) {
      headers.Authorization = `Basic ${Buffer.from(`${options.basic.user}:${options.basic.password}`).toString('base64')}`;
    }
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    if (body !== undefined && headers['Content-Length'] === undefined)
      headers['Content-Length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const base = new URL(this.url);
      // `path` is sent as given (no `..` normalisation), as docker would send it.
      const options = {
        method,
        headers,
        agent: this.agent,
        host: base.hostname,
        port: base.port,
        path: target,
      };
      const req = https.request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const bytes = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: bytes,
            json: <T>() => JSON.parse(bytes.toString('utf8')) as T,
            header: (name: string) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(', ') : value;
            },
          });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** A token from the hub's token endpoint, as docker would ask for it. */
  async token(scopes: string[], basic?: { user: string; password: string }): Promise<string> {
    const query = new URLSearchParams({ service: 'trustlab-hub' });
    for (const scope of scopes) query.append('scope', scope);
    const res = await this.request('GET', `/token?${query.toString()}`, basic ? { basic } : {});
    if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${res.body.toString()}`);
    return res.json<{ token: string }>().token;
  }

  /** Monolithic blob push; returns the response. */
  pushBlob(
    repository: string,
    bytes: Buffer | string,
    token: string,
    digest = sha256(bytes),
  ): Promise<Response> {
    return this.request('POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, {
      token,
      body: bytes,
      headers: { 'Content-Type': 'application/octet-stream' },
    });
  }

  pushManifest(
    repository: string,
    reference: string,
    manifest: Buffer | string,
    mediaType: string,
    token: string,
  ) {
    return this.request('PUT', `/v2/${repository}/manifests/${reference}`, {
      token,
      body: manifest,
      headers: { 'Content-Type': mediaType },
    });
  }
}

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** A small image: config + layers, with the manifest bytes that describe them. */
export function makeImage(seed: string, mediaType = DOCKER_MANIFEST) {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layers = [Buffer.from(`layer-one-${seed}`), Buffer.from(`layer-two-${seed}`.repeat(100))];
  const oci = mediaType === OCI_MANIFEST;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: oci
          ? 'application/vnd.oci.image.config.v1+json'
          : 'application/vnd.docker.container.image.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: layers.map((layer) => ({
        mediaType: oci
          ? 'application/vnd.oci.image.layer.v1.tar+gzip'
          : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        digest: sha256(layer),
        size: layer.length,
      })),
    }),
  );
  return { config, layers, manifest, mediaType, digest: sha256(manifest) };
}

export interface TestHub {
  hub: Hub;
  client: HubClient;
  dataDir: string;
  close(): Promise<void>;
}

export async function startHub(config: Partial<HubConfig> = {}): Promise<TestHub> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-hub-'));
  const hub = createHub({ dataDir, host: '127.0.0.1', port: 0, ...config });
  const url = await hub.listen();
  const client = new HubClient(url, hub.caCertificate ?? '');
  return {
    hub,
    client,
    dataDir,
    close: async () => {
      await hub.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
