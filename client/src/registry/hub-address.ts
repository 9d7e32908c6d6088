/**
 * Where the lab hub is, and how to reach it:
 *
 * - TRUSTLAB_HUB: its origin (a bare `host:port` means https), where
 *   `docker.io` names, docker's trust server and the token realm live;
 * - TRUSTLAB_HUB_SOCKET: in a lab sandbox there is no network, and the hub
 *   is reached through this unix socket instead. Every connection to the
 *   hub's host:port goes through it; the URL, the Host header and TLS
 *   (certificate and name checks against the hub's host) stay as they are,
 *   so the client speaks exactly what it would speak over TCP. Other
 *   origins are not affected.
 *
 * Kept free of heavy imports: every docker command reads its environment at
 * startup.
 */

export const DEFAULT_HUB = 'https://localhost:4443';

/** TRUSTLAB_HUB as a URL; a bare `host:port` means https. */
export function parseHubUrl(value: string | undefined): URL {
  const text = value && value !== '' ? value : DEFAULT_HUB;
  return new URL(/^[a-z]+:\/\//i.test(text) ? text : `https://${text}`);
}

/** `host:port` of a URL, the scheme's default port written out (so `https://h` and `h:443` match). */
export function hostPort(url: URL): string {
  const port = url.port || (url.protocol === 'http:' ? '80' : '443');
  return `${url.hostname.toLowerCase()}:${port}`;
}

/** The unix socket that stands for the hub's host:port. */
export interface HubSocket {
  /** `host:port` of TRUSTLAB_HUB. */
  readonly hostPort: string;
  readonly socketPath: string;
}

/** TRUSTLAB_HUB_SOCKET for the hub named by TRUSTLAB_HUB, or undefined when unset or empty. */
export function hubSocketFromEnv(env: NodeJS.ProcessEnv): HubSocket | undefined {
  const socketPath = env.TRUSTLAB_HUB_SOCKET;
  if (!socketPath) return undefined;
  return { hostPort: hostPort(parseHubUrl(env.TRUSTLAB_HUB)), socketPath };
}

/** The socket to connect through for `target`: the hub socket when `target` is on the hub's host:port. */
export function socketPathFor(hub: HubSocket | undefined, target: URL | string): string | undefined {
  if (!hub) return undefined;
  let url: URL;
  try {
    url = typeof target === 'string' ? new URL(target) : target;
  } catch {
    return undefined;
  }
  return hostPort(url) === hub.hostPort ? hub.socketPath : undefined;
}
