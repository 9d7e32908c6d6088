/**
 * Durable file writes: write to a temp file in the same directory, fsync,
 * rename over the target, fsync the directory. A crash leaves either the old
 * file or the new one, never a torn one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function ensureDir(dir: string, mode = 0o700): Promise<void> {
  await mkdir(dir, { recursive: true, mode });
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  // Make the rename itself durable. Some filesystems refuse fsync on a
  // directory; the rename is still atomic there, so that is not an error.
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } catch {
    // see above
  } finally {
    await dirHandle.close();
  }
}
