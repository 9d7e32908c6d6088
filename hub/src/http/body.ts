/**
 * Request body readers with size limits.
 *
 * Limits are checked against `Content-Length` up front (so an oversized
 * request is refused before its bytes are read) and again while streaming
 * (chunked transfer encoding carries no length).
 */
import type { IncomingMessage } from 'node:http';
import type { Hash } from 'node:crypto';
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

/** Most bytes read ahead of the file while a write is in flight (then the socket waits). */
const MAX_PENDING_BYTES = 1024 * 1024;

async function writeAll(file: FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await file.writev(pending, at);
    at += bytesWritten;
    // A short write (rare on regular files): continue with what is left.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buffer of pending) {
      if (skip >= buffer.length) skip -= buffer.length;
      else {
        rest.push(skip > 0 ? buffer.subarray(skip) : buffer);
        skip = 0;
      }
    }
    pending = rest;
  }
}

/**
 * Streams the body into `file` starting at `position`; returns the number of
 * bytes written. `limit` bounds the resulting file size, not just this body.
 * With `hash`, every byte of the body is also fed to it, in order, as it
 * arrives (so the caller need not read the file back to hash it).
 *
 * One write is in flight at a time, in body order; the chunks that arrive
 * meanwhile are written together by the next `writev` (fewer, larger writes,
 * and the socket keeps being read while the disk works). A chunk arriving
 * when no write is in flight is written at once.
 */
export async function streamBodyToFile(
  req: IncomingMessage,
  file: FileHandle,
  position: number,
  limit: number,
  hash?: Hash,
): Promise<number> {
  const declared = declaredLength(req);
  if (declared !== undefined && position + declared > limit) throw tooLarge('blob', limit);
  let received = 0;
  let written = 0; // bytes handed to a write, done or in flight
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let writer: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  const startWriter = () => {
    writer = (async () => {
      try {
        while (batchBytes > 0) {
          const buffers = batch;
          const at = position + written;
          written += batchBytes;
          batch = [];
          batchBytes = 0;
          await writeAll(file, buffers, at);
        }
      } catch (error) {
        failure ??= { error };
        batch = [];
        batchBytes = 0;
      } finally {
        writer = undefined;
      }
    })();
  };
  try {
    for await (const chunk of req) {
      if (failure) throw failure.error;
      const bytes = chunk as Buffer;
      if (position + received + bytes.length > limit) throw tooLarge('blob', limit);
      received += bytes.length;
      hash?.update(bytes);
      batch.push(bytes);
      batchBytes += bytes.length;
      if (writer === undefined) startWriter();
      else if (batchBytes >= MAX_PENDING_BYTES) await writer;
    }
    while (writer !== undefined) await writer;
    if (failure) throw failure.error;
  } finally {
    // On failure: write nothing more, and let a write in flight settle before the caller closes the file.
    batch = [];
    batchBytes = 0;
    while (writer !== undefined) await writer;
  }
  return written;
}
