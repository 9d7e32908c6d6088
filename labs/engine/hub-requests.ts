/**
 * What a hub record says, in the terms checks reason with: a manifest
 * pushed or served, trust metadata fetched, trust data published. Paths
 * follow the Registry HTTP API v2 and notary-server's API as the hub
 * records them (hub/src/registry/routes.ts, hub/src/notary/routes.ts).
 */
import type { HubRecord } from './facts.js';

const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const TRUST_METADATA = /\/_trust\/tuf\/[^/]+\.json$/;
const TRUST_ROOT = /\/_trust\/tuf\/$/;

export const isSuccess = (record: HubRecord): boolean => record.status >= 200 && record.status < 300;

export interface ManifestRequest {
  repository: string;
  /** The tag or digest in the URL. */
  reference: string;
  /** The digest the hub stored or served (set on success). */
  digest: string | undefined;
}

/** The manifest a record is about, if it is a manifest request. */
export function manifestOf(record: HubRecord): ManifestRequest | undefined {
  const match = MANIFEST_PATH.exec(record.path);
  if (!match || record.repository === undefined || match[1] !== record.repository) return undefined;
  return { repository: record.repository, reference: record.reference ?? match[2]!, digest: record.digest };
}

/** A manifest stored under `tag` of `repository` (the end of a `docker push`). */
export function isManifestPush(record: HubRecord, repository: string, tag?: string): boolean {
  const manifest = manifestOf(record);
  return (
    record.method === 'PUT' &&
    record.status === 201 &&
    manifest?.repository === repository &&
    (tag === undefined || manifest.reference === tag)
  );
}

/** Any read of a manifest of `repository` (GET or HEAD, whatever the answer). */
export function isManifestRead(record: HubRecord, repository: string): boolean {
  return (
    (record.method === 'GET' || record.method === 'HEAD') && manifestOf(record)?.repository === repository
  );
}

/** A manifest of `repository` served in full (`GET` answered 2xx) for `reference`. */
export function isManifestServed(record: HubRecord, repository: string, reference: string): boolean {
  const manifest = manifestOf(record);
  return (
    record.method === 'GET' &&
    isSuccess(record) &&
    manifest?.repository === repository &&
    manifest.reference === reference
  );
}

/** A GET of a TUF metadata file (`root.json`, `timestamp.json`, …) of `gun`, whatever the answer. */
export function isTrustMetadataGet(record: HubRecord, gun: string): boolean {
  return record.method === 'GET' && record.gun === gun && TRUST_METADATA.test(record.path);
}

/** New trust data for `gun` accepted by the hub (a signed push, `notary publish`, `docker trust sign`). */
export function isTrustPublish(record: HubRecord, gun: string): boolean {
  return record.method === 'POST' && record.gun === gun && TRUST_ROOT.test(record.path) && isSuccess(record);
}

/** All trust data of `gun` deleted (`notary delete --remote`). */
export function isTrustDeletion(record: HubRecord, gun: string): boolean {
  return (
    record.method === 'DELETE' && record.gun === gun && TRUST_ROOT.test(record.path) && isSuccess(record)
  );
}
