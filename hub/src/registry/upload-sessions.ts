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
import { randomUUID } from 'node:crypto';
import { open, stat, truncate } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { HubError } from '../errors.js';
import { streamBodyToFile } from '../http/body.js';
import type { BlobStore, CommittedBlob } from '../storage/blob-store.js';
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
    return this.locked(uuid, () => this.write(repository, uuid, req, range));
  }

  private async write(
    repository: string,
    uuid: string,
    req: IncomingMessage,
    range: ContentRange | undefined,
  ): Promise<UploadRow> {
    const row = this.get(repository, uuid);
    if (range && range.start !== row.offset) throw this.outOfOrder(row, range);
    const file = this.blobs.uploadPath(uuid);
    let handle;
    try {
      handle = await open(file, 'r+');
    } catch {
      // The bytes are gone (e.g. removed by hand): the session cannot be continued.
      this.metadata.deleteUpload(uuid);
      throw new HubError('BLOB_UPLOAD_UNKNOWN', 'blob upload data is missing; start a new upload', {
        detail: { uuid },
      });
    }
    try {
      const written = await streamBodyToFile(req, handle, row.offset, this.maxBlobBytes);
      if (range && written !== range.end - range.start + 1) {
        throw new HubError('BLOB_UPLOAD_INVALID', 'chunk length does not match its Content-Range', {
          detail: { contentRange: `${range.start}-${range.end}`, received: written },
        });
      }
      const offset = row.offset + written;
      await handle.truncate(offset);
      await handle.sync();
      this.metadata.setUploadOffset(uuid, offset);
      return { ...row, offset };
    } finally {
      await handle.close();
    }
  }

  /**
   * Finishes the session: appends the final chunk (if any), verifies the
   * whole content against `digest` and commits it. On a digest mismatch the
   * session is cancelled (as docker's registry does) and nothing is stored.
   */
  async finish(
    repository: string,
    uuid: string,
    digest: string,
    req: IncomingMessage,
    range?: ContentRange,
  ): Promise<CommittedBlob> {
    return this.locked(uuid, async () => {
      const row = await this.write(repository, uuid, req, range);
      const file = this.blobs.uploadPath(uuid);
      let committed: CommittedBlob;
      try {
        await truncate(file, row.offset);
        committed = await this.blobs.commit(file, digest);
      } catch (error) {
        if (error instanceof HubError) await this.cancel(repository, uuid);
        throw error;
      }
      this.metadata.linkBlob(repository, committed.digest, committed.size, uuid);
      return committed;
    });
  }

  async cancel(repository: string, uuid: string): Promise<void> {
    this.get(repository, uuid);
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
      this.metadata.deleteUpload(uuid);
      await removeIfExists(this.blobs.uploadPath(uuid));
    }
    return stale;
  }
}
