/**
 * The hub's official images, as Docker Hub has them: `library/busybox` and
 * `library/alpine`, with small but real layers (deterministic tar+gzip, see
 * tar.ts), a real image config (amd64/linux, rootfs diff_ids = sha256 of the
 * uncompressed tar) and a Docker schema 2 manifest per image, tagged
 * `latest` and a version tag.
 *
 * They are signed in the hub's trust data under the GUN docker uses for them
 * (`docker.io/library/busybox`, docker/cli cli/trust, cli/command/image/trust.go): each tag is a target in `targets`
 * with the manifest's length and sha256 only, as `docker push` signs
 * (C:cli/trust/trust_push.go). Root and targets keys are ecdsa keys the hub
 * owns (sealed in `tuf_keys` like the server keys); snapshot and timestamp
 * are server-managed, as in a repository docker created.
 *
 * Idempotent: content is rebuilt byte for byte at every start (same digests),
 * and trust data is signed only when missing or when a signed tag no longer
 * matches its manifest (then `targets` is re-signed, the root is kept).
 */
import {
  FileMeta,
  RepositoryEditor,
  Updater,
  createRootCertificate,
  fromHex,
  rootPublicKey,
  type PublicKey,
  type Signer,
  type SignerSource,
  type UploadedPart,
} from '../../../trust-core/src/index.js';
import { dockerHubGun } from '../notary/gun.js';
import { LocalRemote, MemoryCache } from '../notary/local-remote.js';
import type { NotaryService } from '../notary/service.js';
import type { ContentApi } from '../server.js';
import { sha256Bytes } from '../storage/blob-store.js';
import { buildTar, gzipLayer, LAYER_MTIME, type TarEntry } from './tar.js';

export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';
const LAYER_TYPE = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const CREATED = new Date(LAYER_MTIME * 1000).toISOString().replace('.000Z', 'Z');

export interface OfficialImageSpec {
  repository: string;
  tags: string[];
  entries: TarEntry[];
  cmd: string[];
}

const shScript = (what: string) =>
  `#!/bin/sh\n# TrustLab placeholder: ${what}. The lab never runs it.\necho "${what} (TrustLab lab image)"\n`;

export const OFFICIAL_IMAGES: readonly OfficialImageSpec[] = [
  {
    repository: 'library/busybox',
    tags: ['latest', '1.36'],
    cmd: ['sh'],
    entries: [
      { path: 'bin/' },
      { path: 'bin/busybox', content: shScript('BusyBox v1.36.1'), mode: 0o755 },
      { path: 'bin/sh', content: shScript('BusyBox v1.36.1 sh'), mode: 0o755 },
      { path: 'etc/' },
      { path: 'etc/passwd', content: 'root:x:0:0:root:/root:/bin/sh\n' },
      { path: 'etc/group', content: 'root:x:0:\n' },
    ],
  },
  {
    repository: 'library/alpine',
    tags: ['latest', '3.20'],
    cmd: ['/bin/sh'],
    entries: [
      { path: 'bin/' },
      { path: 'bin/sh', content: shScript('Alpine 3.20 ash'), mode: 0o755 },
      { path: 'etc/' },
      { path: 'etc/alpine-release', content: '3.20.0\n' },
      {
        path: 'etc/os-release',
        content:
          'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.0\nPRETTY_NAME="Alpine Linux v3.20"\n' +
          'HOME_URL="https://alpinelinux.org/"\n',
      },
    ],
  },
];

export interface BuiltImage {
  spec: OfficialImageSpec;
  layer: Buffer;
  config: Buffer;
  manifest: Buffer;
  /** `sha256:<hex>` of the manifest. */
  digest: string;
}

/** Builds the image's bytes; the same spec always gives the same digests. */
export function buildImage(spec: OfficialImageSpec): BuiltImage {
  const tar = buildTar(spec.entries);
  const layer = gzipLayer(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: spec.cmd,
      },
      created: CREATED,
      history: [{ created: CREATED, created_by: `TrustLab hub: official image ${spec.repository}` }],
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256Bytes(tar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST_V2,
        config: { mediaType: CONFIG_TYPE, size: config.length, digest: sha256Bytes(config) },
        layers: [{ mediaType: LAYER_TYPE, size: layer.length, digest: sha256Bytes(layer) }],
      },
      null,
      3,
    ),
  );
  return { spec, layer, config, manifest, digest: sha256Bytes(manifest) };
}

/** Signers from the keys the hub holds for an official GUN (root cert keys resolve by canonical ID). */
function hubSigners(service: NotaryService, gun: string): SignerSource {
  return {
    signersFor: (role: string, keys: readonly PublicKey[]): Promise<Signer[]> => {
      const signers: Signer[] = [];
      for (const key of keys) {
        const priv = service.keys.privateKey(gun, role === 'root' ? 'root' : 'targets', key.canonicalId());
        if (priv) signers.push(priv.signer(key));
      }
      return Promise.resolve(signers);
    },
  };
}

function targetMeta(image: BuiltImage): FileMeta {
  return new FileMeta(image.manifest.length, { sha256: fromHex(image.digest.slice('sha256:'.length)) });
}

async function signOfficial(service: NotaryService, image: BuiltImage): Promise<void> {
  const gun = dockerHubGun(image.spec.repository);
  const now = new Date();
  let editor: RepositoryEditor;
  if (service.store.exists(gun)) {
    const trusted = await new Updater({
      gun,
      remote: new LocalRemote(service, gun),
      cache: new MemoryCache(),
    }).refresh();
    const wanted = targetMeta(image);
    const stale = image.spec.tags.some((tag) => {
      const meta = trusted.targets.signed.targets[tag];
      return (
        !meta ||
        meta.length !== wanted.length ||
        !meta.hashes.sha256?.every((b, i) => b === wanted.hashes.sha256?.[i])
      );
    });
    if (!stale) return;
    editor = RepositoryEditor.fromTrusted(trusted, now, true);
  } else {
    const rootId = service.keys.create(gun, 'root', 'ecdsa').id;
    const rootKey = service.keys.privateKey(gun, 'root', rootId);
    if (!rootKey) throw new Error(`official image key for ${gun} was not stored`);
    editor = RepositoryEditor.initialize({
      gun,
      now,
      rootKey: rootPublicKey(createRootCertificate(rootKey, gun, { now })),
      targetsKey: service.keys.create(gun, 'targets', 'ecdsa'),
      snapshotKey: await service.getKey(gun, 'snapshot'),
      timestampKey: await service.getKey(gun, 'timestamp'),
      serverManagedSnapshot: true,
    });
  }
  for (const tag of image.spec.tags) editor.addTarget(tag, targetMeta(image));
  const { files } = await editor.sign(hubSigners(service, gun));
  const parts: UploadedPart[] = [...files].map(([name, data]) => ({ name, data }));
  await service.publish(gun, parts);
}

/** Stores the official images and signs them (first start), or checks they are intact (later starts). */
export async function ensureOfficialImages(
  content: ContentApi,
  service: NotaryService,
): Promise<BuiltImage[]> {
  const built: BuiltImage[] = [];
  for (const spec of OFFICIAL_IMAGES) {
    const image = buildImage(spec);
    await content.putBlob(spec.repository, image.layer);
    await content.putBlob(spec.repository, image.config);
    for (const tag of spec.tags)
      content.putManifest(spec.repository, tag, DOCKER_MANIFEST_V2, image.manifest);
    await signOfficial(service, image);
    built.push(image);
  }
  return built;
}
