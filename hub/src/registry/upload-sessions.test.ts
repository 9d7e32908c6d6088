import { mkdtemp, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore } from '../storage/blob-store.js';
import { openDatabase, type Db } from '../storage/database.js';
import { Metadata } from '../storage/metadata.js';
import { parseContentRange, progressRange, UploadSessions } from './upload-sessions.js';

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
