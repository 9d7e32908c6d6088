/**
 * The app's own names: the origins its pages are served from and the Host
 * values that go with them. The same lists guard the terminal WebSocket
 * (terminal-server's allowlists), the API routes and, for Host, every
 * request the web server takes.
 */
export interface RequestPolicy {
  readonly origins: readonly string[];
  /** `host[:port]` exactly as browsers send it (`new URL(origin).host`). */
  readonly hosts: readonly string[];
  hostAllowed(host: string | null | undefined): boolean;
  originAllowed(origin: string | null | undefined): boolean;
}

/** `http://localhost:<port>`, `http://127.0.0.1:<port>`, and the public origin when there is one. */
export function appRequestPolicy(port: number, publicOrigin: string | undefined): RequestPolicy {
  const origins = [`http://localhost:${port}`, `http://127.0.0.1:${port}`];
  if (publicOrigin !== undefined && !origins.includes(publicOrigin)) origins.push(publicOrigin);
  const hosts = origins.map((origin) => new URL(origin).host);
  const hostSet = new Set(hosts);
  const originSet = new Set(origins);
  return {
    origins,
    hosts,
    hostAllowed: (host) => typeof host === 'string' && hostSet.has(host.trim().toLowerCase()),
    originAllowed: (origin) => typeof origin === 'string' && originSet.has(origin.trim().toLowerCase()),
  };
}
