/**
 * The one HTTP server of the platform: pages and API routes go to the web
 * app (Next's request handler), WebSocket upgrades on /terminal to the
 * terminal server.
 *
 * Before the web app sees a request, the server does two things Next
 * cannot do for it:
 * - it refuses any `Host` that is not one of the app's own names (DNS
 *   rebinding), for pages as well as the API;
 * - it makes sure a request for a lab page carries a learner cookie,
 *   creating the learner and setting the cookie when it does not. A server
 *   component cannot set cookies, and the lab page needs the learner (their
 *   hub login, their terminal) on its very first render; so the new cookie
 *   is both sent back and put into the request Next renders.
 *
 * Requests that arrive before the platform is ready get 503.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LEARNER_COOKIE } from './api.js';
import { PlatformError } from './errors.js';
import type { Learners } from './learners.js';
import { learnerTokenFrom } from './learners.js';
import type { PlatformLogger } from './logger.js';
import type { RequestPolicy } from './request-policy.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface WebApp {
  readonly handle: RequestHandler;
  close?(): Promise<void>;
}

/** Builds the web app once the server listens (Next wants the address it serves). */
export type WebAppFactory = (address: { hostname: string; port: number }) => Promise<WebApp>;

/**
 * Pages that show a learner their own lab need the cookie on their first
 * render. Only the pages of labs that exist: a learner is a hub account,
 * and a made-up URL should not make one.
 */
export function needsLearner(pathname: string, labIds: ReadonlySet<string>): boolean {
  const match = /^\/labs\/([^/]+)(?:\/|$)/.exec(pathname);
  if (!match) return false;
  try {
    return labIds.has(decodeURIComponent(match[1]!));
  } catch {
    return false;
  }
}

export interface Routing {
  policy: RequestPolicy;
  /** Ids of the labs served, whose pages need a learner. */
  labIds: ReadonlySet<string>;
  learners: Learners;
  app: WebApp;
}

function plain(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(`${text}\n`);
}

/** The request's Cookie header with the learner cookie set to `token` (and no other learner cookie). */
function withLearnerCookie(header: string | undefined, token: string): string {
  const others = (header ?? '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '' && part.split('=')[0]!.trim() !== LEARNER_COOKIE);
  return [...others, `${LEARNER_COOKIE}=${token}`].join('; ');
}

export class WebServer {
  readonly server: Server;
  private routing: Routing | undefined;
  private closed: Promise<void> | undefined;

  constructor(private readonly logger: PlatformLogger) {
    this.server = createServer((req, res) => void this.serve(req, res));
    // Server-Sent Events and terminal sockets are long-lived; Node's defaults would cut them.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000;
  }

  async listen(host: string, port: number): Promise<number> {
    try {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(port, host, () => {
          this.server.off('error', reject);
          resolve();
        });
      });
    } catch (cause) {
      throw new PlatformError('LISTEN_FAILED', `the web app cannot listen on ${host}:${port}`, {
        cause,
        suggestion: 'Another program may use the port: stop it, or choose another with PORT.',
      });
    }
    return (this.server.address() as AddressInfo).port;
  }

  route(routing: Routing): void {
    this.routing = routing;
  }

  get ready(): boolean {
    return this.routing !== undefined;
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const routing = this.routing;
    if (routing === undefined)
      return plain(res, 503, 'TrustLab is starting; try again in a moment.', { 'Retry-After': '1' });
    if (!routing.policy.hostAllowed(req.headers.host)) {
      return plain(
        res,
        403,
        `This lab is served as ${routing.policy.origins.join(', ')}. To serve it under another name, set TRUSTLAB_PUBLIC_ORIGIN.`,
      );
    }
    try {
      const pathname = new URL(req.url ?? '/', 'http://x').pathname;
      if ((req.method === 'GET' || req.method === 'HEAD') && needsLearner(pathname, routing.labIds)) {
        await this.ensureLearner(routing.learners, req, res);
      }
      await routing.app.handle(req, res);
    } catch (error) {
      this.logger.error(`${req.method} ${req.url?.split('?')[0]} failed`, error);
      plain(res, 500, 'Internal error.');
    }
  }

  private async ensureLearner(learners: Learners, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if ((await learners.find(learnerTokenFrom(req.headers.cookie))) !== undefined) return;
    const { token } = await learners.create();
    res.setHeader('Set-Cookie', learners.cookieFor(token));
    req.headers.cookie = withLearnerCookie(req.headers.cookie, token);
  }

  /** No new connections from now on; requests in flight go on. */
  stopAccepting(): void {
    this.closed ??= new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Stops listening and drops every connection (event streams included). */
  async close(): Promise<void> {
    this.stopAccepting();
    this.routing = undefined;
    this.server.closeAllConnections();
    await this.closed;
  }
}
