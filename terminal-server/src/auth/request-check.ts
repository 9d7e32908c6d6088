/**
 * Checks on the HTTP upgrade request, before any WebSocket exists: the
 * `Host` and `Origin` headers against allowlists.
 *
 * - Host defeats DNS rebinding: a page on `evil.example` whose name has been
 *   re-pointed at this machine sends `Host: evil.example:3000`, which is not
 *   a name this server answers to.
 * - Origin defeats cross-site WebSocket hijacking: browsers always send it
 *   on a WebSocket upgrade and scripts cannot forge it.
 *
 * Allowed hosts are `name` (any port) or `name:port`; names compare
 * case-insensitively, IPv6 literals in brackets (`[::1]:3000`). Allowed
 * origins compare exactly after normalisation (`new URL(o).origin`).
 */

import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

export interface RequestCheckPolicy {
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
  /** Accept upgrades without an Origin header (non-browser clients). */
  readonly allowMissingOrigin: boolean;
}

export type RequestCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

interface HostPort {
  readonly name: string;
  readonly port: string | undefined;
}

const HOST_PATTERN = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(\d{1,5}))?$/;

/** Parses a Host header value or an allowlist entry; undefined when it is not a plain host[:port]. */
export function parseHost(value: string): HostPort | undefined {
  const match = HOST_PATTERN.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  return { name: match[1]!, port: match[2] };
}

/** `new URL(origin).origin`, or undefined when the value is not an http(s) origin. */
export function normaliseOrigin(value: string): string | undefined {
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
    // An Origin header is scheme://host[:port] and nothing else.
    if (
      url.pathname !== '/' ||
      url.search !== '' ||
      url.hash !== '' ||
      url.username !== '' ||
      url.password !== ''
    )
      return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}

export class RequestChecker {
  readonly #hosts: readonly HostPort[];
  readonly #origins: ReadonlySet<string>;
  readonly #allowMissingOrigin: boolean;

  /** Throws RangeError on a malformed allowlist entry (config validation reports it). */
  constructor(policy: RequestCheckPolicy) {
    this.#hosts = policy.allowedHosts.map((entry) => {
      const parsed = parseHost(entry);
      if (!parsed) throw new RangeError(`allowed host "${entry}" is not host or host:port`);
      return parsed;
    });
    this.#origins = new Set(
      policy.allowedOrigins.map((entry) => {
        const origin = normaliseOrigin(entry);
        if (!origin) throw new RangeError(`allowed origin "${entry}" is not an http(s) origin`);
        return origin;
      }),
    );
    this.#allowMissingOrigin = policy.allowMissingOrigin;
  }

  check(headers: { host?: string | undefined; origin?: string | undefined }): RequestCheck {
    const host = headers.host === undefined ? undefined : parseHost(headers.host);
    if (!host) return { ok: false, reason: 'missing or malformed Host header' };
    const hostAllowed = this.#hosts.some(
      (allowed) => allowed.name === host.name && (allowed.port === undefined || allowed.port === host.port),
    );
    if (!hostAllowed) return { ok: false, reason: `Host "${headers.host}" is not allowed` };

    if (headers.origin === undefined) {
      return this.#allowMissingOrigin ? { ok: true } : { ok: false, reason: 'missing Origin header' };
    }
    const origin = normaliseOrigin(headers.origin);
    if (!origin || !this.#origins.has(origin))
      return { ok: false, reason: `Origin "${headers.origin}" is not allowed` };
    return { ok: true };
  }
}

/**
 * Answers an upgrade request with an HTTP error and closes the connection.
 * The socket of an upgrade is the caller's to close: Node's HTTP server
 * allows half-open sockets, so after end() alone a client that never closes
 * its side would hold the socket (and its file descriptor) for good.
 */
export function refuseUpgrade(socket: Duplex, status: number, message: string): true {
  const body = `${message}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return true;
}
