/**
 * Content discovery (OCI spec, "Listing Tags") and the catalog (Docker
 * Registry HTTP API v2, "Catalog"), both paginated with `n` and `last` and
 * an RFC 8288 `Link: <…>; rel="next"` header when more results follow.
 */
import { z } from 'zod';
import type { VerifiedToken } from '../auth/tokens.js';
import { HubError } from '../errors.js';
import type { RequestContext } from '../http/context.js';
import { sendJson } from '../http/respond.js';
import { needs, type RegistryDeps, type RepositoryRequest } from './types.js';

/** Upper bound of one page; a request without `n` gets at most this many. */
export const MAX_PAGE = 1000;

const pageSchema = z.object({
  n: z.coerce.number().int().min(0).max(MAX_PAGE).default(MAX_PAGE),
  last: z.string().max(256).optional(),
});

function parsePage(query: URLSearchParams): { n: number; last: string | undefined } {
  const parsed = pageSchema.safeParse({
    n: query.get('n') ?? undefined,
    last: query.get('last') ?? undefined,
  });
  if (!parsed.success) {
    throw new HubError('UNSUPPORTED', `pagination parameters are invalid: n must be 0..${MAX_PAGE}`, {
      status: 400,
      detail: parsed.error.issues,
    });
  }
  return { n: parsed.data.n, last: parsed.data.last };
}

function nextLink(path: string, n: number, last: string): string {
  return `<${path}?n=${n}&last=${encodeURIComponent(last)}>; rel="next"`;
}

/** Runs a page query one item over `n` to know whether a next page exists. */
function paginate(fetch: (limit: number, last?: string) => string[], page: { n: number; last?: string }) {
  if (page.n === 0) return { items: [] as string[], more: false };
  const items = fetch(page.n + 1, page.last);
  const more = items.length > page.n;
  return { items: more ? items.slice(0, page.n) : items, more };
}

export function listTags(deps: RegistryDeps, request: RepositoryRequest): void {
  const { ctx, name } = request;
  needs(deps, request, 'pull');
  if (!deps.metadata.repositoryExists(name)) {
    throw new HubError('NAME_UNKNOWN', 'repository name not known to registry', { detail: { name } });
  }
  const page = parsePage(ctx.query);
  const { items, more } = paginate((limit, last) => deps.metadata.listTags(name, limit, last), page);
  const headers: Record<string, string> = {};
  const lastItem = items.at(-1);
  if (more && lastItem !== undefined) headers.Link = nextLink(`/v2/${name}/tags/list`, page.n, lastItem);
  sendJson(ctx.res, 200, { name, tags: items }, headers);
}

export function listCatalog(
  deps: RegistryDeps,
  ctx: RequestContext,
  identity: VerifiedToken | undefined,
): void {
  deps.gate.require(identity, { type: 'registry', name: 'catalog', actions: ['*'] });
  const page = parsePage(ctx.query);
  const { items, more } = paginate((limit, last) => deps.metadata.listRepositories(limit, last), page);
  const headers: Record<string, string> = {};
  const lastItem = items.at(-1);
  if (more && lastItem !== undefined) headers.Link = nextLink('/v2/_catalog', page.n, lastItem);
  sendJson(ctx.res, 200, { repositories: items }, headers);
}
