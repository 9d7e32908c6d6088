/**
 * A client of the Notary server HTTP API (notary-server server/handlers) over node:https: reads
 * metadata for the updater (RemoteStore), and publishes, fetches and rotates
 * server-held keys, and deletes for the publisher.
 *
 * Status mapping follows notary's storage/httpstore.go: 404 → not found,
 * 400 → the server's error detail, 401 → not authorized, anything else →
 * "unable to reach trust server at this time: <code>.". Bodies are read with
 * a hard cap, so an oversized answer is refused without being buffered.
 *
 * `socketPath` sends every request through a unix socket instead of TCP
 * (for a caller whose only way to the server is such a socket); the URLs,
 * Host header and TLS, certificate and name checks included, stay those of
 * `server`.
 */
import http from 'node:http';
import https from 'node:https';
import { FetchError } from '../errors.js';
import type { RemoteStore } from '../client/interfaces.js';
import { PublicKey } from '../crypto/keys.js';
import { parseJsonBytes } from '../encoding/canonical-json.js';
import { buildPublishRequest } from '../publisher/publish-request.js';

export interface NotaryHttpOptions {
  /** Server base URL, e.g. https://localhost:4443 */
  server: string;
  gun: string;
  /** PEM text of CA certificates to trust (in addition to none: the system store is not used when set). */
  ca?: string | Buffer;
  /** Extra headers for every request (authorization). */
  headers?: () => Record<string, string> | Promise<Record<string, string>>;
  /** Called on 401 with the WWW-Authenticate header; return new headers to retry once, or undefined. */
  onUnauthorized?: (challenge: string | undefined) => Promise<Record<string, string> | undefined>;
  timeoutMs?: number;
  /** Accept self-signed certificates (docker does this for loopback registries only). */
  insecure?: boolean;
  /** Connect through this unix socket instead of TCP; TLS still checks the certificate for `server`. */
  socketPath?: string | undefined;
}

/** Go's text for the errno of a failed unix socket dial (what notary would print). */
const UNIX_DIAL_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ECONNREFUSED: 'connection refused',
  EACCES: 'permission denied',
  ENOTSOCK: 'socket operation on non-socket',
};

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Uint8Array;
}

/** Encode GUN segments for a URL path while keeping the slashes. */
function gunPath(gun: string): string {
  return gun
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/%3A/gi, ':'))
    .join('/');
}

/** How a request fails when the server had closed the kept-alive connection it was sent on. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE']);
const STALE = Symbol('stale connection');

export class NotaryHttpClient implements RemoteStore {
  readonly displayName: string;
  private readonly base: URL;
  private readonly agent: https.Agent | http.Agent;
  /** Headers from the last answered 401 challenge, sent with every later request. */
  private authHeaders: Record<string, string> = {};

  constructor(private readonly options: NotaryHttpOptions) {
    this.base = new URL(options.server);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new FetchError('SERVER_UNREACHABLE', `unsupported trust server URL ${options.server}`);
    }
    this.displayName = this.base.host;
    this.agent =
      this.base.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            ca: options.ca,
            rejectUnauthorized: !options.insecure,
          })
        : new http.Agent({ keepAlive: true });
  }

  close(): void {
    this.agent.destroy();
  }

  private url(suffix: string): URL {
    return new URL(`/v2/${gunPath(this.options.gun)}/_trust/tuf/${suffix}`, this.base);
  }

  private async request(
    method: string,
    url: URL,
    maxLength: number,
    body?: { contentType: string; bytes: Uint8Array },
    retried = false,
    reconnected = false,
  ): Promise<RawResponse> {
    const headers: Record<string, string> = { ...(await this.options.headers?.()), ...this.authHeaders };
    if (body) {
      headers['content-type'] = body.contentType;
      headers['content-length'] = String(body.bytes.length);
    }
    const response = await new Promise<RawResponse | typeof STALE>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, {
        method,
        headers,
        agent: this.agent,
        timeout: this.options.timeoutMs ?? 30_000,
        ...(this.options.socketPath ? { socketPath: this.options.socketPath } : {}),
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      let answered = false;
      req.on('error', (cause: NodeJS.ErrnoException) => {
        // The server closed this kept-alive connection while it sat idle, so it never saw the
        // request: send it once more on a new connection (Node's http docs, `reusedSocket`).
        if (!reconnected && !answered && req.reusedSocket && STALE_CONNECTION.has(cause.code ?? '')) {
          resolve(STALE);
          return;
        }
        reject(this.unreachable(cause));
      });
      req.on('response', (res) => {
        answered = true;
        const declared = Number(res.headers['content-length'] ?? -1);
        if (res.statusCode === 200 && declared > maxLength) {
          res.destroy();
          reject(
            new FetchError('TOO_LARGE', 'trust server returned a bad response.', { status: res.statusCode }),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxLength) {
            res.destroy();
            reject(
              new FetchError('TOO_LARGE', 'trust server returned a bad response.', {
                status: res.statusCode,
              }),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (cause) =>
          reject(
            new FetchError('SERVER_UNREACHABLE', `error contacting notary server: ${cause.message}`, {
              cause,
            }),
          ),
        );
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: new Uint8Array(Buffer.concat(chunks)),
          }),
        );
      });
      req.end(body ? Buffer.from(body.bytes) : undefined);
    });
    if (response === STALE) return this.request(method, url, maxLength, body, retried, true);
    if (response.status === 401 && !retried && this.options.onUnauthorized) {
      const challenge = response.headers['www-authenticate'];
      const next = await this.options.onUnauthorized(Array.isArray(challenge) ? challenge[0] : challenge);
      if (next) {
        // The newest credentials replace the previous ones (a token for a wider scope, say).
        this.authHeaders = next;
        return this.request(method, url, maxLength, body, true);
      }
    }
    return response;
  }

  private unreachable(cause: NodeJS.ErrnoException): FetchError {
    const { socketPath } = this.options;
    const unixDial = socketPath && cause.code ? UNIX_DIAL_ERRORS[cause.code] : undefined;
    if (unixDial) {
      return new FetchError(
        'SERVER_UNREACHABLE',
        `error contacting notary server: dial unix ${socketPath}: connect: ${unixDial}`,
        {
          cause,
          suggestion: `The trust server is reached through the unix socket ${socketPath}, and nothing answers there: check that the server is running.`,
        },
      );
    }
    return new FetchError('SERVER_UNREACHABLE', `error contacting notary server: ${cause.message}`, {
      cause,
    });
  }

  private fail(response: RawResponse, what: string): never {
    const { status } = response;
    if (status === 404) throw new FetchError('TRUST_DATA_MISSING', `${what} not found`, { status });
    if (status === 401) {
      throw new FetchError(
        'UNAUTHORIZED',
        'you are not authorized to perform this operation: server returned 401.',
        {
          status,
          suggestion: 'Log in with `docker login` first, or check that you may access this repository.',
        },
      );
    }
    if (status === 400) {
      let detail = Buffer.from(response.body).toString('utf8');
      try {
        const json = parseJsonBytes(response.body) as {
          errors?: Array<{ message?: string; detail?: unknown }>;
        };
        const first = json.errors?.[0];
        if (first) detail = JSON.stringify(first.detail ?? first.message);
      } catch {
        // keep the raw text
      }
      throw new FetchError('SERVER_ERROR', detail, { status });
    }
    throw new FetchError('SERVER_ERROR', `unable to reach trust server at this time: ${status}.`, { status });
  }

  async getMeta(name: string, maxLength: number): Promise<Uint8Array> {
    const response = await this.request('GET', this.url(`${name}.json`), maxLength);
    if (response.status !== 200) this.fail(response, name);
    return response.body;
  }

  /** GET …/<role>.key: the server-held timestamp or snapshot key (created on first request). */
  async getServerKey(role: 'timestamp' | 'snapshot'): Promise<PublicKey> {
    const response = await this.request('GET', this.url(`${role}.key`), 64 * 1024);
    if (response.status !== 200) this.fail(response, `${role} key`);
    return PublicKey.fromJSON(parseJsonBytes(response.body));
  }

  /** POST …/<role>.key: ask the server for a new key (notary key rotate <role> -r). */
  async rotateServerKey(role: 'timestamp' | 'snapshot'): Promise<PublicKey> {
    const response = await this.request('POST', this.url(`${role}.key`), 64 * 1024, {
      contentType: 'application/json',
      bytes: new Uint8Array(0),
    });
    if (response.status !== 200) this.fail(response, `${role} key`);
    return PublicKey.fromJSON(parseJsonBytes(response.body));
  }

  /** POST the changed files as multipart/form-data, one `files` part per role (notary-server server/handlers). */
  async publish(files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const body = buildPublishRequest(files);
    const response = await this.request('POST', this.url(''), 1024 * 1024, body);
    if (response.status !== 200) this.fail(response, 'publish');
  }

  /** DELETE /v2/<gun>/_trust/tuf/ (notary delete --remote). */
  async deleteRemote(): Promise<void> {
    const response = await this.request('DELETE', this.url(''), 1024 * 1024);
    if (response.status !== 200) this.fail(response, 'delete');
  }
}
