/**
 * Docker token authentication ("Token Authentication Specification"), as
 * the docker CLI and notary client do it: ping `GET /v2/`; a 401 with a
 * `Bearer realm=…,service=…` challenge sends us to the realm for a token
 * for the scopes we need, with HTTP Basic credentials when we have them
 * (anonymous otherwise); a `Basic` challenge means Basic on every request.
 *
 * One Authorizer serves one origin (the registry, or the trust server) and
 * caches tokens per scope set for the life of the command.
 */
import { RegistryError } from './errors.js';
import type { HttpClient, HttpResponse } from './http.js';

export interface Credentials {
  username: string;
  password: string;
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse `Bearer realm="…",service="…",scope="…"` (one challenge, quoted or token values). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?\s*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(match[2] ?? '')) !== null) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return { scheme: match[1]!.toLowerCase(), params };
}

/** distribution's errcode body → `denied: requested access to the resource is denied`. */
export function describeErrorBody(response: HttpResponse): string | undefined {
  try {
    const json = JSON.parse(response.body.toString('utf8')) as {
      errors?: Array<{ code?: string; message?: string }>;
      details?: string;
    };
    const first = json.errors?.[0];
    if (first?.code) return `${first.code.toLowerCase().replace(/_/g, ' ')}: ${first.message ?? ''}`.trim();
    if (first?.message) return first.message;
  } catch {
    // not a JSON error body
  }
  return undefined;
}

function basic(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

export class Authorizer {
  private challenge: Challenge | null | undefined;
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly http: HttpClient,
    readonly origin: URL,
    private readonly credentials: Credentials | undefined,
  ) {}

  get hasCredentials(): boolean {
    return this.credentials !== undefined;
  }

  /** GET /v2/ once; remembers the challenge (null when the registry needs no auth). */
  async ping(): Promise<Challenge | null> {
    if (this.challenge !== undefined) return this.challenge;
    const url = new URL('/v2/', this.origin);
    const response = await this.http.request(url, { maxBytes: 1024 * 1024 });
    if (response.status === 401) {
      this.challenge = parseChallenge(response.header('www-authenticate')) ?? null;
    } else if (response.status >= 200 && response.status < 300) {
      this.challenge = null;
    } else {
      throw new RegistryError('PROTOCOL', `Get "${url.href}": unexpected status ${response.status}`, {
        status: response.status,
      });
    }
    return this.challenge;
  }

  /** Headers authorising `scopes` (`repository:alice/app:pull,push`). */
  async headers(scopes: readonly string[]): Promise<Record<string, string>> {
    const challenge = await this.ping();
    if (!challenge) return {};
    if (challenge.scheme === 'basic')
      return this.credentials ? { Authorization: basic(this.credentials) } : {};
    if (challenge.scheme !== 'bearer' || !challenge.params.realm) return {};
    const key = scopes.join(' ');
    let token = this.tokens.get(key);
    if (!token) {
      token = await this.fetchToken(challenge, scopes);
      this.tokens.set(key, token);
    }
    return { Authorization: `Bearer ${token}` };
  }

  /** Forget tokens (after a 401 on a request made with one). */
  reset(): void {
    this.tokens.clear();
  }

  private async fetchToken(challenge: Challenge, scopes: readonly string[]): Promise<string> {
    const realm = new URL(challenge.params.realm!);
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    for (const scope of scopes) realm.searchParams.append('scope', scope);
    if (this.credentials) realm.searchParams.set('account', this.credentials.username);
    const headers: Record<string, string> = this.credentials
      ? { Authorization: basic(this.credentials) }
      : {};
    const response = await this.http.request(realm, { headers, maxBytes: 1024 * 1024 });
    if (response.status === 401 || response.status === 403) {
      throw new RegistryError(
        'UNAUTHORIZED',
        `Get "${new URL('/v2/', this.origin).href}": ${describeErrorBody(response) ?? 'unauthorized: incorrect username or password'}`,
        {
          status: response.status,
          suggestion: 'Your saved login was refused: run `docker login` again.',
        },
      );
    }
    if (response.status !== 200) {
      throw new RegistryError(
        'PROTOCOL',
        `token request to ${realm.origin} failed: ${describeErrorBody(response) ?? `status ${response.status}`}`,
        { status: response.status },
      );
    }
    let body: { token?: string; access_token?: string };
    try {
      body = JSON.parse(response.body.toString('utf8')) as typeof body;
    } catch (cause) {
      throw new RegistryError('PROTOCOL', `token response from ${realm.origin} is not JSON`, { cause });
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError('PROTOCOL', `token response from ${realm.origin} has no token`);
    return token;
  }

  /**
   * docker login's check: ping, then ask the realm for a token with no scope
   * using the credentials. Resolves when they are accepted.
   */
  async login(): Promise<void> {
    const challenge = await this.ping();
    if (!challenge || challenge.scheme !== 'bearer') {
      if (challenge?.scheme === 'basic' && this.credentials) {
        const url = new URL('/v2/', this.origin);
        const response = await this.http.request(url, {
          headers: { Authorization: basic(this.credentials) },
        });
        if (response.status === 401) {
          throw new RegistryError(
            'UNAUTHORIZED',
            `Get "${url.href}": unauthorized: incorrect username or password`,
          );
        }
      }
      return;
    }
    await this.fetchToken(challenge, []);
  }
}
