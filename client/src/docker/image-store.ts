/**
 * The local image store: what the docker daemon's image store is to real
 * docker, kept in plain files under the user's home (documented default:
 * `${XDG_DATA_HOME:-~/.local/share}/trustlab/images`, or TRUSTLAB_IMAGES_DIR).
 *
 * Layout:
 *   blobs/sha256/<hex>   manifests, image configs and layers, each written
 *                        only after its bytes hash to its name
 *   index.json           images by ID (= config digest, as docker's image
 *                        ID) with the manifest that describes them, and
 *                        references (`docker.io/library/busybox:latest`,
 *                        `…@sha256:<manifest digest>`) → image ID, like the
 *                        daemon's repositories.json
 *
 * Files are replaced atomically (temporary file + rename). A push sends the
 * stored manifest bytes unchanged, so an image keeps its digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DockerError } from './errors.js';
import type { ImageReference } from './reference.js';
import { familiarName, fullName, parseReference, referenceString, withDefaultTag } from './reference.js';

export interface ImageRecord {
  id: string;
  manifestDigest: string;
  manifestMediaType: string;
  configDigest: string;
  layers: string[];
  created?: string;
  size: number;
  architecture?: string;
  os?: string;
  lastTagTime?: string;
}

interface IndexFile {
  version: 1;
  images: Record<string, ImageRecord>;
  references: Record<string, string>;
}

/**
 * A light structural check of index.json (no zod here: `docker images` must
 * start fast, and this file is ours, not user-edited).
 */
function isIndexFile(value: unknown): value is IndexFile {
  if (!value || typeof value !== 'object') return false;
  const v = value as Partial<IndexFile>;
  if (v.version !== 1 || !v.images || typeof v.images !== 'object' || !v.references) return false;
  for (const image of Object.values(v.images)) {
    if (
      typeof image?.id !== 'string' ||
      typeof image.manifestDigest !== 'string' ||
      typeof image.configDigest !== 'string' ||
      !Array.isArray(image.layers) ||
      typeof image.size !== 'number'
    ) {
      return false;
    }
  }
  return Object.values(v.references).every((id) => typeof id === 'string');
}

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** The 12-hex short form docker prints (stringid.TruncateID). */
export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

export interface ResolvedImage {
  image: ImageRecord;
  /** The reference the user named, when they named one that exists. */
  reference?: string | undefined;
}

async function writeAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await fs.writeFile(temp, data, { mode });
    await fs.rename(temp, file);
  } catch (error) {
    await fs.rm(temp, { force: true });
    throw error;
  }
}

export class ImageStore {
  private index: IndexFile | undefined;

  constructor(readonly dir: string) {}

  private blobPath(digest: string): string {
    const [algorithm, hex] = digest.split(':');
    if (algorithm !== 'sha256' || !hex || !/^[a-f0-9]{64}$/.test(hex)) {
      throw new DockerError('DIGEST_MISMATCH', `invalid digest ${digest}`);
    }
    return path.join(this.dir, 'blobs', 'sha256', hex);
  }

  private indexPath(): string {
    return path.join(this.dir, 'index.json');
  }

  async load(): Promise<IndexFile> {
    if (this.index) return this.index;
    let text: string | undefined;
    try {
      text = await fs.readFile(this.indexPath(), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) {
      this.index = { version: 1, images: {}, references: {} };
      return this.index;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!isIndexFile(parsed)) {
      throw new DockerError('CONFIG', `the local image store ${this.indexPath()} is damaged`, {
        suggestion: `Remove ${this.dir} to start with an empty image store.`,
      });
    }
    this.index = parsed;
    return this.index;
  }

  async save(): Promise<void> {
    if (!this.index) return;
    await writeAtomic(this.indexPath(), JSON.stringify(this.index, null, 2) + '\n');
  }

  async hasBlob(digest: string): Promise<boolean> {
    try {
      await fs.access(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** Store bytes under their digest, refusing bytes that do not hash to it. */
  async putBlob(digest: string, bytes: Uint8Array): Promise<void> {
    if (digestOf(bytes) !== digest) {
      throw new DockerError('DIGEST_MISMATCH', `content does not match its digest ${digest}`);
    }
    if (await this.hasBlob(digest)) return;
    await writeAtomic(this.blobPath(digest), bytes);
  }

  /** Read a blob and check it is still what its name says. */
  async getBlob(digest: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.blobPath(digest));
    } catch (cause) {
      throw new DockerError('NO_SUCH_IMAGE', `the local image store has no content ${digest}`, {
        cause,
        suggestion: 'Pull the image again.',
      });
    }
    if (digestOf(bytes) !== digest) {
      throw new DockerError('DIGEST_MISMATCH', `local content ${digest} is damaged`, {
        suggestion: 'Remove the image with `docker rmi` and pull it again.',
      });
    }
    return bytes;
  }

  async addImage(record: ImageRecord): Promise<void> {
    const index = await this.load();
    index.images[record.id] = { ...index.images[record.id], ...record };
  }

  async setReference(ref: ImageReference, imageId: string): Promise<void> {
    const index = await this.load();
    index.references[referenceString(ref)] = imageId;
    const image = index.images[imageId];
    if (image && ref.tag !== undefined) image.lastTagTime = new Date().toISOString();
  }

  async referenceTarget(ref: ImageReference): Promise<string | undefined> {
    return (await this.load()).references[referenceString(ref)];
  }

  async images(): Promise<ImageRecord[]> {
    return Object.values((await this.load()).images);
  }

  /** References (full strings) that point at an image. */
  async referencesOf(imageId: string): Promise<string[]> {
    const index = await this.load();
    return Object.entries(index.references)
      .filter(([, id]) => id === imageId)
      .map(([ref]) => ref);
  }

  /**
   * Find an image as the daemon does: by reference (a bare name means
   * `:latest`), else by full or abbreviated image ID.
   */
  async resolve(input: string): Promise<ResolvedImage | undefined> {
    const index = await this.load();
    try {
      const ref = withDefaultTag(parseReference(input));
      const wanted = referenceString(ref.digest !== undefined ? { ...ref, tag: undefined } : ref);
      const id = index.references[wanted];
      if (id && index.images[id]) return { image: index.images[id], reference: wanted };
    } catch {
      // not a reference: maybe an ID
    }
    const hex = input.replace(/^sha256:/, '');
    if (/^[a-f0-9]{1,64}$/.test(hex)) {
      const matches = Object.values(index.images).filter((image) => image.id.slice(7).startsWith(hex));
      if (matches.length === 1) return { image: matches[0]! };
    }
    return undefined;
  }

  async removeReference(reference: string): Promise<void> {
    delete (await this.load()).references[reference];
  }

  /** Drop an image record and every blob no remaining image uses. */
  async removeImage(imageId: string): Promise<void> {
    const index = await this.load();
    delete index.images[imageId];
    for (const [ref, id] of Object.entries(index.references))
      if (id === imageId) delete index.references[ref];
    const used = new Set<string>();
    for (const image of Object.values(index.images)) {
      used.add(image.manifestDigest);
      used.add(image.configDigest);
      for (const layer of image.layers) used.add(layer);
    }
    const blobDir = path.join(this.dir, 'blobs', 'sha256');
    let names: string[];
    try {
      names = await fs.readdir(blobDir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!used.has(`sha256:${name}`)) await fs.rm(path.join(blobDir, name), { force: true });
    }
  }
}

/** Split a stored reference string back into its parts. */
export function splitStoredReference(reference: string): ImageReference {
  return parseReference(reference);
}

export { familiarName, fullName };
