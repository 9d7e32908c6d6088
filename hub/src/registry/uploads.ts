/**
 * Blob upload routes (OCI spec, "Pushing blobs", "Pushing a blob
 * monolithically", "Pushing a blob in chunks", "Mounting a blob from another
 * repository"; Docker Registry HTTP API v2 "Initiate Blob Upload").
 */
import { createHash, randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { covers } from '../auth/scope.js';
import { HubError } from '../errors.js';
import { streamBodyToFile } from '../http/body.js';
import { sendEmpty } from '../http/respond.js';
import { checkDigest } from '../storage/blob-store.js';
import { removeIfExists } from '../storage/durable-fs.js';
import { assertDigest, isValidName } from './references.js';
import { needs, type RegistryDeps, type RepositoryRequest } from './types.js';
import { parseContentRange, progressRange, uploadLocation } from './upload-sessions.js';

function blobCreated(request: RepositoryRequest, digest: string): void {
  sendEmpty(request.ctx.res, 201, {
    Location: `/v2/${request.name}/blobs/${digest}`,
    'Docker-Content-Digest': digest,
  });
}

function sessionAccepted(request: RepositoryRequest, uuid: string, offset: number, status = 202): void {
  sendEmpty(request.ctx.res, status, {
    Location: uploadLocation(request.name, uuid),
    Range: progressRange(offset),
    'Docker-Upload-UUID': uuid,
  });
}

/** `POST /v2/<name>/blobs/uploads/`: monolithic upload, mount, or a new session. */
export async function startUpload(deps: RegistryDeps, request: RepositoryRequest): Promise<void> {
  const { ctx, name } = request;
  needs(deps, request, 'pull', 'push');

  const mount = ctx.query.get('mount');
  const from = ctx.query.get('from');
  if (mount !== null) {
    const digest = assertDigest(mount);
    ctx.record.digest = digest;
    // Mount only what the caller could have pulled itself; otherwise the spec
    // says to fall back to a regular upload session (202).
    if (from !== null && isValidName(from) && request.identity) {
      const mayPull = covers(request.identity.access, { type: 'repository', name: from, actions: ['pull'] });
      const size = mayPull ? deps.metadata.linkedBlobSize(from, digest) : undefined;
      if (size !== undefined && (await deps.blobs.size(digest)) === size) {
        deps.metadata.linkBlob(name, digest, size);
        blobCreated(request, digest);
        return;
      }
    }
  }

  const digestParam = ctx.query.get('digest');
  if (digestParam !== null) {
    const digest = assertDigest(digestParam);
    ctx.record.digest = digest;
    await monolithicUpload(deps, request, digest);
    return;
  }

  const row = await deps.uploads.start(name, request.identity?.account);
  sessionAccepted(request, row.uuid, 0);
}

async function monolithicUpload(
  deps: RegistryDeps,
  request: RepositoryRequest,
  digest: string,
): Promise<void> {
  // Not a session: the temp name has no row, so a crash leaves an orphan
  // that startup recovery removes.
  const temp = deps.blobs.uploadPath(`mono-${randomUUID()}`);
  try {
    // Hashed while it streams in; fsync'd only once the digest is known to match.
    const hash = createHash('sha256');
    let size: number;
    const handle = await open(temp, 'wx', 0o644);
    try {
      size = await streamBodyToFile(request.ctx.req, handle, 0, deps.maxBlobBytes, hash);
      checkDigest({ digest: `sha256:${hash.digest('hex')}`, size }, digest);
      await handle.sync();
    } finally {
      await handle.close();
    }
    const committed = await deps.blobs.publish(temp, { digest, size }, digest);
    deps.metadata.linkBlob(request.name, committed.digest, committed.size);
  } finally {
    await removeIfExists(temp);
  }
  blobCreated(request, digest);
}

/** `PATCH /v2/<name>/blobs/uploads/<uuid>`: one chunk, in order. */
export async function patchUpload(
  deps: RegistryDeps,
  request: RepositoryRequest,
  uuid: string,
): Promise<void> {
  needs(deps, request, 'pull', 'push');
  const range = parseContentRange(request.ctx.req.headers['content-range']);
  const row = await deps.uploads.append(request.name, uuid, request.ctx.req, range);
  sessionAccepted(request, row.uuid, row.offset);
}

/** `PUT /v2/<name>/blobs/uploads/<uuid>?digest=…`: last (optional) chunk, verify, commit. */
export async function finishUpload(
  deps: RegistryDeps,
  request: RepositoryRequest,
  uuid: string,
): Promise<void> {
  needs(deps, request, 'pull', 'push');
  const digestParam = request.ctx.query.get('digest');
  if (digestParam === null) {
    throw new HubError('DIGEST_INVALID', 'the digest query parameter is required to complete an upload');
  }
  const digest = assertDigest(digestParam);
  request.ctx.record.digest = digest;
  const range = parseContentRange(request.ctx.req.headers['content-range']);
  await deps.uploads.finish(request.name, uuid, digest, request.ctx.req, range);
  blobCreated(request, digest);
}

/** `GET /v2/<name>/blobs/uploads/<uuid>`: how far the upload got (204 + Range), used to resume. */
export function uploadStatus(deps: RegistryDeps, request: RepositoryRequest, uuid: string): void {
  needs(deps, request, 'pull', 'push');
  const row = deps.uploads.get(request.name, uuid);
  sessionAccepted(request, row.uuid, row.offset, 204);
}

/** `DELETE /v2/<name>/blobs/uploads/<uuid>`: cancel (204). */
export async function cancelUpload(
  deps: RegistryDeps,
  request: RepositoryRequest,
  uuid: string,
): Promise<void> {
  needs(deps, request, 'pull', 'push');
  await deps.uploads.cancel(request.name, uuid);
  sendEmpty(request.ctx.res, 204);
}
