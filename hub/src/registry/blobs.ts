/**
 * Blob reads and deletes (OCI spec, "Pulling blobs" and "Deleting blobs").
 */
import { HubError } from '../errors.js';
import { API_VERSION_HEADER, sendEmpty } from '../http/respond.js';
import { assertDigest } from './references.js';
import { needs, type RegistryDeps, type RepositoryRequest } from './types.js';

type ByteRange = { start: number; end: number };

/**
 * Parses a single `Range: bytes=a-b` / `bytes=a-` / `bytes=-n` (RFC 9110
 * §14.1.2). Multiple ranges are not served: the full blob is sent instead,
 * which RFC 9110 allows. Returns 'unsatisfiable' for ranges outside the blob.
 */
export function parseByteRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(size - suffix, 0), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

function blobUnknown(digest: string): HubError {
  return new HubError('BLOB_UNKNOWN', 'blob unknown to registry', { detail: { digest } });
}

export async function getBlob(
  deps: RegistryDeps,
  request: RepositoryRequest,
  rawDigest: string,
): Promise<void> {
  const { ctx, name } = request;
  needs(deps, request, 'pull');
  const digest = assertDigest(rawDigest);
  ctx.record.digest = digest;
  const size = deps.metadata.linkedBlobSize(name, digest);
  if (size === undefined || (await deps.blobs.size(digest)) !== size) throw blobUnknown(digest);

  const headers: Record<string, string> = {
    ...API_VERSION_HEADER,
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    // Content-addressed: the bytes behind a digest never change.
    'Cache-Control': 'max-age=31536000',
  };
  const range = parseByteRange(ctx.req.headers.range, size);
  if (range === 'unsatisfiable') {
    throw new HubError('RANGE_INVALID', 'requested range is not satisfiable', {
      status: 416,
      detail: { size },
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  const status = range ? 206 : 200;
  const length = range ? range.end - range.start + 1 : size;
  headers['Content-Length'] = String(length);
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${size}`;
  ctx.res.writeHead(status, headers);
  if (ctx.method === 'HEAD' || length === 0) {
    ctx.res.end();
    return;
  }
  const stream = deps.blobs.read(digest, range);
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    ctx.res.on('close', resolve);
    stream.pipe(ctx.res);
  }).catch((error: unknown) => {
    ctx.res.destroy(error instanceof Error ? error : undefined);
  });
}

/**
 * Unlinks the blob from the repository (202). The bytes stay on disk until
 * a garbage collection, as in docker's registry; other repositories that
 * link the same digest are unaffected.
 */
export function deleteBlob(deps: RegistryDeps, request: RepositoryRequest, rawDigest: string): void {
  needs(deps, request, 'delete');
  const digest = assertDigest(rawDigest);
  request.ctx.record.digest = digest;
  if (!deps.metadata.unlinkBlob(request.name, digest)) throw blobUnknown(digest);
  sendEmpty(request.ctx.res, 202, { 'Docker-Content-Digest': digest });
}
