/**
 * A Registry HTTP API v2 client with Docker token auth: what `docker pull`
 * and `docker push` do on the wire, without a daemon.
 *
 * - every request carries a token for `repository:<name>:pull` (or
 *   `pull,push` when pushing), fetched once from the realm of the /v2/
 *   challenge; a 401 on a request drops the token and retries once;
 * - manifests and blobs are checked against their digest before anyone
 *   sees them (docker's verifier in distribution/registry/client);
 * - push: HEAD each blob, upload only the missing ones (POST to open an
 *   upload, PUT with `?digest=` to finish: the monolithic upload), then
 *   PUT the manifest bytes unchanged, so the digest is kept.
 */
import { createHash } from 'node:crypto';
import type { Credentials } from './auth.js';
import { Authorizer, describeErrorBody } from './auth.js';
import { RegistryError } from './errors.js';
import type { HttpResponse } from './http.js';
import type { HubSocket } from './hub-address.js';
import { HttpClient } from './http.js';
import { ACCEPT } from './manifest.js';

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export interface FetchedManifest {
  bytes: Buffer;
  digest: string;
  contentType: string;
}

export interface RegistryClientOptions {
  /** Registry origin, e.g. https://localhost:4443 */
  origin: URL;
  credentials?: Credentials | undefined;
  /** PEM of an extra CA to trust (TRUSTLAB_HUB_CA). */
  ca?: string | undefined;
  /** TRUSTLAB_HUB_SOCKET for the hub (see HttpClientOptions; left out, read from the process). */
  hubSocket?: HubSocket | null;
}

export class RegistryClient {
  readonly http: HttpClient;
  readonly auth: Authorizer;

  constructor(private readonly options: RegistryClientOptions) {
    this.http = new HttpClient(
      options.ca,
      options.hubSocket === undefined ? {} : { hubSocket: options.hubSocket },
    );
    this.auth = new Authorizer(this.http, options.origin, options.credentials);
  }

  close(): void {
    this.http.close();
  }

  private url(path: string): URL {
    return new URL(path, this.options.origin);
  }

  private async send(
    repository: string,
    actions: string,
    path: string | URL,
    init: { method?: string; headers?: Record<string, string>; body?: Uint8Array; maxBytes?: number } = {},
  ): Promise<HttpResponse> {
    const url = typeof path === 'string' ? this.url(path) : path;
    const scope = [`repository:${repository}:${actions}`];
    for (let attempt = 0; ; attempt++) {
      const headers = { ...(await this.auth.headers(scope)), ...init.headers };
      const response = await this.http.request(url, { ...init, headers });
      if (response.status === 401 && attempt === 0) {
        this.auth.reset();
        continue;
      }
      return response;
    }
  }

  private refused(response: HttpResponse, what: string, repository: string, pushing: boolean): RegistryError {
    const detail = describeErrorBody(response);
    if (response.status === 401 || response.status === 403) {
      if (pushing) {
        return new RegistryError('DENIED', detail ?? 'denied: requested access to the resource is denied', {
          status: response.status,
          suggestion:
            'Log in with `docker login` and push only to your own namespace (<username>/<repository>).',
        });
      }
      return new RegistryError(
        'DENIED',
        `pull access denied for ${repository}, repository does not exist or may require 'docker login': ${detail ?? 'denied: requested access to the resource is denied'}`,
        { status: response.status, suggestion: 'Check the image name, or log in with `docker login`.' },
      );
    }
    if (response.status === 404) {
      return new RegistryError('NOT_FOUND', detail ?? `${what} not found`, { status: 404 });
    }
    return new RegistryError('PROTOCOL', `${what}: ${detail ?? `unexpected status ${response.status}`}`, {
      status: response.status,
    });
  }

  /** GET a manifest by tag or digest; by digest the bytes must hash to it. */
  async getManifest(
    repository: string,
    reference: string,
    displayName = repository,
  ): Promise<FetchedManifest> {
    const response = await this.send(repository, 'pull', `/v2/${repository}/manifests/${reference}`, {
      headers: { Accept: ACCEPT },
      maxBytes: 4 * 1024 * 1024,
    });
    if (response.status !== 200) {
      const error = this.refused(response, `manifest ${reference}`, repository, false);
      if (error.code === 'NOT_FOUND') {
        const detail = describeErrorBody(response) ?? 'manifest unknown: manifest unknown';
        throw new RegistryError(
          'NOT_FOUND',
          `manifest for ${displayName}${reference.startsWith('sha256:') ? '@' : ':'}${reference} not found: ${detail}`,
          {
            status: 404,
            suggestion: 'Check the tag: `docker pull <name>:<tag>` pulls only tags that were pushed.',
          },
        );
      }
      throw error;
    }
    const digest = sha256Digest(response.body);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError('DIGEST_MISMATCH', `manifest verification failed for digest ${reference}`, {
        suggestion:
          'The registry sent content that does not match its digest: it may have been tampered with.',
      });
    }
    const declared = response.header('docker-content-digest');
    if (!reference.startsWith('sha256:') && declared && declared !== digest) {
      throw new RegistryError('DIGEST_MISMATCH', `manifest verification failed for digest ${declared}`);
    }
    return { bytes: response.body, digest, contentType: response.header('content-type') ?? '' };
  }

  /** GET a blob and check it against its digest. */
  async getBlob(repository: string, digest: string, maxBytes = 2 * 1024 * 1024 * 1024): Promise<Buffer> {
    const response = await this.send(repository, 'pull', `/v2/${repository}/blobs/${digest}`, { maxBytes });
    if (response.status !== 200) {
      const error = this.refused(response, `blob ${digest}`, repository, false);
      if (error.code === 'NOT_FOUND') {
        throw new RegistryError('NOT_FOUND', `blob unknown: blob unknown to registry (${digest})`, {
          status: 404,
        });
      }
      throw error;
    }
    if (sha256Digest(response.body) !== digest) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `filesystem layer verification failed for digest ${digest}`,
        {
          suggestion:
            'The registry sent content that does not match its digest: it may have been tampered with.',
        },
      );
    }
    return response.body;
  }

  async hasBlob(repository: string, digest: string): Promise<boolean> {
    const response = await this.send(repository, 'pull,push', `/v2/${repository}/blobs/${digest}`, {
      method: 'HEAD',
    });
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw this.refused(response, `blob ${digest}`, repository, true);
  }

  /** Monolithic upload: POST to open the session, PUT the bytes with ?digest=. */
  async putBlob(repository: string, digest: string, bytes: Uint8Array): Promise<void> {
    const opened = await this.send(repository, 'pull,push', `/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      body: new Uint8Array(0),
    });
    if (opened.status !== 202) throw this.refused(opened, 'blob upload', repository, true);
    const location = opened.header('location');
    if (!location) throw new RegistryError('PROTOCOL', 'blob upload: the registry gave no upload location');
    const target = new URL(location, this.options.origin);
    target.searchParams.set('digest', digest);
    const done = await this.send(repository, 'pull,push', target, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      body: bytes,
    });
    if (done.status !== 201) throw this.refused(done, 'blob upload', repository, true);
  }

  /** PUT the manifest bytes as they are; returns the digest the registry reports. */
  async putManifest(repository: string, tag: string, mediaType: string, bytes: Uint8Array): Promise<string> {
    const response = await this.send(repository, 'pull,push', `/v2/${repository}/manifests/${tag}`, {
      method: 'PUT',
      headers: { 'Content-Type': mediaType },
      body: bytes,
    });
    if (response.status !== 201) throw this.refused(response, 'manifest upload', repository, true);
    const digest = sha256Digest(bytes);
    const declared = response.header('docker-content-digest');
    if (declared && declared !== digest) {
      throw new RegistryError(
        'DIGEST_MISMATCH',
        `the registry stored the manifest as ${declared}, expected ${digest}`,
      );
    }
    return digest;
  }
}
