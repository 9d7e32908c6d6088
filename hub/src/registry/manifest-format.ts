/**
 * Manifest media types and the checks a manifest must pass before it is
 * stored (OCI image spec "Image Manifest" / "Image Index", Docker "Image
 * Manifest V2, Schema 2" and "Manifest List").
 */
import { z } from 'zod';
import { HubError } from '../errors.js';
import type { ManifestReferences } from '../storage/metadata.js';
import { isDigest } from './references.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

const IMAGE_TYPES = new Set<string>([MEDIA_TYPES.dockerManifest, MEDIA_TYPES.ociManifest]);
const INDEX_TYPES = new Set<string>([MEDIA_TYPES.dockerManifestList, MEDIA_TYPES.ociIndex]);
export const SUPPORTED_MANIFEST_TYPES: readonly string[] = [...IMAGE_TYPES, ...INDEX_TYPES];

/** 4 MiB, the limit the OCI spec says registries SHOULD accept at least and docker's registry enforces. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

const descriptor = z.looseObject({
  mediaType: z.string().min(1),
  digest: z.string(),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
});

const imageManifest = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptor,
  layers: z.array(descriptor),
});

const imageIndex = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z.array(descriptor),
});

/**
 * Layers that are fetched from elsewhere (Windows base layers) are not
 * expected in the registry; docker's registry skips them too.
 */
function isForeign(layer: z.infer<typeof descriptor>): boolean {
  return (
    (layer.mediaType.includes('foreign') || layer.mediaType.includes('nondistributable')) &&
    (layer.urls?.length ?? 0) > 0
  );
}

function invalid(message: string, detail?: unknown): HubError {
  return new HubError('MANIFEST_INVALID', message, { detail });
}

export interface ParsedManifest {
  mediaType: string;
  references: ManifestReferences;
}

/** `Content-Type` without parameters, lowercased. */
export function baseMediaType(header: string | undefined): string | undefined {
  const base = header?.split(';')[0]?.trim().toLowerCase();
  return base ? base : undefined;
}

/**
 * Parses and checks a manifest body. The media type comes from the body's
 * `mediaType` field when present (it must then agree with `Content-Type`),
 * else from `Content-Type` (OCI manifests may omit the field).
 */
export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw invalid('manifest must be a JSON object');
  const declared = (json as { mediaType?: unknown }).mediaType;
  if (declared !== undefined && typeof declared !== 'string')
    throw invalid('manifest mediaType must be a string');
  const header = baseMediaType(contentType);
  if (
    declared !== undefined &&
    header !== undefined &&
    header !== declared &&
    header !== 'application/json'
  ) {
    throw invalid('manifest mediaType does not match the Content-Type header', {
      mediaType: declared,
      contentType,
    });
  }
  const mediaType = declared ?? header;
  if (mediaType === undefined || !SUPPORTED_MANIFEST_TYPES.includes(mediaType)) {
    throw invalid('unsupported manifest media type', {
      mediaType: mediaType ?? null,
      supported: SUPPORTED_MANIFEST_TYPES,
    });
  }

  const checkDigest = (digest: string) => {
    if (!isDigest(digest)) throw invalid('descriptor digest is not a sha256 digest', { digest });
  };

  if (IMAGE_TYPES.has(mediaType)) {
    const parsed = imageManifest.safeParse(json);
    if (!parsed.success)
      throw invalid('manifest does not match the image manifest schema', parsed.error.issues);
    const needed = [parsed.data.config, ...parsed.data.layers.filter((layer) => !isForeign(layer))];
    needed.forEach((item) => checkDigest(item.digest));
    return {
      mediaType,
      references: { blobs: needed.map(({ digest, size }) => ({ digest, size })), manifests: [] },
    };
  }
  const parsed = imageIndex.safeParse(json);
  if (!parsed.success) throw invalid('manifest does not match the image index schema', parsed.error.issues);
  parsed.data.manifests.forEach((child) => checkDigest(child.digest));
  return {
    mediaType,
    references: { blobs: [], manifests: [...new Set(parsed.data.manifests.map((m) => m.digest))] },
  };
}
