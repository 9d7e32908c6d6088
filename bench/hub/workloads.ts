/**
 * The requests the hub benchmark times, written once and run unchanged against the hub and the
 * real programs: blob upload (POST then PUT with the whole body, the "monolithic" form of the
 * distribution spec) and download (GET), manifest PUT and GET (OCI image manifests, each PUT a new
 * tag with distinct content), and Notary metadata GET. Only the Authorization header differs: the
 * hub wants a bearer token on registry requests, fetched here before any timing starts.
 *
 * Fair by construction: identical bodies and headers, identical response checks (status, length,
 * digest where the protocol gives one), and a trust repository published with the same client
 * (trust-core's NotaryRepository) and the same content on both Notary servers.
 */
import { createHash, randomBytes } from 'node:crypto';

import { fixedPassphraseRetriever } from '../../trust-core/src/crypto/index.js';
import { FileMeta } from '../../trust-core/src/models/file-meta.js';
import { NotaryRepository } from '../../trust-core/src/node/index.js';
import { fetchHubToken } from './servers.js';
import type { LoadClient } from './load.js';
import { RequestError } from './load.js';

export const REPOSITORY = 'bench/app';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

export const sha256Digest = (bytes: Uint8Array) =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A registry under test: its client and how requests authenticate (per load-generator client). */
export interface RegistryTarget {
  label: string;
  client: LoadClient;
  auth: 'bearer token (hub token endpoint)' | 'none';
  headers(client: number): Record<string, string>;
  /** Fetch fresh credentials for `clients` clients; never inside a timed section. */
  prepareAuth(clients: number): Promise<void>;
}

export function openRegistryTarget(label: string, client: LoadClient): RegistryTarget {
  return { label, client, auth: 'none', headers: () => ({}), prepareAuth: async () => {} };
}

export function hubRegistryTarget(label: string, client: LoadClient): RegistryTarget {
  let tokens: string[] = [];
  return {
    label,
    client,
    auth: 'bearer token (hub token endpoint)',
    headers: (i) => {
      const token = tokens[i];
      if (token === undefined) throw new Error(`no token for client ${i}; prepareAuth first`);
      return { Authorization: `Bearer ${token}` };
    },
    prepareAuth: async (clients) => {
      const fresh: string[] = [];
      // A few at a time: each one is an scrypt password check on the hub.
      for (let i = 0; i < clients; i += 8) {
        const batch = Array.from({ length: Math.min(8, clients - i) }, () =>
          fetchHubToken(client, `repository:${REPOSITORY}:push,pull`),
        );
        fresh.push(...(await Promise.all(batch)));
      }
      tokens = fresh;
    },
  };
}

/** POST /v2/<name>/blobs/uploads/ then PUT <Location>?digest=… with the whole blob. */
export async function uploadBlob(
  target: RegistryTarget,
  i: number,
  bytes: Buffer,
  digest: string,
): Promise<void> {
  const started = await target.client.request({
    method: 'POST',
    path: `/v2/${REPOSITORY}/blobs/uploads/`,
    headers: target.headers(i),
    expect: [202],
  });
  const location = started.headers.location;
  if (typeof location !== 'string') throw new RequestError('upload start answered without Location');
  const url = new URL(location, target.client.base);
  url.searchParams.set('digest', digest);
  const finished = await target.client.request({
    method: 'PUT',
    path: url.href,
    headers: { ...target.headers(i), 'Content-Type': 'application/octet-stream' },
    body: bytes,
    expect: [201],
  });
  const stored = finished.headers['docker-content-digest'];
  if (stored !== undefined && stored !== digest)
    throw new RequestError(`upload stored ${String(stored)}, sent ${digest}`);
}

/** GET /v2/<name>/blobs/<digest>, body counted (not kept); `verify` also hashes it. */
export async function downloadBlob(
  target: RegistryTarget,
  i: number,
  digest: string,
  size: number,
  verify = false,
): Promise<void> {
  const response = await target.client.request({
    method: 'GET',
    path: `/v2/${REPOSITORY}/blobs/${digest}`,
    headers: target.headers(i),
    expect: [200],
    collect: verify,
  });
  if (response.bytes !== size)
    throw new RequestError(`blob ${digest}: got ${response.bytes} bytes, expected ${size}`);
  if (verify && sha256Digest(response.body!) !== digest)
    throw new RequestError(`blob ${digest}: content does not match`);
}

/** The config and layer blobs every benchmark manifest points at. */
export interface ManifestBase {
  config: { digest: string; size: number };
  layer: { digest: string; size: number };
}

/** Upload the two small blobs manifests reference (untimed setup, same content on every target). */
export async function prepareManifestBase(target: RegistryTarget, seed: Buffer): Promise<ManifestBase> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      seed: seed.toString('hex'),
    }),
  );
  const layer = Buffer.concat([seed, randomBytes(1024)]);
  const base = {
    config: { digest: sha256Digest(config), size: config.length },
    layer: { digest: sha256Digest(layer), size: layer.length },
  };
  await uploadBlob(target, 0, config, base.config.digest);
  await uploadBlob(target, 0, layer, base.layer.digest);
  return base;
}

/** An OCI image manifest; `label` goes into an annotation so every manifest has its own digest. */
export function manifestBody(base: ManifestBase, label: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: base.config.digest, size: base.config.size },
      layers: [{ mediaType: OCI_LAYER, digest: base.layer.digest, size: base.layer.size }],
      annotations: { 'org.trustlab.bench': label },
    }),
  );
}

export async function putManifest(
  target: RegistryTarget,
  i: number,
  tag: string,
  body: Buffer,
): Promise<void> {
  const response = await target.client.request({
    method: 'PUT',
    path: `/v2/${REPOSITORY}/manifests/${tag}`,
    headers: { ...target.headers(i), 'Content-Type': OCI_MANIFEST },
    body,
    expect: [201],
  });
  const digest = response.headers['docker-content-digest'];
  if (digest !== undefined && digest !== sha256Digest(body))
    throw new RequestError(`manifest ${tag}: stored as ${String(digest)}`);
}

export async function getManifest(
  target: RegistryTarget,
  i: number,
  tag: string,
  expectedLength: number,
): Promise<void> {
  const response = await target.client.request({
    method: 'GET',
    path: `/v2/${REPOSITORY}/manifests/${tag}`,
    headers: { ...target.headers(i), Accept: OCI_MANIFEST },
    expect: [200],
  });
  if (response.bytes !== expectedLength) {
    throw new RequestError(`manifest ${tag}: ${response.bytes} bytes, expected ${expectedLength}`);
  }
}

/** A Notary server under test, with the files the metadata GETs fetch and their expected lengths. */
export interface MetadataTarget {
  label: string;
  client: LoadClient;
  files: Array<{ path: string; length: number }>;
}

export const GUN = '127.0.0.1:5000/bench/app';
export const METADATA_ROLES = ['timestamp', 'targets'] as const;
const PASSPHRASE = 'bench-passphrase-not-secret';

export const metadataPath = (role: string) => `/v2/${GUN}/_trust/tuf/${role}.json`;

/**
 * True when the server answers the Notary API for GUN: before anything is published, notary-server
 * (and a hub with the Notary API) answers root.json with 404 METADATA_NOT_FOUND; a hub without it
 * answers with a registry error (401 or NAME_UNKNOWN/NAME_INVALID).
 */
export async function notaryApiAvailable(client: LoadClient): Promise<{ ok: boolean; detail: string }> {
  const response = await client.request({
    method: 'GET',
    path: metadataPath('root'),
    expect: [200, 400, 401, 403, 404, 405],
    collect: true,
  });
  const text = response.body!.toString('utf8');
  const ok = response.status === 404 && text.includes('METADATA_NOT_FOUND');
  return { ok, detail: `GET root.json answered ${response.status} ${text.trim().slice(0, 200)}` };
}

/**
 * Publishes a small trust repository for GUN (root, targets with `targets` entries, snapshot,
 * server-signed timestamp) with trust-core, the client the lab itself uses, then reads the files
 * the benchmark will GET to learn their lengths.
 */
export async function publishTrustRepository(options: {
  label: string;
  client: LoadClient;
  url: string;
  caPem: string;
  trustDir: string;
  targets: number;
  /** A bearer token for `repository:<GUN>:push,pull` (the hub), or none (notary-server). */
  token?: string;
}): Promise<MetadataTarget> {
  const repo = new NotaryRepository({
    gun: GUN,
    trustDir: options.trustDir,
    server: options.url,
    ca: options.caPem,
    passphrases: fixedPassphraseRetriever({
      root: PASSPHRASE,
      targets: PASSPHRASE,
      snapshot: PASSPHRASE,
      delegation: PASSPHRASE,
    }),
    ...(options.token ? { headers: () => ({ Authorization: `Bearer ${options.token}` }) } : {}),
  });
  try {
    const editor = await repo.initialize();
    for (let i = 0; i < options.targets; i++) {
      const name = `v${i}`;
      editor.addTarget(name, FileMeta.forBytes(new TextEncoder().encode(`content of ${name}\n`)));
    }
    await repo.publish(editor);
    const check = await repo.update();
    const listed = Object.keys(check.targets.signed.targets).length;
    if (listed !== options.targets)
      throw new Error(`${options.label}: published ${options.targets} targets, read back ${listed}`);
  } finally {
    repo.close();
  }
  const files: MetadataTarget['files'] = [];
  for (const role of METADATA_ROLES) {
    const response = await options.client.request({ method: 'GET', path: metadataPath(role), expect: [200] });
    files.push({ path: metadataPath(role), length: response.bytes });
  }
  return { label: options.label, client: options.client, files };
}

export async function getMetadata(target: MetadataTarget, seq: number): Promise<void> {
  const file = target.files[seq % target.files.length]!;
  const response = await target.client.request({ method: 'GET', path: file.path, expect: [200] });
  if (response.bytes !== file.length) {
    throw new RequestError(`${file.path}: ${response.bytes} bytes, expected ${file.length}`);
  }
}
