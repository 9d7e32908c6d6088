/**
 * Small durable-filesystem helpers.
 *
 * A rename is atomic but not durable until the directory holding the new
 * name is fsync'd, and the renamed file's bytes are durable only if the file
 * itself was fsync'd first (POSIX; ext4/xfs behave this way). Every file the
 * hub makes visible goes through these helpers so that a `kill -9` or a power
 * cut leaves either the old state or the complete new one.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export async function fsyncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates the directory (and parents) and makes its entry durable in its parent. */
export async function ensureDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true });
  await fsyncDirectory(path.dirname(directory));
}

/**
 * Writes `data` to `target` atomically: temp file in the same directory,
 * fsync, rename over the target, fsync the directory.
 */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | string,
  mode = 0o600,
): Promise<void> {
  const directory = path.dirname(target);
  await mkdir(directory, { recursive: true });
  const temp = path.join(directory, `.tmp-${path.basename(target)}-${randomBytes(6).toString('hex')}`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  await rename(temp, target);
  await fsyncDirectory(directory);
}

export async function removeIfExists(file: string): Promise<void> {
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
