import { describe, expect, it } from 'vitest';
import { MEDIA_TYPES, parseManifest } from './manifest-format.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const image = (mediaType?: string, extra: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      ...(mediaType ? { mediaType } : {}),
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest('a'), size: 10 },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest('b'), size: 20 },
        {
          mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
          digest: digest('c'),
          size: 30,
          urls: ['https://example.invalid/layer'],
        },
      ],
      ...extra,
    }),
  );

describe('parseManifest', () => {
  it('lists the blobs an image manifest needs, skipping foreign layers', () => {
    const parsed = parseManifest(image(MEDIA_TYPES.dockerManifest), MEDIA_TYPES.dockerManifest);
    expect(parsed.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(parsed.references.blobs).toEqual([
      { digest: digest('a'), size: 10 },
      { digest: digest('b'), size: 20 },
    ]);
  });

  it('takes the media type from Content-Type when the body has none', () => {
    expect(parseManifest(image(), `${MEDIA_TYPES.ociManifest}; charset=utf-8`).mediaType).toBe(
      MEDIA_TYPES.ociManifest,
    );
    expect(() => parseManifest(image(), undefined)).toThrow(
      expect.objectContaining({ code: 'MANIFEST_INVALID' }),
    );
  });

  it('lists the children of an index', () => {
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: digest('d'), size: 5 }],
      }),
    );
    expect(parseManifest(body, MEDIA_TYPES.ociIndex).references).toEqual({
      blobs: [],
      manifests: [digest('d')],
    });
  });

  it.each([
    ['not JSON', Buffer.from('{'), MEDIA_TYPES.ociManifest],
    ['a mismatching Content-Type', image(MEDIA_TYPES.dockerManifest), MEDIA_TYPES.ociManifest],
    [
      'schema 1',
      Buffer.from('{"schemaVersion":1}'),
      'application/vnd.docker.distribution.manifest.v1+prettyjws',
    ],
    ['a missing config', Buffer.from('{"schemaVersion":2,"layers":[]}'), MEDIA_TYPES.ociManifest],
    [
      'a non-sha256 digest',
      image(undefined, { config: { mediaType: 'x', digest: 'md5:abc', size: 1 } }),
      MEDIA_TYPES.ociManifest,
    ],
  ])('refuses %s with MANIFEST_INVALID', (_label, body, type) => {
    expect(() => parseManifest(body, type)).toThrow(expect.objectContaining({ code: 'MANIFEST_INVALID' }));
  });
});
