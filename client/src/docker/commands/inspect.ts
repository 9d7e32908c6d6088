/**
 * `docker image inspect`: a JSON array as the daemon's image inspect
 * returns it (4-space indentation, `<>&` escaped as Go's encoder does),
 * with the fields that mean something without a daemon: Id, RepoTags,
 * RepoDigests, Created, Config, Architecture, Os, Size, RootFS, Metadata.
 * `--format` takes `{{.Field.Sub}}` and `{{json .Field}}`.
 * Unknown images: `[]` on stdout, `Error: No such image: …` on stderr.
 */
import { flagString, parseArgs, requireArgs } from '../args.js';
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { HELP } from '../help-texts.js';
import type { ImageRecord } from '../image-store.js';
import { familiarName, familiarString, parseReference } from '../reference.js';

const FLAGS = [
  { long: 'format', short: 'f', type: 'string' },
  { long: 'platform', type: 'string' },
] as const;

/** Go encoding/json output: HTML-sensitive characters escaped. */
export function goJson(value: unknown, indent?: string): string {
  return JSON.stringify(value, null, indent)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}

async function describe(ctx: DockerContext, image: ImageRecord): Promise<Record<string, unknown>> {
  const refs = await ctx.store.referencesOf(image.id);
  const config = JSON.parse((await ctx.store.getBlob(image.configDigest)).toString('utf8')) as Record<
    string,
    unknown
  >;
  const repoTags = refs.filter((r) => !r.includes('@')).map((r) => familiarString(parseReference(r)));
  const repoDigests = refs
    .filter((r) => r.includes('@'))
    .map((r) => {
      const ref = parseReference(r);
      return `${familiarName(ref)}@${ref.digest}`;
    });
  return {
    Id: image.id,
    RepoTags: repoTags,
    RepoDigests: repoDigests,
    Parent: '',
    Comment: typeof config.comment === 'string' ? config.comment : '',
    Created: image.created ?? '0001-01-01T00:00:00Z',
    DockerVersion: typeof config.docker_version === 'string' ? config.docker_version : '',
    Author: typeof config.author === 'string' ? config.author : '',
    Config: config.config ?? null,
    Architecture: image.architecture ?? '',
    Os: image.os ?? '',
    Size: image.size,
    RootFS: config.rootfs ?? { Type: 'layers' },
    Metadata: { LastTagTime: image.lastTagTime ?? '0001-01-01T00:00:00Z' },
  };
}

function applyFormat(format: string, value: Record<string, unknown>): string {
  return format.replace(
    /\{\{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*\}\}/g,
    (_all, json: string | undefined, path: string) => {
      let current: unknown = value;
      for (const part of path.split('.').filter((p) => p !== '')) {
        current =
          current && typeof current === 'object' ? (current as Record<string, unknown>)[part] : undefined;
      }
      if (json) return goJson(current ?? null);
      if (current === undefined || current === null) return '<no value>';
      if (Array.isArray(current)) return `[${current.join(' ')}]`;
      if (typeof current === 'object')
        return `map[${Object.entries(current)
          .map(([k, v]) => `${k}:${String(v)}`)
          .join(' ')}]`;
      return String(current);
    },
  );
}

export async function inspectCommand(ctx: DockerContext, argv: string[]): Promise<number> {
  const usage = 'Usage:  docker image inspect [OPTIONS] IMAGE [IMAGE...]';
  const parsed = parseArgs(argv, FLAGS, 'image inspect', usage);
  if (parsed.help) {
    ctx.out(HELP['image inspect']!);
    return 0;
  }
  requireArgs(parsed, 'image inspect', usage, { min: 1 });
  const format = flagString(parsed, 'format');
  if (
    format !== undefined &&
    format !== 'json' &&
    /\{\{(?!\s*(json\s+)?\.[A-Za-z0-9_.]*\s*\}\})/.test(format)
  ) {
    throw new DockerError(
      'NOT_SUPPORTED',
      'only {{.Field}} and {{json .Field}} templates are provided in this lab environment',
    );
  }
  const results: Record<string, unknown>[] = [];
  const missing: string[] = [];
  for (const input of parsed.args) {
    const found = await ctx.store.resolve(input);
    if (found) results.push(await describe(ctx, found.image));
    else missing.push(input);
  }
  if (format !== undefined && format !== 'json') {
    for (const result of results) ctx.out(`${applyFormat(format, result)}\n`);
  } else {
    ctx.out(`${goJson(results, '    ')}\n`);
  }
  if (missing.length > 0) {
    throw new DockerError('NO_SUCH_IMAGE', `Error: No such image: ${missing.join(', ')}`);
  }
  return 0;
}
