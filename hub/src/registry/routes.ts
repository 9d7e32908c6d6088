/**
 * Dispatch of `/v2/…` requests (Docker Registry HTTP API v2 / OCI
 * distribution spec endpoint table). Repository names contain slashes, so
 * routes are recognised by their suffix (`/manifests/<ref>`,
 * `/blobs/uploads/…`, `/blobs/<digest>`, `/tags/list`).
 *
 * The name is checked before authentication: a malformed name is
 * NAME_INVALID for everyone and never reaches storage.
 */
import { HubError } from '../errors.js';
import type { RequestContext } from '../http/context.js';
import { sendJson } from '../http/respond.js';
import { deleteBlob, getBlob } from './blobs.js';
import { listCatalog, listTags } from './listing.js';
import { deleteManifest, getManifest, putManifest } from './manifests.js';
import { assertName } from './references.js';
import type { RegistryDeps, RepositoryRequest } from './types.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './uploads.js';

type Handler = (request: RepositoryRequest, argument: string) => Promise<void> | void;

interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
}

function routes(deps: RegistryDeps): Route[] {
  return [
    {
      pattern: /^\/v2\/(.+)\/tags\/list$/,
      methods: { GET: (r) => listTags(deps, r) },
    },
    {
      pattern: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
      methods: {
        GET: (r, ref) => getManifest(deps, r, ref),
        PUT: (r, ref) => putManifest(deps, r, ref),
        DELETE: (r, ref) => deleteManifest(deps, r, ref),
      },
    },
    {
      pattern: /^\/v2\/(.+)\/blobs\/uploads\/?$/,
      methods: { POST: (r) => startUpload(deps, r) },
    },
    {
      pattern: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
      methods: {
        GET: (r, uuid) => uploadStatus(deps, r, uuid),
        PATCH: (r, uuid) => patchUpload(deps, r, uuid),
        PUT: (r, uuid) => finishUpload(deps, r, uuid),
        DELETE: (r, uuid) => cancelUpload(deps, r, uuid),
      },
    },
    {
      pattern: /^\/v2\/(.+)\/blobs\/([^/]+)$/,
      methods: {
        GET: (r, digest) => getBlob(deps, r, digest),
        DELETE: (r, digest) => deleteBlob(deps, r, digest),
      },
    },
  ];
}

export function createRegistryHandler(deps: RegistryDeps): (ctx: RequestContext) => Promise<void> {
  const table = routes(deps);

  return async (ctx) => {
    // HEAD is served by the GET handlers; Node drops the body of HEAD responses.
    const method = ctx.method === 'HEAD' ? 'GET' : ctx.method;

    if (ctx.path === '/v2/' || ctx.path === '/v2') {
      // "API Version Check": 200 only for an authenticated caller, else the
      // challenge that tells docker where to get a token (docker login relies on it).
      if (method !== 'GET') throw new HubError('UNSUPPORTED', 'method not allowed');
      const identity = await deps.gate.authenticate(ctx.req);
      if (identity === undefined) throw deps.gate.unauthorized('authentication required');
      ctx.record.account = identity.account;
      sendJson(ctx.res, 200, {});
      return;
    }

    if (ctx.path === '/v2/_catalog') {
      if (method !== 'GET') throw new HubError('UNSUPPORTED', 'method not allowed');
      const identity = await deps.gate.authenticate(ctx.req);
      ctx.record.account = identity?.account;
      listCatalog(deps, ctx, identity);
      return;
    }

    for (const route of table) {
      const match = route.pattern.exec(ctx.path);
      if (!match) continue;
      const name = assertName(match[1] as string);
      ctx.record.repository = name;
      const handler = route.methods[method];
      if (handler === undefined) {
        throw new HubError('UNSUPPORTED', `${ctx.method} is not supported on this endpoint`, {
          headers: { Allow: Object.keys(route.methods).join(', ') },
        });
      }
      const identity = await deps.gate.authenticate(ctx.req, {
        type: 'repository',
        name,
        actions: method === 'GET' ? ['pull'] : ['pull', 'push'],
      });
      ctx.record.account = identity?.account;
      await handler({ ctx, name, identity }, match[2] ?? '');
      return;
    }

    throw new HubError('NAME_UNKNOWN', 'no such registry endpoint', {
      status: 404,
      detail: { path: ctx.path },
    });
  };
}
