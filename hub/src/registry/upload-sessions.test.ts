import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore } from '../storage/blob-store.js';
import { openDatabase, type Db } from '../storage/database.js';
import { Metadata } from '../storage/metadata.js';
import { parseContentRange, progressRange, UploadSessions } from './upload-sessions.js';

/** A request body for the session methods (they only read the stream and its headers). */
function body(bytes: Buffer): IncomingMessage {
  return Object.assign(Readable.from([bytes]), { headers: {} }) as unknown as IncomingMessage;
}

let root: string;
let db: Db;
let blobs: BlobStore;
let metadata: Metadata;
let sessions: UploadSessions;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'uploads-'));
  db = openDatabase(path.join(root, 'hub.db'));
  blobs = new BlobStore(root);
  await blobs.init();
  metadata = new Metadata(db);
  sessions = new UploadSessions(metadata, blobs, 1024);
});
afterEach(async () => {
  db.close();
  await rm(root, { recursive: true, force: true });
});

describe('Content-Range and Range', () => {
  it('parses the spec form and the bytes-prefixed form', () => {
    expect(parseContentRange('0-99')).toEqual({ start: 0, end: 99 });
    expect(parseContentRange('bytes 100-199')).toEqual({ start: 100, end: 199 });
    expect(parseContentRange(undefined)).toBeUndefined();
    expect(() => parseContentRange('abc')).toThrow(expect.objectContaining({ code: 'BLOB_UPLOAD_INVALID' }));
    expect(() => parseContentRange('10-5')).toThrow(expect.objectContaining({ status: 416 }));
  });
  it('reports progress the way docker expects', () => {
    expect(progressRange(0)).toBe('0-0');
    expect(progressRange(10)).toBe('0-9');
  });
});

describe('UploadSessions', () => {
  it('expires idle sessions and removes their bytes', async () => {
    const stale = await sessions.start('alice/app', 'alice');
    const fresh = await sessions.start('alice/app', 'alice');
    db.prepare('UPDATE uploads SET updated_at = ? WHERE uuid = ?').run(Date.now() - 2 * 3600_000, stale.uuid);
    expect(await sessions.expire(3600_000)).toEqual([stale.uuid]);
    expect(metadata.getUpload(stale.uuid)).toBeUndefined();
    expect(await readdir(blobs.uploadsDir)).toEqual([fresh.uuid]);
  });

  it('recovers after a crash: drops rows without bytes and bytes without rows', async () => {
    const kept = await sessions.start('alice/app', undefined);
    const lostFile = await sessions.start('alice/app', undefined);
    await unlink(blobs.uploadPath(lostFile.uuid));
    await writeFile(blobs.uploadPath('mono-interrupted'), 'partial');
    await sessions.recover();
    expect(metadata.allUploadIds()).toEqual([kept.uuid]);
    expect(await readdir(blobs.uploadsDir)).toEqual([kept.uuid]);
  });

  it('finishes a chunked upload, also after a restart (hash state rebuilt from the file)', async () => {
    const content = Buffer.from('0123456789abcdefghij'.repeat(20));
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const row = await sessions.start('alice/app', undefined);
    await sessions.append('alice/app', row.uuid, body(content.subarray(0, 150)), { start: 0, end: 149 });
    // A fresh UploadSessions has no hash state for the session: it must hash the file's first 150 bytes.
    const restarted = new UploadSessions(metadata, blobs, 1024);
    await restarted.append('alice/app', row.uuid, body(content.subarray(150, 300)), { start: 150, end: 299 });
    // Bytes beyond the acknowledged offset (a crash mid-chunk) are not part of the blob.
    await appendFile(blobs.uploadPath(row.uuid), 'garbage beyond the acknowledged offset');
    const committed = await restarted.finish('alice/app', row.uuid, digest, body(content.subarray(300)));
    expect(committed).toEqual({ digest, size: content.length });
    expect(await readFile(blobs.blobPath(digest))).toEqual(content);
    expect(metadata.getUpload(row.uuid)).toBeUndefined();
    expect(await blobs.verifyAll()).toEqual([{ digest, ok: true }]);
  });

  it('cancels the session and stores nothing when the digest does not match', async () => {
    const row = await sessions.start('alice/app', undefined);
    await sessions.append('alice/app', row.uuid, body(Buffer.from('abc')));
    const wrong = `sha256:${'0'.repeat(64)}`;
    await expect(
      sessions.finish('alice/app', row.uuid, wrong, body(Buffer.from('def'))),
    ).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
    });
    expect(metadata.getUpload(row.uuid)).toBeUndefined();
    expect(await blobs.verifyAll()).toEqual([]);
    expect(await readdir(blobs.uploadsDir)).toEqual([]);
  });

  it('does not let a session be used from another repository', async () => {
    const row = await sessions.start('alice/app', undefined);
    expect(() => sessions.get('bob/app', row.uuid)).toThrow(
      expect.objectContaining({ code: 'BLOB_UPLOAD_UNKNOWN' }),
    );
    expect(() => sessions.get('alice/app', '../../etc/passwd')).toThrow(
      expect.objectContaining({ code: 'BLOB_UPLOAD_UNKNOWN' }),
    );
  });
});
