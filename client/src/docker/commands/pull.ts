/**
 * `docker pull` (cli/command/image/pull.go and trust.go), with the daemon's
 * part done here: resolve the manifest (for an index, the linux/amd64
 * entry), fetch config and layers into the local image store, each checked
 * against its digest, then record the references.
 *
 * With content trust on and a tag (not a digest) given, the tag is first
 * resolved through the trust data ("Pull (1 of 1): …"), the image is pulled
 * by the signed digest, its manifest bytes are checked against the signed
 * length and sha256, and the tag is set only then ("Tagging … as …").
 */
import { gunzipSync } from 'node:zlib';
import type { FileMeta } from '../../../../trust-core/src/index.js';
import { VerificationError, verifyTargetContent } from '../../../../trust-core/src/index.js';
import type { RegistryClient } from '../../registry/index.js';
import { parseManifest, selectPlatform } from '../../registry/index.js';
import { flagBool, parseArgs, requireArgs } from '../args.js';
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { HELP } from '../help-texts.js';
import { shortId } from '../image-store.js';
import type { ImageReference } from '../reference.js';
import {
  familiarName,
  familiarString,
  isNameOnly,
  parseReference,
  referenceString,
  withDefaultTag,
  withDigest,
  withTag,
} from '../reference.js';
import { resolveTrustedTag } from '../trust.js';
import { registryFailure } from './registry-errors.js';

const FLAGS = [
  { long: 'all-tags', short: 'a', type: 'bool' },
  { long: 'disable-content-trust', type: 'bool' },
  { long: 'platform', type: 'string' },
  { long: 'quiet', short: 'q', type: 'bool' },
] as const;

interface ImageConfigJson {
  created?: string;
  architecture?: string;
  os?: string;
}

export interface PulledImage {
  imageId: string;
  /** Digest of what the registry served for the reference (an index or a manifest). */
  digest: string;
  /** True when the local store did not already have this image under the reference. */
  changed: boolean;
}

function uncompressedSize(bytes: Buffer, mediaType: string | undefined): number {
  if (mediaType && !mediaType.includes('gzip') && !mediaType.endsWith('.tar')) return bytes.length;
  if (mediaType?.endsWith('.tar')) return bytes.length;
  try {
    return gunzipSync(bytes).length;
  } catch {
    return bytes.length;
  }
}

/**
 * Fetch an image into the store. `expected` is the signed target: the
 * first manifest's bytes must match it exactly.
 */
export async function fetchImage(
  ctx: DockerContext,
  client: RegistryClient,
  ref: ImageReference,
  reference: string,
  options: { quiet: boolean; expected?: { tag: string; meta: FileMeta } },
): Promise<PulledImage> {
  const store = ctx.store;
  const first = await client.getManifest(ref.path, reference, familiarName(ref));
  // The daemon starts its progress stream only once the manifest is there.
  if (!options.quiet) ctx.out(`${reference}: Pulling from ${ref.path}\n`);
  if (options.expected) {
    try {
      verifyTargetContent(options.expected.tag, options.expected.meta, first.bytes);
    } catch (error) {
      if (error instanceof VerificationError) {
        throw new DockerError(
          'TAMPERED',
          `manifest for ${familiarName(ref)}:${options.expected.tag} does not match its trust data: ${error.message}`,
          {
            cause: error,
            ...(error.suggestion ? { suggestion: error.suggestion } : {}),
          },
        );
      }
      throw error;
    }
  }
  let manifestBytes = first.bytes;
  let parsed = parseManifest(first.bytes, first.contentType);
  let manifestDigest = first.digest;
  if (parsed.kind === 'index') {
    const entry = selectPlatform(parsed.index);
    const platform = await client.getManifest(ref.path, entry.digest);
    manifestBytes = platform.bytes;
    manifestDigest = platform.digest;
    parsed = parseManifest(platform.bytes, platform.contentType);
    if (parsed.kind !== 'image') throw new DockerError('REGISTRY', 'nested image indexes are not supported');
  }
  const { manifest, mediaType } = parsed;
  const before = await store.referenceTarget(
    ref.tag !== undefined ? withTag(ref, ref.tag) : withDigest(ref, first.digest),
  );

  const configDigest = manifest.config.digest;
  if (!(await store.hasBlob(configDigest)))
    await store.putBlob(configDigest, await client.getBlob(ref.path, configDigest));
  const config = JSON.parse((await store.getBlob(configDigest)).toString('utf8')) as ImageConfigJson;
  let size = 0;
  for (const layer of manifest.layers) {
    let bytes: Buffer;
    if (await store.hasBlob(layer.digest)) {
      bytes = await store.getBlob(layer.digest);
      if (!options.quiet) ctx.out(`${shortId(layer.digest)}: Already exists\n`);
    } else {
      bytes = await client.getBlob(ref.path, layer.digest);
      await store.putBlob(layer.digest, bytes);
      if (!options.quiet) ctx.out(`${shortId(layer.digest)}: Pull complete\n`);
    }
    size += uncompressedSize(bytes, layer.mediaType);
  }
  await store.putBlob(manifestDigest, manifestBytes);
  await store.addImage({
    id: configDigest,
    manifestDigest,
    manifestMediaType: mediaType,
    configDigest,
    layers: manifest.layers.map((l) => l.digest),
    ...(config.created ? { created: config.created } : {}),
    size,
    ...(config.architecture ? { architecture: config.architecture } : {}),
    ...(config.os ? { os: config.os } : {}),
  });
  await store.setReference(withDigest(ref, first.digest), configDigest);
  if (ref.tag !== undefined && ref.digest === undefined)
    await store.setReference(withTag(ref, ref.tag), configDigest);
  await store.save();
  return { imageId: configDigest, digest: first.digest, changed: before !== configDigest };
}

/** The daemon's part of a pull, with its progress lines. */
async function pullPrivileged(
  ctx: DockerContext,
  ref: ImageReference,
  quiet: boolean,
  expected?: { tag: string; meta: FileMeta },
): Promise<PulledImage> {
  const client = await ctx.registry(ref);
  try {
    const reference = ref.digest ?? ref.tag ?? 'latest';
    const pulled = await fetchImage(ctx, client, ref, reference, {
      quiet,
      ...(expected ? { expected } : {}),
    });
    if (!quiet) {
      ctx.out(`Digest: ${pulled.digest}\n`);
      ctx.out(
        pulled.changed
          ? `Status: Downloaded newer image for ${familiarString(ref)}\n`
          : `Status: Image is up to date for ${familiarString(ref)}\n`,
      );
    }
    return pulled;
  } catch (error) {
    throw registryFailure(error);
  } finally {
    client.close();
  }
}

export async function pullCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const usage = 'Usage:  docker pull [OPTIONS] NAME[:TAG|@DIGEST]';
  const parsed = parseArgs(argv, FLAGS, 'pull', usage);
  if (parsed.help) {
    ctx.out(HELP.pull!);
    return 0;
  }
  requireArgs(parsed, 'pull', usage, { exactly: 1 });
  if (flagBool(parsed, 'all-tags')) {
    throw new DockerError('NOT_SUPPORTED', 'docker pull --all-tags is not provided in this lab environment');
  }
  const quiet = flagBool(parsed, 'quiet');
  let ref = parseReference(parsed.args[0]!);
  if (isNameOnly(ref)) {
    ref = withDefaultTag(ref);
    if (!quiet) ctx.out(`Using default tag: ${ref.tag}\n`);
  }
  const trust = ctx.env.contentTrust && !flagBool(parsed, 'disable-content-trust');
  // Pulls by digest skip notary (cli/command/image/pull.go: only NamedTagged refs go through trust).
  const trusted = trust && ref.digest === undefined;
  ctx.event.trust = trusted;
  ctx.event.reference = referenceString(ref);

  if (!trusted) {
    const pulled = await pullPrivileged(ctx, ref, quiet);
    ctx.event.outcome = 'PULLED';
    ctx.event.digest = pulled.digest;
    ctx.out(`${referenceString(ref)}\n`);
    return 0;
  }

  const tag = ref.tag!;
  const target = await resolveTrustedTag(ctx, ref, tag);
  ctx.out(`Pull (1 of 1): ${familiarName(ref)}:${tag}@${target.digest}\n`);
  const byDigest = withDigest(ref, target.digest);
  const pulled = await pullPrivileged(ctx, byDigest, quiet, { tag, meta: target.target.meta });
  const tagged = withTag(ref, tag);
  ctx.err(`Tagging ${familiarString(byDigest)} as ${familiarString(tagged)}\n`);
  await ctx.store.setReference(tagged, pulled.imageId);
  await ctx.store.save();
  ctx.event.outcome = 'VERIFIED';
  ctx.event.digest = target.digest;
  ctx.out(`${referenceString(ref)}\n`);
  return 0;
}
