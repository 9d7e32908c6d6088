/**
 * `docker rmi` / `docker image rm`: untag; when an image has no tag left,
 * drop its digest references, the image, and the blobs no other image uses.
 * Output as the daemon reports it: `Untagged: …` then `Deleted: sha256:…`.
 * An image named by ID that several repositories use needs `-f`.
 */
import { flagBool, parseArgs, requireArgs } from '../args.js';
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { HELP } from '../help-texts.js';
import { shortId } from '../image-store.js';
import { familiarName, familiarString, parseReference, withDefaultTag } from '../reference.js';

const FLAGS = [
  { long: 'force', short: 'f', type: 'bool' },
  { long: 'no-prune', type: 'bool' },
  { long: 'platform', type: 'strings' },
] as const;

async function removeOne(ctx: DockerContext, input: string, force: boolean): Promise<void> {
  const store = ctx.store;
  const found = await store.resolve(input);
  if (!found) {
    let shown = input;
    try {
      shown = familiarString(withDefaultTag(parseReference(input)));
    } catch {
      // an ID: shown as given
    }
    throw new DockerError('NO_SUCH_IMAGE', `Error response from daemon: No such image: ${shown}`);
  }
  const { image } = found;
  const refs = await store.referencesOf(image.id);
  const tags = refs.filter((r) => !r.includes('@'));
  if (found.reference && !found.reference.includes('@') && tags.length > 1) {
    await store.removeReference(found.reference);
    await store.save();
    ctx.out(`Untagged: ${familiarString(parseReference(found.reference))}\n`);
    return;
  }
  const repos = new Set(refs.map((r) => familiarName(parseReference(r))));
  if (!found.reference && repos.size > 1 && !force) {
    throw new DockerError(
      'CONFLICT',
      `Error response from daemon: conflict: unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`,
    );
  }
  for (const ref of refs) ctx.out(`Untagged: ${familiarString(parseReference(ref))}\n`);
  await store.removeImage(image.id);
  await store.save();
  ctx.out(`Deleted: ${image.id}\n`);
}

export async function rmiCommand(ctx: DockerContext, argv: string[], name = 'rmi'): Promise<number> {
  const usage = `Usage:  docker ${name} [OPTIONS] IMAGE [IMAGE...]`;
  const parsed = parseArgs(argv, FLAGS, name, usage);
  if (parsed.help) {
    ctx.out(HELP[name === 'rmi' ? 'rmi' : 'image rm']!);
    return 0;
  }
  requireArgs(parsed, name, usage, { min: 1 });
  let failed: DockerError | undefined;
  for (const input of parsed.args) {
    try {
      await removeOne(ctx, input, flagBool(parsed, 'force'));
    } catch (error) {
      if (!(error instanceof DockerError) || parsed.args.length === 1) throw error;
      ctx.err(`${error.message}\n`);
      failed = error;
    }
  }
  if (failed) throw new DockerError(failed.code, '', { exitCode: 1 });
  ctx.event.outcome = 'REMOVED';
  return 0;
}
