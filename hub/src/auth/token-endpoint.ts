/**
 * The token endpoint (`/token`), Docker "Token Authentication Specification".
 *
 * - `GET /token?service=…&scope=…[&scope=…]` with optional HTTP Basic
 *   credentials; anonymous requests get pull-only grants.
 * - `POST /token` with an OAuth2 password grant form ("OAuth2 Token"
 *   spec, used by docker when it holds an identity token); refresh tokens are
 *   not issued, so `grant_type=refresh_token` is refused.
 *
 * The granted access is the intersection of what was asked and what the
 * policy allows; asking for more is not an error (docker asks for
 * `pull,push` on every push and is told what it got).
 */
import type { Accounts } from './accounts.js';
import { HubError } from '../errors.js';
import { readBody } from '../http/body.js';
import type { RequestContext } from '../http/context.js';
import { sendJson } from '../http/respond.js';
import { isValidGun } from '../notary/gun.js';
import { isValidName } from '../registry/references.js';
import { grant } from './policy.js';
import { parseScope, type AccessEntry } from './scope.js';
import type { TokenService } from './tokens.js';

const MAX_FORM_BYTES = 64 * 1024;

export interface TokenEndpointDeps {
  tokens: TokenService;
  accounts: Accounts;
  service: string;
}

function badCredentials(): HubError {
  return new HubError('UNAUTHORIZED', 'incorrect username or password', {
    headers: { 'WWW-Authenticate': 'Basic realm="TrustLab Hub"' },
  });
}

function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) throw badCredentials();
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw badCredentials();
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function requestedAccess(scopes: string[]): AccessEntry[] {
  const entries: AccessEntry[] = [];
  for (const scope of scopes) {
    const entry = parseScope(scope);
    if (entry === undefined) continue;
    // A trust-server scope names a GUN (`localhost:4443/alice/app`), which is not a registry name.
    if (entry.type === 'repository' && !isValidName(entry.name) && !isValidGun(entry.name)) {
      throw new HubError('NAME_INVALID', 'invalid repository name in scope', { detail: { scope } });
    }
    entries.push(entry);
  }
  return entries;
}

export function createTokenEndpoint(deps: TokenEndpointDeps): (ctx: RequestContext) => Promise<void> {
  async function authenticate(user: string, password: string): Promise<string> {
    if (!(await deps.accounts.verifyPassword(user, password))) throw badCredentials();
    return user;
  }

  async function respond(ctx: RequestContext, account: string | undefined, scopes: string[], oauth: boolean) {
    const access = requestedAccess(scopes)
      .map((entry) => grant(account, entry))
      .filter((entry): entry is AccessEntry => entry !== undefined);
    const issued = await deps.tokens.issue(account, access);
    const body: Record<string, unknown> = {
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt.toISOString(),
    };
    if (oauth) body.scope = scopes.join(' ');
    sendJson(ctx.res, 200, body, { 'Cache-Control': 'no-store' });
  }

  function checkService(service: string | null): void {
    if (service !== null && service !== '' && service !== deps.service) {
      throw new HubError('DENIED', `unknown service "${service}"`, { status: 400 });
    }
  }

  return async (ctx) => {
    if (ctx.method === 'GET') {
      checkService(ctx.query.get('service'));
      const basic = parseBasic(ctx.req.headers.authorization);
      const account = basic ? await authenticate(basic.user, basic.password) : undefined;
      ctx.record.account = account;
      await respond(ctx, account, ctx.query.getAll('scope'), false);
      return;
    }
    if (ctx.method === 'POST') {
      const form = new URLSearchParams(
        (await readBody(ctx.req, MAX_FORM_BYTES, 'token request')).toString('utf8'),
      );
      checkService(form.get('service'));
      if (form.get('grant_type') !== 'password') {
        sendJson(ctx.res, 400, { error: 'unsupported_grant_type' });
        return;
      }
      const account = await authenticate(form.get('username') ?? '', form.get('password') ?? '');
      ctx.record.account = account;
      const scopes = (form.get('scope') ?? '').split(' ').filter((scope) => scope.length > 0);
      await respond(ctx, account, scopes, true);
      return;
    }
    throw new HubError('UNSUPPORTED', 'the token endpoint accepts GET and POST');
  };
}
