/**
 * Image manifests as registries serve them: Docker schema 2 and OCI image
 * manifests, Docker manifest lists and OCI indexes. For an index docker
 * picks the entry for its own platform; the lab's is linux/amd64.
 */
import { z } from 'zod';
import { RegistryError } from './errors.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

export const ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(', ');

const descriptor = z.object({
  mediaType: z.string().optional(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  size: z.number().int().nonnegative(),
  platform: z
    .object({ architecture: z.string(), os: z.string(), variant: z.string().optional() })
    .passthrough()
    .optional(),
});
export type Descriptor = z.infer<typeof descriptor>;

const imageManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor),
});
export type ImageManifest = z.infer<typeof imageManifest>;

const imageIndex = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptor),
});
export type ImageIndex = z.infer<typeof imageIndex>;

export type ParsedManifest =
  | { kind: 'image'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

/** Parse manifest bytes; the media type comes from the body, else the Content-Type. */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (cause) {
    throw new RegistryError('PROTOCOL', 'the registry sent a manifest that is not JSON', { cause });
  }
  const declared = (json as { mediaType?: unknown }).mediaType;
  const mediaType = typeof declared === 'string' ? declared : (contentType?.split(';')[0]?.trim() ?? '');
  if (
    mediaType === MEDIA_TYPES.dockerList ||
    mediaType === MEDIA_TYPES.ociIndex ||
    'manifests' in (json as object)
  ) {
    const parsed = imageIndex.safeParse(json);
    if (!parsed.success) throw new RegistryError('PROTOCOL', 'the registry sent a malformed image index');
    return { kind: 'index', mediaType: mediaType || MEDIA_TYPES.ociIndex, index: parsed.data };
  }
  const parsed = imageManifest.safeParse(json);
  if (!parsed.success) {
    throw new RegistryError('PROTOCOL', `unsupported manifest format${mediaType ? ` ${mediaType}` : ''}`);
  }
  return { kind: 'image', mediaType: mediaType || MEDIA_TYPES.ociManifest, manifest: parsed.data };
}

/** The index entry for linux/amd64 (docker's default platform here). */
export function selectPlatform(index: ImageIndex, os = 'linux', architecture = 'amd64'): Descriptor {
  const found = index.manifests.find(
    (m) => m.platform?.os === os && m.platform.architecture === architecture,
  );
  if (!found) {
    throw new RegistryError(
      'NOT_FOUND',
      `no matching manifest for ${os}/${architecture} in the manifest list entries`,
    );
  }
  return found;
}
