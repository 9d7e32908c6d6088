/**
 * A small HTTPS client for the registry and token endpoints: one keep-alive
 * agent per origin, the system roots plus the lab CA (TRUSTLAB_HUB_CA), a
 * hard cap on body size, and redirects followed without leaking the
 * Authorization header to another origin (as Go's net/http does).
 *
 * Network and TLS failures become RegistryErrors worded as Go words them,
 * since that is what docker shows: `Get "https://…/v2/": dial tcp
 * 127.0.0.1:4443: connect: connection refused`, `… tls: failed to verify
 * certificate: x509: certificate signed by unknown authority`.
 *
 * In a lab sandbox (TRUSTLAB_HUB_SOCKET set) connections to the hub's
 * host:port go through that unix socket instead of TCP, with the same URL,
 * Host header and TLS checks (hub-address.ts). A failure to reach the socket
 * is worded as Go words a unix dial: `dial unix <path>: connect: …`.
 */
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { RegistryError } from './errors.js';
import type { HubSocket } from './hub-address.js';
import { hubSocketFromEnv, socketPathFor } from './hub-address.js';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  url: URL;
  header(name: string): string | undefined;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Largest body accepted (default 64 MiB). */
  maxBytes?: number;
  timeoutMs?: number;
}

const DEFAULT_MAX = 64 * 1024 * 1024;
const MAX_REDIRECTS = 5;

function goMethod(method: string): string {
  return method.charAt(0) + method.slice(1).toLowerCase();
}

/** Go's text for the errno of a failed unix socket dial. */
const UNIX_DIAL_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ECONNREFUSED: 'connection refused',
  EACCES: 'permission denied',
  ENOTSOCK: 'socket operation on non-socket',
};

/**
 * How Go's net/http and crypto/tls would describe this failure; `socketPath`
 * when the connection went through a unix socket.
 */
export function describeNetworkError(
  error: NodeJS.ErrnoException,
  url: URL,
  socketPath?: string,
): { code: 'UNREACHABLE' | 'TLS'; reason: string } {
  const unixDial = socketPath !== undefined && error.code ? UNIX_DIAL_ERRORS[error.code] : undefined;
  if (unixDial) return { code: 'UNREACHABLE', reason: `dial unix ${socketPath}: connect: ${unixDial}` };
  const hostPort = `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
  const address = (error as { address?: string; port?: number }).address;
  const dialTarget = address ? `${address}:${(error as { port?: number }).port ?? url.port}` : hostPort;
  switch (error.code) {
    case 'ECONNREFUSED':
      return { code: 'UNREACHABLE', reason: `dial tcp ${dialTarget}: connect: connection refused` };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { code: 'UNREACHABLE', reason: `dial tcp: lookup ${url.hostname}: no such host` };
    case 'ETIMEDOUT':
    case 'TIMEOUT':
      return { code: 'UNREACHABLE', reason: `dial tcp ${hostPort}: i/o timeout` };
    case 'ECONNRESET':
      return { code: 'UNREACHABLE', reason: 'read: connection reset by peer' };
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return { code: 'TLS', reason: 'http: server gave HTTP response to HTTPS client' };
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'UNABLE_TO_GET_ISSUER_CERT':
      return {
        code: 'TLS',
        reason: 'tls: failed to verify certificate: x509: certificate signed by unknown authority',
      };
    case 'CERT_HAS_EXPIRED':
    case 'CERT_NOT_YET_VALID':
      return {
        code: 'TLS',
        reason: 'tls: failed to verify certificate: x509: certificate has expired or is not yet valid',
      };
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return { code: 'TLS', reason: `tls: failed to verify certificate: x509: ${error.message}` };
    default:
      return { code: 'UNREACHABLE', reason: error.message };
  }
}

export interface HttpClientOptions {
  /**
   * The unix socket standing for the hub's host:port. Left out, it comes from
   * the process's TRUSTLAB_HUB / TRUSTLAB_HUB_SOCKET: in a sandbox that socket
   * is the only way out, so it applies to every client in the process, as a
   * proxy variable would. `null`: connect over TCP whatever the environment says.
   */
  hubSocket?: HubSocket | null;
}

/** How a request fails when the server had closed the kept-alive connection it was sent on. */
const STALE_CONNECTION = new Set(['ECONNRESET', 'EPIPE']);

export class HttpClient {
  private readonly agents = new Map<string, http.Agent>();
  private readonly ca: string[] | undefined;
  private readonly hubSocket: HubSocket | undefined;

  constructor(extraCa?: string, options: HttpClientOptions = {}) {
    this.ca = extraCa ? [...tls.rootCertificates, extraCa] : undefined;
    this.hubSocket =
      options.hubSocket === undefined ? hubSocketFromEnv(process.env) : (options.hubSocket ?? undefined);
  }

  private agent(url: URL): http.Agent {
    let agent = this.agents.get(url.origin);
    if (!agent) {
      agent =
        url.protocol === 'https:'
          ? new https.Agent({ keepAlive: true, ...(this.ca ? { ca: this.ca } : {}) })
          : new http.Agent({ keepAlive: true });
      this.agents.set(url.origin, agent);
    }
    return agent;
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }

  async request(target: URL, options: HttpRequest = {}): Promise<HttpResponse> {
    let url = target;
    let headers = { ...options.headers };
    for (let hop = 0; ; hop++) {
      const response = await this.once(url, { ...options, headers });
      const location = response.header('location');
      if ([301, 302, 303, 307, 308].includes(response.status) && location && hop < MAX_REDIRECTS) {
        const next = new URL(location, url);
        if (next.origin !== url.origin) {
          headers = Object.fromEntries(
            Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'),
          );
        }
        url = next;
        continue;
      }
      return response;
    }
  }

  /**
   * One request. A request that fails on a kept-alive connection before any
   * answer came (ECONNRESET, EPIPE) is sent once more on a new one: the hub
   * closed that connection while it sat idle, so it never saw the request
   * (Node's http docs, `request.reusedSocket`). A CPU-starved client can sit
   * idle past the server's keep-alive timeout between two of its requests.
   */
  private once(url: URL, options: HttpRequest, mayRetry = true): Promise<HttpResponse> {
    const method = options.method ?? 'GET';
    const maxBytes = options.maxBytes ?? DEFAULT_MAX;
    const headers: Record<string, string> = { 'user-agent': 'docker/28.2.2 (trustlab)', ...options.headers };
    if (options.body) headers['content-length'] = String(options.body.length);
    const socketPath = socketPathFor(this.hubSocket, url);
    const fail = (error: NodeJS.ErrnoException): RegistryError => {
      const { code, reason } = describeNetworkError(error, url, socketPath);
      return new RegistryError(code, `${goMethod(method)} "${url.href}": ${reason}`, {
        cause: error,
        suggestion:
          code === 'TLS'
            ? 'The registry certificate is not trusted: set TRUSTLAB_HUB_CA to the lab CA file.'
            : socketPath
              ? `The lab hub is reached through TRUSTLAB_HUB_SOCKET (${socketPath}) and does not answer there: check that the hub is running for this terminal.`
              : 'Check that the lab hub is running and that TRUSTLAB_HUB points at it.',
      });
    };
    return new Promise<HttpResponse>((resolve, reject) => {
      const mod = url.protocol === 'https:' ? https : http;
      const req = mod.request(url, {
        method,
        headers,
        agent: this.agent(url),
        timeout: options.timeoutMs ?? 30_000,
        ...(socketPath ? { socketPath } : {}),
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      let answered = false;
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (mayRetry && !answered && req.reusedSocket && STALE_CONNECTION.has(error.code ?? '')) {
          resolve(this.once(url, options, false));
          return;
        }
        reject(fail(error));
      });
      req.on('response', (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBytes) {
            res.destroy();
            reject(
              new RegistryError('TOO_LARGE', `${goMethod(method)} "${url.href}": response body too large`),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error: NodeJS.ErrnoException) => reject(fail(error)));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            url,
            header: (name: string) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(', ') : value;
            },
          }),
        );
      });
      req.end(options.body ? Buffer.from(options.body) : undefined);
    });
  }
}
