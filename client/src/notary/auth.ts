/**
 * Token auth as notary 0.7 does it against a registry-style token server
 * (the lab hub): on a 401 with `WWW-Authenticate: Bearer realm=…,service=…`,
 * ask the realm for a token with the scope the command needs
 * (`repository:<gun>:pull` to read, `push,pull` to publish, `*` for
 * `delete --remote` and server-managed key rotation), then retry with
 * `Authorization: Bearer <token>`.
 *
 * Credentials come from `NOTARY_AUTH` (base64 of `user:password`, sent as
 * is in a Basic header). Without it, commands that write ask
 * `Enter username: ` / `Enter password: ` on the terminal; an empty answer or
 * EOF goes on anonymously, and reading commands never ask.
 */
import https from 'node:https';
import http from 'node:http';
import type { Terminal } from '../cli/terminal.js';
import { PromptAborted } from '../cli/terminal.js';
import type { HubSocket } from '../registry/hub-address.js';
import { socketPathFor } from '../registry/hub-address.js';

export type Access = 'pull' | 'push' | '*';

export function scopeFor(gun: string, access: Access): string {
  return `repository:${gun}:${access === 'push' ? 'push,pull' : access}`;
}

/** Parse `Bearer realm="…",service="…",scope="…"` (quoted or bare values). */
export function parseChallenge(header: string | undefined): Record<string, string> | undefined {
  if (!header) return undefined;
  const match = /^\s*Bearer\s+(.*)$/i.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let m = re.exec(match[1]!); m !== null; m = re.exec(match[1]!)) {
    params[m[1]!.toLowerCase()] = (m[2] ?? m[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return params.realm ? params : undefined;
}

export interface TokenAuthOptions {
  gun: string;
  access: Access;
  env: NodeJS.ProcessEnv;
  terminal: Terminal;
  ca?: string | Buffer;
  insecure?: boolean;
  /** In a lab sandbox, the unix socket that stands for the hub (TRUSTLAB_HUB_SOCKET). */
  hubSocket?: HubSocket | undefined;
}

function getJson(url: URL, headers: Record<string, string>, options: TokenAuthOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, {
      method: 'GET',
      headers,
      timeout: 15_000,
      socketPath: socketPathFor(options.hubSocket, url),
      ...(url.protocol === 'https:' ? { ca: options.ca, rejectUnauthorized: !options.insecure } : {}),
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) {
          resolve(undefined);
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    req.end();
  });
}

async function basicCredentials(options: TokenAuthOptions): Promise<string | undefined> {
  const fromEnv = options.env.NOTARY_AUTH;
  if (fromEnv) return fromEnv;
  if (options.access === 'pull') return undefined;
  try {
    const user = await options.terminal.ask('Enter username: ');
    if (user === '') return undefined;
    const password = await options.terminal.ask('Enter password: ', { hidden: true });
    return Buffer.from(`${user}:${password}`).toString('base64');
  } catch (error) {
    if (error instanceof PromptAborted && error.reason === 'eof') return undefined;
    throw error;
  }
}

/** The `onUnauthorized` hook of NotaryHttpClient: fetch a token and return the header to retry with. */
export function tokenAuth(
  options: TokenAuthOptions,
): (challenge: string | undefined) => Promise<Record<string, string> | undefined> {
  return async (challenge) => {
    const params = parseChallenge(challenge);
    if (!params) return undefined;
    const url = new URL(params.realm!);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.append('scope', scopeFor(options.gun, options.access));
    const basic = await basicCredentials(options);
    const body = (await getJson(url, basic ? { authorization: `Basic ${basic}` } : {}, options)) as
      { token?: string; access_token?: string } | undefined;
    const token = body?.token ?? body?.access_token;
    return token ? { authorization: `Bearer ${token}` } : undefined;
  };
}
