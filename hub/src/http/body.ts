/**
 * Request body readers with size limits.
 *
 * Limits are checked against `Content-Length` up front (so an oversized
 * request is refused before its bytes are read) and again while streaming
 * (chunked transfer encoding carries no length).
 */
import type { IncomingMessage } from 'node:http';
import type { FileHandle } from 'node:fs/promises';
import { HubError } from '../errors.js';

export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers['content-length'];
  if (header === undefined) return undefined;
  if (!/^\d+$/.test(header)) {
    throw new HubError('SIZE_INVALID', 'invalid Content-Length header', {
      detail: { contentLength: header },
    });
  }
  return Number(header);
}

function tooLarge(what: string, limit: number): HubError {
  return new HubError('SIZE_INVALID', `${what} exceeds the hub's limit of ${limit} bytes`, {
    status: 413,
    detail: { limit },
    // The unread rest of the body would otherwise be drained; close instead.
    headers: { Connection: 'close' },
  });
}

/** Reads a whole (small) body into memory. */
export async function readBody(req: IncomingMessage, limit: number, what = 'request body'): Promise<Buffer> {
  const declared = declaredLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge(what, limit);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const bytes = chunk as Buffer;
    total += bytes.length;
    if (total > limit) throw tooLarge(what, limit);
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Streams the body into `file` starting at `position`; returns the number of
 * bytes written. `limit` bounds the resulting file size, not just this body.
 */
export async function streamBodyToFile(
  req: IncomingMessage,
  file: FileHandle,
  position: number,
  limit: number,
): Promise<number> {
  const declared = declaredLength(req);
  if (declared !== undefined && position + declared > limit) throw tooLarge('blob', limit);
  let written = 0;
  for await (const chunk of req) {
    const bytes = chunk as Buffer;
    if (position + written + bytes.length > limit) throw tooLarge('blob', limit);
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await file.write(
        bytes,
        offset,
        bytes.length - offset,
        position + written + offset,
      );
      offset += bytesWritten;
    }
    written += bytes.length;
  }
  return written;
}
