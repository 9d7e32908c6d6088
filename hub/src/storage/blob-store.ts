/**
 * Content-addressed blob store on disk.
 *
 * Layout: `<root>/blobs/sha256/<first 2 hex>/<64 hex>` for committed blobs
 * (the two-character fan-out keeps directories small, as docker's registry
 * does) and `<root>/uploads/<uuid>` for bytes of upload sessions in
 * progress. Both live under the same root, hence on the same filesystem, so
 * the commit below is a rename and never a copy.
 *
 * Invariant: a file only ever appears under `blobs/` after its bytes were
 * fsync'd and hashed to the name it is given, so any file found there is
 * complete and correct whatever moment the process was killed at.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { HubError } from '../errors.js';
import { fsyncDirectory, removeIfExists } from './durable-fs.js';

export interface CommittedBlob {
  digest: string;
  size: number;
}

export async function sha256File(file: string): Promise<CommittedBlob> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file)) {
    const bytes = chunk as Buffer;
    size += bytes.length;
    hash.update(bytes);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export function sha256Bytes(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Throws DIGEST_INVALID unless `actual` is `expectedDigest`. */
export function checkDigest(actual: CommittedBlob, expectedDigest: string): void {
  if (actual.digest !== expectedDigest) {
    throw new HubError('DIGEST_INVALID', 'provided digest did not match uploaded content', {
      detail: { expected: expectedDigest, actual: actual.digest, size: actual.size },
    });
  }
}

export class BlobStore {
  readonly blobsDir: string;
  readonly uploadsDir: string;
  /** Fan-out directories this process has created or made durable (fsync of their parent). */
  private readonly durableFanouts = new Set<string>();

  constructor(root: string) {
    this.blobsDir = path.join(root, 'blobs', 'sha256');
    this.uploadsDir = path.join(root, 'uploads');
  }

  async init(): Promise<void> {
    await mkdir(this.blobsDir, { recursive: true });
    await mkdir(this.uploadsDir, { recursive: true });
  }

  blobPath(digest: string): string {
    const hex = digest.slice('sha256:'.length);
    return path.join(this.blobsDir, hex.slice(0, 2), hex);
  }

  uploadPath(uuid: string): string {
    return path.join(this.uploadsDir, uuid);
  }

  /** Size of the committed blob, or undefined when it is not on disk. */
  async size(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  read(digest: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.blobPath(digest), range);
  }

  /**
   * Makes the bytes of `tempFile` visible as a blob after checking they hash
   * to `expectedDigest`. On a mismatch nothing is stored and DIGEST_INVALID
   * is thrown (OCI spec: "the registry MUST verify the digest"); the caller
   * still owns and removes the temp file. Reads the file back to hash it:
   * uploads hash while the body streams in and use `publish` instead.
   */
  async commit(tempFile: string, expectedDigest: string): Promise<CommittedBlob> {
    const actual = await sha256File(tempFile);
    checkDigest(actual, expectedDigest);
    const handle = await open(tempFile, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return this.publish(tempFile, actual, expectedDigest);
  }

  /**
   * Makes `tempFile` visible as the blob `expectedDigest`. The caller must
   * already have fsync'd the file and hashed exactly its bytes to `actual`
   * (as the upload paths do while the body streams in). Throws DIGEST_INVALID
   * (nothing stored) when `actual` is another digest.
   *
   * Durability: the blob's name is made durable (fsync of its fan-out
   * directory) before this returns, so the caller may then record the blob in
   * SQLite; the fan-out directory's own entry is made durable once per
   * process (fsync of `blobs/sha256`). The name leaving `uploads/` is not
   * fsync'd separately: if a power cut brought it back, it would be a file
   * without an upload row (its row is deleted by the commit that links the
   * blob) or a complete session file, and startup recovery handles both.
   */
  async publish(tempFile: string, actual: CommittedBlob, expectedDigest: string): Promise<CommittedBlob> {
    checkDigest(actual, expectedDigest);
    const target = this.blobPath(expectedDigest);
    const fanout = path.dirname(target);
    if (!this.durableFanouts.has(fanout)) {
      await mkdir(fanout, { recursive: true });
      await fsyncDirectory(this.blobsDir);
      this.durableFanouts.add(fanout);
    }
    await rename(tempFile, target);
    await fsyncDirectory(fanout);
    return actual;
  }

  /** Stores bytes already in memory (used by the hub to seed `library/`). */
  async putBytes(bytes: Uint8Array, expectedDigest = sha256Bytes(bytes)): Promise<CommittedBlob> {
    const actual = { digest: sha256Bytes(bytes), size: bytes.length };
    checkDigest(actual, expectedDigest);
    const temp = this.uploadPath(`direct-${randomUUID()}`);
    try {
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(bytes);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return await this.publish(temp, actual, expectedDigest);
    } catch (error) {
      await removeIfExists(temp);
      throw error;
    }
  }

  /** Upload-area files whose name is not in `keep` (orphans of a crash), removed at startup. */
  async removeOrphanUploads(keep: Set<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const entry of await readdir(this.uploadsDir)) {
      if (!keep.has(entry)) {
        await removeIfExists(path.join(this.uploadsDir, entry));
        removed.push(entry);
      }
    }
    return removed;
  }

  /** Every committed blob, rehashed: used by fault tests and `verify` tooling. */
  async verifyAll(): Promise<{ digest: string; ok: boolean }[]> {
    const results: { digest: string; ok: boolean }[] = [];
    for (const fanout of await readdir(this.blobsDir)) {
      for (const name of await readdir(path.join(this.blobsDir, fanout))) {
        const digest = `sha256:${name}`;
        const actual = await sha256File(path.join(this.blobsDir, fanout, name));
        results.push({ digest, ok: actual.digest === digest && name.startsWith(fanout) });
      }
    }
    return results;
  }
}
