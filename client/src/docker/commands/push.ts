/**
 * `docker push` (cli/command/image/push.go, trust_push.go), with the
 * daemon's part done here: the stored manifest and its blobs go to the
 * registry (only the blobs it lacks), the manifest bytes unchanged so the
 * digest is the one `docker images --digests` shows. With content trust on,
 * the pushed tag is then signed: `{length, sha256}` of the manifest, as
 * docker signs it (notary tuf/data).
 */
import { flagBool, parseArgs, requireArgs } from '../args.js';
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { HELP } from '../help-texts.js';
import { shortId } from '../image-store.js';
import {
  familiarName,
  fullName,
  isNameOnly,
  parseReference,
  referenceString,
  withDefaultTag,
} from '../reference.js';
import { signPushedTag } from '../trust.js';
import { pushStreamFailure } from './registry-errors.js';

const FLAGS = [
  { long: 'all-tags', short: 'a', type: 'bool' },
  { long: 'disable-content-trust', type: 'bool' },
  { long: 'platform', type: 'string' },
  { long: 'quiet', short: 'q', type: 'bool' },
] as const;

export async function pushCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const usage = 'Usage:  docker push [OPTIONS] NAME[:TAG]';
  const parsed = parseArgs(argv, FLAGS, 'push', usage);
  if (parsed.help) {
    ctx.out(HELP.push!);
    return 0;
  }
  requireArgs(parsed, 'push', usage, { exactly: 1 });
  if (flagBool(parsed, 'all-tags')) {
    throw new DockerError('NOT_SUPPORTED', 'docker push --all-tags is not provided in this lab environment');
  }
  const quiet = flagBool(parsed, 'quiet');
  let ref = parseReference(parsed.args[0]!);
  if (ref.digest !== undefined) {
    throw new DockerError('USAGE', 'cannot push a digest reference', {
      suggestion: 'Push a tag: docker push <name>:<tag>.',
    });
  }
  if (isNameOnly(ref)) {
    ref = withDefaultTag(ref);
    if (!quiet) ctx.out(`Using default tag: ${ref.tag}\n`);
  }
  const tag = ref.tag!;
  const trust = ctx.env.contentTrust && !flagBool(parsed, 'disable-content-trust');
  ctx.event.trust = trust;
  ctx.event.reference = referenceString(ref);

  // The daemon names the repository first, then looks the tag up (moby distribution/push.go), so
  // even "An image does not exist locally" comes after this line.
  if (!quiet) ctx.out(`The push refers to repository [${fullName(ref)}]\n`);
  const store = ctx.store;
  const imageId = await store.referenceTarget(ref);
  const image = imageId ? (await store.load()).images[imageId] : undefined;
  if (!image) {
    throw new DockerError(
      'NO_SUCH_IMAGE',
      `An image does not exist locally with the tag: ${familiarName(ref)}`,
      {
        suggestion: `Tag an image first: docker tag <image> ${familiarName(ref)}:${tag}`,
      },
    );
  }
  const manifest = await store.getBlob(image.manifestDigest);

  const client = await ctx.registry(ref);
  let digest: string;
  try {
    for (const layer of [...image.layers].reverse()) {
      if (await client.hasBlob(ref.path, layer)) {
        if (!quiet) ctx.out(`${shortId(layer)}: Layer already exists\n`);
        continue;
      }
      await client.putBlob(ref.path, layer, await store.getBlob(layer));
      if (!quiet) ctx.out(`${shortId(layer)}: Pushed\n`);
    }
    if (!(await client.hasBlob(ref.path, image.configDigest))) {
      await client.putBlob(ref.path, image.configDigest, await store.getBlob(image.configDigest));
    }
    digest = await client.putManifest(ref.path, tag, image.manifestMediaType, manifest);
  } catch (error) {
    throw await pushStreamFailure(client, error);
  } finally {
    client.close();
  }
  ctx.out(`${tag}: digest: ${digest} size: ${manifest.length}\n`);
  ctx.event.digest = digest;
  ctx.event.outcome = 'PUSHED';
  if (!trust) return 0;

  await signPushedTag(ctx, ref, tag, { length: manifest.length, digest });
  ctx.event.outcome = 'SIGNED';
  return 0;
}
