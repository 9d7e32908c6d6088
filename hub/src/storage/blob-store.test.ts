import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore, sha256Bytes } from './blob-store.js';

let root: string;
let store: BlobStore;

beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'blob-store-'));
  store = new BlobStore(root);
  await store.init();
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('BlobStore', () => {
  it('stores content under sha256/<2 hex>/<hex> after verifying it', async () => {
    const bytes = Buffer.from('hello blob');
    const digest = sha256Bytes(bytes);
    expect(await store.putBytes(bytes)).toEqual({ digest, size: bytes.length });
    const hex = digest.slice(7);
    expect(store.blobPath(digest)).toBe(path.join(root, 'blobs', 'sha256', hex.slice(0, 2), hex));
    expect(await store.size(digest)).toBe(bytes.length);
    expect(await store.verifyAll()).toEqual([{ digest, ok: true }]);
    expect(await readdir(store.uploadsDir)).toEqual([]);
  });

  it('makes nothing visible when the digest does not match', async () => {
    const claimed = sha256Bytes(Buffer.from('other'));
    await expect(store.putBytes(Buffer.from('content'), claimed)).rejects.toMatchObject({
      code: 'DIGEST_INVALID',
    });
    expect(await store.size(claimed)).toBeUndefined();
    expect(await store.verifyAll()).toEqual([]);
    expect(await readdir(store.uploadsDir)).toEqual([]);
  });

  it('detects a corrupted blob file', async () => {
    const { digest } = await store.putBytes(Buffer.from('original'));
    await writeFile(store.blobPath(digest), 'tampered');
    expect(await store.verifyAll()).toEqual([{ digest, ok: false }]);
  });

  it('removes orphaned upload files but keeps live sessions', async () => {
    await writeFile(store.uploadPath('keep-me'), 'x');
    await writeFile(store.uploadPath('mono-orphan'), 'y');
    expect(await store.removeOrphanUploads(new Set(['keep-me']))).toEqual(['mono-orphan']);
    expect(await readdir(store.uploadsDir)).toEqual(['keep-me']);
  });
});
