/**
 * Resumable blob upload sessions (OCI spec, "Pushing blobs in chunks").
 *
 * A session is a row in SQLite (`uploads`: repository, bytes acknowledged)
 * plus a file `<hub>/uploads/<uuid>`. The row's `received` is only advanced
 * after the bytes were fsync'd, so after a crash the file may hold more than
 * was acknowledged, never less: the extra tail is cut off by the next write.
 * That is what lets a client resume an interrupted upload after a restart by
 * asking `GET …/uploads/<uuid>` for the current range.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { HubError } from '../errors.js';
import { streamBodyToFile } from '../http/body.js';
import { checkDigest, type BlobStore, type CommittedBlob } from '../storage/blob-store.js';
import { fsyncDirectory, removeIfExists } from '../storage/durable-fs.js';
import type { Metadata, UploadRow } from '../storage/metadata.js';

export interface ContentRange {
  start: number;
  end: number;
}

/**
 * Parses a chunk's `Content-Range`. The spec's form is `<start>-<end>`
 * (inclusive, no unit); a `bytes ` prefix, as some clients send, is accepted.
 */
export function parseContentRange(header: string | undefined): ContentRange | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:bytes[ =])?(\d+)-(\d+)$/.exec(header.trim());
  if (!match) {
    throw new HubError('BLOB_UPLOAD_INVALID', 'invalid Content-Range header', {
      detail: { contentRange: header },
    });
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (end < start) {
    throw new HubError('RANGE_INVALID', 'Content-Range end precedes its start', {
      status: 416,
      detail: { contentRange: header },
    });
  }
  return { start, end };
}

/** The `Range` header describing an upload's progress (docker's registry answers `0-0` when empty). */
export function progressRange(received: number): string {
  return `0-${Math.max(received - 1, 0)}`;
}

export function uploadLocation(repository: string, uuid: string): string {
  return `/v2/${repository}/blobs/uploads/${uuid}`;
}

export class UploadSessions {
  private readonly busy = new Set<string>();
  /**
   * Per session, the SHA-256 state over its acknowledged bytes, kept between
   * chunks so finishing an upload never reads the file back (memory only; a
   * restart falls back to hashing the file once).
   */
  private readonly hashes = new Map<string, { offset: number; hash: Hash }>();

  constructor(
    private readonly metadata: Metadata,
    private readonly blobs: BlobStore,
    private readonly maxBlobBytes: number,
  ) {}

  async start(repository: string, account: string | undefined): Promise<UploadRow> {
    const uuid = randomUUID();
    // The file exists (durably) before the row, so a row never points at nothing.
    const handle = await open(this.blobs.uploadPath(uuid), 'wx', 0o644);
    await handle.close();
    await fsyncDirectory(this.blobs.uploadsDir);
    return this.metadata.createUpload(uuid, repository, account);
  }

  /** The session, if it exists and belongs to `repository` (a uuid is not valid across repositories). */
  get(repository: string, uuid: string): UploadRow {
    const row = /^[0-9a-f-]{36}$/.test(uuid) ? this.metadata.getUpload(uuid) : undefined;
    if (row === undefined || row.repository !== repository) {
      throw new HubError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { detail: { uuid } });
    }
    return row;
  }

  private outOfOrder(row: UploadRow, range: ContentRange): HubError {
    return new HubError('RANGE_INVALID', 'chunk is out of order: it must start where the upload stands', {
      status: 416,
      detail: { expectedStart: row.offset, start: range.start },
      headers: {
        Location: uploadLocation(row.repository, row.uuid),
        Range: progressRange(row.offset),
        'Docker-Upload-UUID': row.uuid,
        Connection: 'close',
      },
    });
  }

  /** Runs `work` with the session locked: two requests may not write one session at once. */
  private async locked<T>(uuid: string, work: () => Promise<T>): Promise<T> {
    if (this.busy.has(uuid)) {
      throw new HubError('BLOB_UPLOAD_INVALID', 'another request is writing to this upload', {
        detail: { uuid },
        headers: { Connection: 'close' },
      });
    }
    this.busy.add(uuid);
    try {
      return await work();
    } finally {
      this.busy.delete(uuid);
    }
  }

  /**
   * Appends the request body at the acknowledged offset and returns the new
   * offset. On any failure (aborted client, bad length) the acknowledged
   * offset is unchanged and the next chunk overwrites whatever was written.
   */
  append(repository: string, uuid: string, req: IncomingMessage, range?: ContentRange): Promise<UploadRow> {
    return this.locked(uuid, async () => {
      const { row, hash } = await this.write(repository, uuid, req, range);
      // fsync before the offset is acknowledged: the file never holds less than the row says.
      this.metadata.setUploadOffset(uuid, row.offset);
      this.hashes.set(uuid, { offset: row.offset, hash });
      return row;
    });
  }

  /**
   * The hash of the session's first `offset` bytes: the state kept from the
   * previous chunk of this session when there is one (the usual case), else
   * (after a restart, or a failed chunk) computed from the file.
   */
  private async prefixHash(uuid: string, offset: number): Promise<Hash> {
    const kept = this.hashes.get(uuid);
    // Taken out: the state is updated in place while the next chunk streams in.
    this.hashes.delete(uuid);
    if (kept !== undefined && kept.offset === offset) return kept.hash;
    const hash = createHash('sha256');
    if (offset > 0) {
      for await (const chunk of createReadStream(this.blobs.uploadPath(uuid), {
        start: 0,
        end: offset - 1,
      })) {
        hash.update(chunk as Buffer);
      }
    }
    return hash;
  }

  /**
   * Writes the body at the acknowledged offset, cuts off anything beyond it
   * (left by a crash or a failed chunk) and, unless `beforeSync` throws,
   * fsyncs the file. Returns the new offset (not yet acknowledged) and the
   * hash of the session's bytes so far.
   */
  private async write(
    repository: string,
    uuid: string,
    req: IncomingMessage,
    range: ContentRange | undefined,
    beforeSync?: (row: UploadRow, hash: Hash) => void,
  ): Promise<{ row: UploadRow; hash: Hash }> {
    const row = this.get(repository, uuid);
    if (range && range.start !== row.offset) throw this.outOfOrder(row, range);
    const file = this.blobs.uploadPath(uuid);
    let handle;
    try {
      handle = await open(file, 'r+');
    } catch {
      // The bytes are gone (e.g. removed by hand): the session cannot be continued.
      this.hashes.delete(uuid);
      this.metadata.deleteUpload(uuid);
      throw new HubError('BLOB_UPLOAD_UNKNOWN', 'blob upload data is missing; start a new upload', {
        detail: { uuid },
      });
    }
    try {
      const hash = await this.prefixHash(uuid, row.offset);
      const written = await streamBodyToFile(req, handle, row.offset, this.maxBlobBytes, hash);
      if (range && written !== range.end - range.start + 1) {
        throw new HubError('BLOB_UPLOAD_INVALID', 'chunk length does not match its Content-Range', {
          detail: { contentRange: `${range.start}-${range.end}`, received: written },
        });
      }
      const offset = row.offset + written;
      await handle.truncate(offset);
      const next = { ...row, offset };
      beforeSync?.(next, hash);
      await handle.sync();
      return { row: next, hash };
    } finally {
      await handle.close();
    }
  }

  /**
   * Finishes the session: appends the final chunk (if any), verifies the
   * whole content against `digest` and commits it. On a digest mismatch the
   * session is cancelled (as docker's registry does) and nothing is stored.
   *
   * The content was hashed as it streamed in (this chunk, and earlier chunks
   * of the session through the kept hash state), so it is not read back. The
   * final offset is not written to the session row: the blob is made visible
   * and the row deleted in one commit (`linkBlob`); a crash before that
   * leaves the row at the previous acknowledged offset with a longer file,
   * which is allowed.
   */
  async finish(
    repository: string,
    uuid: string,
    digest: string,
    req: IncomingMessage,
    range?: ContentRange,
  ): Promise<CommittedBlob> {
    return this.locked(uuid, async () => {
      let actual: CommittedBlob | undefined;
      const file = this.blobs.uploadPath(uuid);
      let committed: CommittedBlob;
      try {
        await this.write(repository, uuid, req, range, (row, hash) => {
          actual = { digest: `sha256:${hash.digest('hex')}`, size: row.offset };
          // Checked before the fsync: a wrong digest stores nothing, so there is nothing to sync.
          checkDigest(actual, digest);
        });
        committed = await this.blobs.publish(file, actual as CommittedBlob, digest);
      } catch (error) {
        if (error instanceof HubError && actual !== undefined) await this.cancel(repository, uuid);
        throw error;
      }
      this.metadata.linkBlob(repository, committed.digest, committed.size, uuid);
      return committed;
    });
  }

  async cancel(repository: string, uuid: string): Promise<void> {
    this.get(repository, uuid);
    this.hashes.delete(uuid);
    this.metadata.deleteUpload(uuid);
    await removeIfExists(this.blobs.uploadPath(uuid));
  }

  /**
   * Startup recovery: rows whose file vanished are dropped, files without a
   * row (crash between file creation and row insert, monolithic uploads cut
   * short) are removed.
   */
  async recover(): Promise<void> {
    const ids = this.metadata.allUploadIds();
    const keep = new Set<string>();
    for (const uuid of ids) {
      try {
        await stat(this.blobs.uploadPath(uuid));
        keep.add(uuid);
      } catch {
        this.metadata.deleteUpload(uuid);
      }
    }
    await this.blobs.removeOrphanUploads(keep);
  }

  /** Removes sessions idle for longer than `ttlMs` and their files. */
  async expire(ttlMs: number, now = Date.now()): Promise<string[]> {
    const stale = this.metadata.staleUploads(now - ttlMs).filter((uuid) => !this.busy.has(uuid));
    for (const uuid of stale) {
      this.hashes.delete(uuid);
      this.metadata.deleteUpload(uuid);
      await removeIfExists(this.blobs.uploadPath(uuid));
    }
    return stale;
  }
}
