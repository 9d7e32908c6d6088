/** `docker tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`: a new reference to an image in the local store. */
import { parseArgs, requireArgs } from '../args.js';
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { HELP } from '../help-texts.js';
import { familiarString, parseReference, referenceString, withDefaultTag } from '../reference.js';

export async function tagCommand(ctx: DockerContext, argv: string[], name = 'tag'): Promise<number> {
  const usage = `Usage:  docker ${name} SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]`;
  const parsed = parseArgs(argv, [], name, usage);
  if (parsed.help) {
    ctx.out(HELP[name]!);
    return 0;
  }
  requireArgs(parsed, name, usage, { exactly: 2 });
  const [source, target] = parsed.args as [string, string];
  let targetRef;
  try {
    targetRef = withDefaultTag(parseReference(target));
  } catch (error) {
    throw new DockerError(
      'INVALID_REFERENCE',
      `Error parsing reference: "${target}" is not a valid repository/tag: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (targetRef.digest !== undefined) {
    throw new DockerError('INVALID_REFERENCE', 'refusing to create a tag with a digest reference');
  }
  const found = await ctx.store.resolve(source);
  if (!found) {
    let shown = source;
    try {
      shown = familiarString(withDefaultTag(parseReference(source)));
    } catch {
      // an ID prefix: shown as given
    }
    throw new DockerError('NO_SUCH_IMAGE', `Error response from daemon: No such image: ${shown}`, {
      suggestion: 'Pull the image first, or check its name with `docker images`.',
    });
  }
  await ctx.store.setReference(targetRef, found.image.id);
  await ctx.store.save();
  ctx.event.outcome = 'TAGGED';
  ctx.event.reference = referenceString(targetRef);
  return 0;
}
