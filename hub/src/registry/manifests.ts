/**
 * Manifest routes (OCI spec, "Pulling manifests", "Pushing manifests",
 * "Deleting tags" and "Deleting manifests").
 *
 * Manifests are kept byte-for-byte in SQLite with their media type: a
 * manifest's digest is the hash of its exact bytes, so they must be served
 * unchanged. Storing the manifest and moving the tag happen in one
 * transaction together with the check that everything referenced exists.
 */
import { HubError } from '../errors.js';
import { readBody } from '../http/body.js';
import { API_VERSION_HEADER, sendEmpty } from '../http/respond.js';
import { sha256Bytes } from '../storage/blob-store.js';
import { MAX_MANIFEST_BYTES, parseManifest } from './manifest-format.js';
import { parseReference } from './references.js';
import { needs, type RegistryDeps, type RepositoryRequest } from './types.js';

function manifestUnknown(reference: string): HubError {
  return new HubError('MANIFEST_UNKNOWN', 'manifest unknown', { detail: { reference } });
}

/**
 * GET/HEAD. The stored media type is always served: every docker since 1.10
 * accepts schema 2 and manifest lists, and schema 1 (the only thing an old
 * client would ask for instead) is not produced by this hub.
 */
export function getManifest(deps: RegistryDeps, request: RepositoryRequest, rawReference: string): void {
  const { ctx, name } = request;
  needs(deps, request, 'pull');
  const reference = parseReference(rawReference);
  ctx.record.reference = rawReference;
  const digest = reference.kind === 'tag' ? deps.metadata.resolveTag(name, reference.tag) : reference.digest;
  const manifest = digest === undefined ? undefined : deps.metadata.getManifest(name, digest);
  if (manifest === undefined) throw manifestUnknown(rawReference);
  ctx.record.digest = manifest.digest;
  ctx.res.writeHead(200, {
    ...API_VERSION_HEADER,
    'Content-Type': manifest.mediaType,
    'Content-Length': String(manifest.content.length),
    'Docker-Content-Digest': manifest.digest,
    ETag: `"${manifest.digest}"`,
  });
  ctx.res.end(ctx.method === 'HEAD' ? undefined : manifest.content);
}

export async function putManifest(
  deps: RegistryDeps,
  request: RepositoryRequest,
  rawReference: string,
): Promise<void> {
  const { ctx, name } = request;
  needs(deps, request, 'pull', 'push');
  const reference = parseReference(rawReference);
  ctx.record.reference = rawReference;
  const body = await readBody(ctx.req, MAX_MANIFEST_BYTES, 'manifest');
  const digest = sha256Bytes(body);
  ctx.record.digest = digest;
  if (reference.kind === 'digest' && reference.digest !== digest) {
    throw new HubError('DIGEST_INVALID', 'manifest digest does not match the digest in the URL', {
      detail: { expected: reference.digest, actual: digest },
    });
  }
  const parsed = parseManifest(body, ctx.req.headers['content-type']);
  const result = deps.metadata.putManifest(
    name,
    { digest, mediaType: parsed.mediaType, content: body },
    parsed.references,
    reference.kind === 'tag' ? reference.tag : undefined,
  );
  if (result.missingBlobs.length > 0 || result.missingManifests.length > 0) {
    // Docker's registry reports the first unknown reference with this code.
    throw new HubError(
      'MANIFEST_BLOB_UNKNOWN',
      'manifest references a blob or manifest unknown to this repository',
      {
        detail: { blobs: result.missingBlobs, manifests: result.missingManifests },
      },
    );
  }
  if (result.wrongSize.length > 0) {
    throw new HubError('MANIFEST_INVALID', 'manifest descriptor size does not match the stored blob', {
      detail: { blobs: result.wrongSize },
    });
  }
  sendEmpty(ctx.res, 201, { Location: `/v2/${name}/manifests/${digest}`, 'Docker-Content-Digest': digest });
}

/**
 * DELETE by digest removes the manifest and every tag pointing at it; by
 * tag (allowed since OCI distribution spec v1.1) removes only the tag.
 */
export function deleteManifest(deps: RegistryDeps, request: RepositoryRequest, rawReference: string): void {
  const { ctx, name } = request;
  needs(deps, request, 'delete');
  const reference = parseReference(rawReference);
  ctx.record.reference = rawReference;
  const deleted =
    reference.kind === 'tag'
      ? deps.metadata.deleteTag(name, reference.tag)
      : deps.metadata.deleteManifest(name, reference.digest);
  if (!deleted) throw manifestUnknown(rawReference);
  if (reference.kind === 'digest') ctx.record.digest = reference.digest;
  sendEmpty(ctx.res, 202);
}
