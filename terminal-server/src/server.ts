/**
 * The terminal server: tickets, the WebSocket endpoint (ws in `noServer`
 * mode on a path of any http.Server), the sessions, health and shutdown.
 *
 * Upgrade requests are checked before the WebSocket exists: the path, no
 * query string (a ticket never travels in a URL), Host and Origin against
 * the allowlists (HTTP 403), and the number of connections still waiting
 * for HELLO (HTTP 503). Everything after that is the protocol's
 * (connection.ts).
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { RequestChecker, refuseUpgrade } from './auth/request-check.js';
import { TicketStore, type IssuedTicket } from './auth/tickets.js';
import {
  envSchema,
  parseTerminalServerConfig,
  type ResolvedTerminalServerConfig,
  type TerminalLogger,
  type TerminalServerConfig,
} from './config.js';
import { Connection } from './connection.js';
import { ConfigError, SandboxError, TerminalError } from './errors.js';
import { CLOSE, MAX_CLIENT_MESSAGE_BYTES } from './protocol/constants.js';
import { SANDBOX_ID_PATTERN, type SandboxDriverInfo } from './sandbox/driver.js';
import type { ClientEvent, EventRejection } from './session/events-socket.js';
import { SessionManager, type SessionCounts } from './session/manager.js';
import { spawnNodePty } from './session/pty.js';
import type { EndReason, SessionInfo } from './session/session.js';

export interface TicketRequest {
  /** The attendee as the web app knows them (an account or workshop seat id). One terminal each. */
  readonly attendee: string;
  /** Name of their persistent home; by default derived from `attendee`. */
  readonly homeKey?: string;
  /** Non-secret variables for the shell, if this ticket starts a new session. */
  readonly env?: Readonly<Record<string, string>>;
}

export interface WatchTicketRequest {
  /**
   * Who watches, as the attendee is shown it (STATUS 310 carries it): an
   * instructor's name. 1-80 printable characters, at most 200 UTF-8 bytes.
   */
  readonly watcher: string;
}

export interface ResetRequest {
  /** `fresh`: the next session starts in an empty home. `keep`: only the session ends. */
  readonly home: 'fresh' | 'keep';
  /**
   * The home to empty, when the web app chose home keys itself in
   * `issueTicket`; by default the live session's, else the attendee's default.
   */
  readonly homeKey?: string;
}

export interface ResetOutcome {
  /** Whether a session was ended (false: the attendee had none). */
  readonly sessionEnded: boolean;
  readonly home: 'fresh' | 'kept';
}

export interface TerminalHealth {
  readonly status: 'ok' | 'closing';
  readonly mode: 'workshop' | 'self-paced';
  readonly driver: SandboxDriverInfo;
  readonly sessions: SessionCounts;
  readonly connections: { readonly pending: number; readonly attached: number };
  readonly outstandingTickets: number;
}

export interface TerminalServerEvents {
  clientEvent: [ClientEvent];
  sessionStarted: [SessionInfo];
  sessionEnded: [SessionInfo, EndReason];
}

export interface ListeningTerminalServer {
  /** `ws://host:port/path` */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
}

// Printable, no control characters: it shows up in logs and events.
const attendeeSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]+$/u);

const ticketRequestSchema = z.object({
  attendee: attendeeSchema,
  homeKey: z.string().regex(SANDBOX_ID_PATTERN).optional(),
  env: envSchema,
});

const watchTicketRequestSchema = z.object({
  attendee: attendeeSchema,
  // It is a whole STATUS reason (at most 240 bytes) on the attendee's page.
  watcher: z
    .string()
    .min(1)
    .max(80)
    .regex(/^[^\p{Cc}]+$/u)
    .refine((label) => new TextEncoder().encode(label).byteLength <= 200, { message: 'at most 200 bytes' }),
});

const resetRequestSchema = z.object({
  attendee: attendeeSchema,
  home: z.enum(['fresh', 'keep']),
  homeKey: z.string().regex(SANDBOX_ID_PATTERN).optional(),
});

const consoleLogger: TerminalLogger = {
  warn: (message, detail) =>
    console.warn(`terminal-server: ${message}`, ...(detail === undefined ? [] : [detail])),
  error: (message, error) =>
    console.error(`terminal-server: ${message}`, ...(error === undefined ? [] : [error])),
};

/** A home name that is stable for an attendee, safe in paths, and not chosen by them. */
export function defaultHomeKey(attendee: string): string {
  return `h${createHash('sha256').update(attendee, 'utf8').digest('hex').slice(0, 40)}`;
}

export class TerminalServer extends EventEmitter<TerminalServerEvents> {
  readonly config: ResolvedTerminalServerConfig;
  readonly #logger: TerminalLogger;
  readonly #tickets: TicketStore;
  readonly #checker: RequestChecker;
  readonly #wss: WebSocketServer;
  readonly #sessions: SessionManager;
  readonly #connections = new Set<Connection>();
  /** Servers `listen` created, closed with this one. */
  readonly #ownServers = new Set<Server>();
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #sweep: ReturnType<typeof setInterval>;
  #closing: Promise<void> | undefined;

  constructor(config: TerminalServerConfig) {
    super();
    this.config = parseTerminalServerConfig(config);
    const { limits } = this.config;
    this.#logger = this.config.logger ?? consoleLogger;
    try {
      this.#checker = new RequestChecker({
        allowedHosts: this.config.allowedHosts,
        allowedOrigins: this.config.allowedOrigins,
        allowMissingOrigin: this.config.allowMissingOrigin,
      });
    } catch (cause) {
      throw new ConfigError('CONFIG_INVALID', 'invalid Host or Origin allowlist', {
        cause,
        suggestion: 'Hosts are "name" or "name:port"; origins are "http(s)://name[:port]".',
      });
    }
    this.#tickets = new TicketStore({
      ttlMs: limits.ticketTtlMs,
      maxOutstanding: limits.maxOutstandingTickets,
      now: this.config.now,
    });
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_CLIENT_MESSAGE_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#sessions = new SessionManager({
      maxSessions: limits.maxSessions,
      onStarted: (session) => this.emit('sessionStarted', session.info()),
      onEnded: (session, reason) => this.emit('sessionEnded', session.info(), reason),
      session: {
        hubCaFile: this.config.hubCaFile,
        driver: this.config.driver,
        hubSocketProvider: this.config.hubSocketProvider,
        tokenSocketProvider: this.config.tokenSocketProvider,
        spawnPty: this.config.spawnPty ?? spawnNodePty,
        limits,
        now: this.config.now,
        onClientEvent: (event) => {
          this.config.onClientEvent?.(event);
          this.emit('clientEvent', event);
        },
        onEventRejected: (session, reason: EventRejection, detail) => {
          this.config.onEventRejected?.(session.id, reason, detail);
        },
        onError: (error, session) => this.#logger.error(`session ${session.id} (${session.attendee})`, error),
      },
    });
    this.#heartbeat = setInterval(() => {
      for (const connection of this.#connections) connection.ping();
    }, limits.heartbeatIntervalMs);
    this.#heartbeat.unref();
    this.#sweep = setInterval(() => this.#tickets.sweep(), limits.ticketTtlMs);
    this.#sweep.unref();
  }

  /** For the web app, once it has authenticated the learner: a ticket for one HELLO, valid for seconds. */
  issueTicket(request: TicketRequest): IssuedTicket {
    if (this.#closing) throw new TerminalError('SERVER_CLOSED', 'the terminal server is shutting down');
    const parsed = ticketRequestSchema.safeParse(request);
    if (!parsed.success) {
      throw new TerminalError('TICKET_REQUEST_INVALID', 'invalid terminal ticket request', {
        cause: parsed.error,
        suggestion:
          'attendee: 1-200 printable characters; homeKey: SANDBOX_ID_PATTERN; env: NAME=value pairs.',
      });
    }
    const { attendee, homeKey, env } = parsed.data;
    return this.#tickets.issue({
      kind: 'attendee',
      attendee,
      homeKey: homeKey ?? defaultHomeKey(attendee),
      env: { ...this.config.sandboxEnv, ...env },
    });
  }

  /**
   * For the web app, once it has authenticated an instructor: a ticket that
   * watches the attendee's current session, read only (docs/terminal-protocol.md,
   * "Watching"). Single-use and short-lived like any ticket; it cannot start
   * a session, nor watch a later one of the same attendee. Throws
   * SESSION_NOT_FOUND when the attendee has no live session.
   */
  issueWatchTicket(attendee: string, request: WatchTicketRequest): IssuedTicket {
    if (this.#closing) throw new TerminalError('SERVER_CLOSED', 'the terminal server is shutting down');
    const parsed = watchTicketRequestSchema.safeParse({ attendee, watcher: request?.watcher });
    if (!parsed.success) {
      throw new TerminalError('TICKET_REQUEST_INVALID', 'invalid watch ticket request', {
        cause: parsed.error,
        suggestion: 'attendee: 1-200 printable characters; watcher: 1-80 printable characters.',
      });
    }
    const session = this.#sessions.get(parsed.data.attendee);
    if (session === undefined) {
      throw new TerminalError('SESSION_NOT_FOUND', 'this attendee has no terminal running to watch', {
        suggestion: 'A terminal runs while the attendee has the lab page open; ask them to open it.',
      });
    }
    return this.#tickets.issue({
      kind: 'watch',
      attendee: parsed.data.attendee,
      sessionId: session.id,
      watcher: parsed.data.watcher,
    });
  }

  /**
   * Lets the attendee's watchers labelled `watcher` type in their terminal.
   * For the web app to call once the attendee has accepted, in their own
   * page: the consent belongs to the attendee's connection open now, and
   * ends with `revokeControl` or with that connection (a reload, a drop).
   * Throws SESSION_NOT_FOUND, ATTENDEE_NOT_CONNECTED or WATCHER_NOT_FOUND.
   */
  grantControl(attendee: string, request: WatchTicketRequest): void {
    const session = this.#sessions.get(attendee);
    const outcome = session?.grantControl(request.watcher) ?? 'ended';
    switch (outcome) {
      case 'granted':
        return;
      case 'ended':
        throw new TerminalError('SESSION_NOT_FOUND', 'this attendee has no terminal running');
      case 'no-attendee':
        throw new TerminalError('ATTENDEE_NOT_CONNECTED', 'the attendee has no page open on their terminal', {
          suggestion: 'Control is given from the attendee’s open page; ask them to open it and accept again.',
        });
      case 'no-watcher':
        throw new TerminalError(
          'WATCHER_NOT_FOUND',
          `no watcher "${request.watcher}" is watching this terminal`,
          {
            suggestion: 'Open the attendee’s terminal as a watcher first, then ask for control.',
          },
        );
    }
  }

  /** Takes typing back from every watcher of the attendee's session; returns how many had it. */
  revokeControl(attendee: string): number {
    return this.#sessions.get(attendee)?.revokeControl() ?? 0;
  }

  /**
   * An instructor's reset: ends the attendee's session (every process of its
   * sandbox is killed, watchers included get 4410) and, with `home: 'fresh'`,
   * empties their home. No session of the attendee or of that home starts
   * until this is done; a page that reconnects meanwhile waits in "starting"
   * and gets a new shell in the emptied home. RESET_REQUEST_INVALID and
   * RESET_UNSUPPORTED are thrown before anything ends; HOME_BUSY and
   * RESET_FAILED once the session has ended and the home could not be
   * emptied (the next session then starts in it as it is).
   */
  async resetAttendee(attendee: string, request: ResetRequest): Promise<ResetOutcome> {
    const parsed = resetRequestSchema.safeParse({ attendee, ...request });
    if (!parsed.success) {
      throw new TerminalError('RESET_REQUEST_INVALID', 'invalid reset request', {
        cause: parsed.error,
        suggestion: 'home: "fresh" or "keep"; homeKey: SANDBOX_ID_PATTERN.',
      });
    }
    const { home } = parsed.data;
    const live = this.#sessions.get(parsed.data.attendee);
    const homeKey = parsed.data.homeKey ?? live?.homeKey ?? defaultHomeKey(parsed.data.attendee);
    if (live !== undefined && live.homeKey !== homeKey) {
      throw new TerminalError(
        'RESET_REQUEST_INVALID',
        `the attendee's terminal uses another home than "${homeKey}"; nothing was reset`,
        { suggestion: 'Pass the homeKey the attendee’s tickets are issued with, or none.' },
      );
    }
    const driver = this.config.driver;
    if (home === 'fresh' && driver.resetHome === undefined) {
      throw new TerminalError('RESET_UNSUPPORTED', `the "${driver.info.name}" driver cannot empty a home`, {
        suggestion: 'A driver wrapper must forward resetHome to the driver it wraps.',
      });
    }
    const wipe =
      home === 'fresh'
        ? async () => {
            try {
              await driver.resetHome!(homeKey);
            } catch (cause) {
              throw translateResetError(homeKey, cause);
            }
          }
        : undefined;
    const sessionEnded = await this.#sessions.reset(parsed.data.attendee, homeKey, wipe);
    return { sessionEnded, home: home === 'fresh' ? 'fresh' : 'kept' };
  }

  /**
   * Takes an 'upgrade' request if it is for this endpoint's path; returns
   * false (and leaves the socket alone) otherwise.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    if (pathname !== this.config.path) return false;
    socket.on('error', () => socket.destroy());
    if (this.#closing) return refuseUpgrade(socket, 503, 'the terminal server is shutting down');
    if (query !== -1) {
      this.#logger.warn('refused an upgrade with a query string');
      return refuseUpgrade(
        socket,
        400,
        'this endpoint takes no query string: the ticket goes in the HELLO frame',
      );
    }
    const verdict = this.#checker.check({ host: req.headers.host, origin: req.headers.origin });
    if (!verdict.ok) {
      this.#logger.warn(
        `refused an upgrade from ${req.socket.remoteAddress ?? 'unknown'}: ${verdict.reason}`,
      );
      // The reason names what the peer sent; it goes to the log, not back to the peer.
      return refuseUpgrade(socket, 403, 'forbidden');
    }
    if (this.#pendingConnections() >= this.config.limits.maxPendingConnections) {
      return refuseUpgrade(socket, 503, 'too many connections are starting; retry shortly');
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.#closing) {
        ws.terminate();
        return;
      }
      const connection = new Connection(ws, {
        helloTimeoutMs: this.config.limits.helloTimeoutMs,
        redeem: (ticket) => this.#tickets.redeem(ticket),
        attach: (grant, conn, hello) =>
          grant.kind === 'watch'
            ? this.#sessions.watch(grant, conn, hello)
            : this.#sessions.attach(grant, conn, hello),
        onRefused: (code, reason) => this.#logger.warn(`closed a connection (${code}): ${reason}`),
        onClosed: (closed) => this.#connections.delete(closed),
      });
      this.#connections.add(connection);
    });
    return true;
  }

  /**
   * Serves the endpoint on `server`'s upgrades. With `exclusive`, upgrades
   * for other paths are refused (404) instead of left to other listeners.
   * Returns a function that detaches.
   */
  attach(server: Server, options: { exclusive?: boolean } = {}): () => void {
    const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!this.handleUpgrade(req, socket, head) && options.exclusive)
        refuseUpgrade(socket, 404, 'not found');
    };
    server.on('upgrade', listener);
    return () => server.off('upgrade', listener);
  }

  /** A server of its own (tests, benchmarks, a terminal server run alone). */
  async listen(options: { host?: string; port?: number } = {}): Promise<ListeningTerminalServer> {
    const host = options.host ?? '127.0.0.1';
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' });
      res.end('this is a WebSocket endpoint\n');
    });
    this.attach(server, { exclusive: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => resolve());
    });
    this.#ownServers.add(server);
    const { port } = server.address() as AddressInfo;
    const hostPart = host.includes(':') ? `[${host}]` : host;
    return { url: `ws://${hostPart}:${port}${this.config.path}`, port, server };
  }

  health(): TerminalHealth {
    let pending = 0;
    let attached = 0;
    for (const connection of this.#connections) {
      if (connection.state === 'hello') pending++;
      else if (connection.state === 'attached') attached++;
    }
    return {
      status: this.#closing ? 'closing' : 'ok',
      mode: this.config.mode,
      driver: { ...this.config.driver.info },
      sessions: this.#sessions.counts(),
      connections: { pending, attached },
      outstandingTickets: this.#tickets.outstanding,
    };
  }

  sessions(): SessionInfo[] {
    return this.#sessions.list();
  }

  session(attendee: string): SessionInfo | undefined {
    return this.#sessions.get(attendee)?.info();
  }

  /** Ends an attendee's session (an instructor's reset); resolves once the sandbox is gone. */
  endSession(attendee: string): Promise<boolean> {
    return this.#sessions.end(attendee, 'ended');
  }

  /** Ends every session, closes every connection and the driver, and any server `listen` created. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#heartbeat);
      clearInterval(this.#sweep);
      this.#tickets.clear();
      await this.#sessions.endAll('shutdown');
      for (const connection of this.#connections)
        connection.close(CLOSE.goingAway, 'the server is shutting down');
      for (const server of this.#ownServers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      for (const connection of this.#connections) connection.terminate();
      await this.config.driver.close();
    })();
    return this.#closing;
  }

  #pendingConnections(): number {
    let pending = 0;
    for (const connection of this.#connections) if (connection.state === 'hello') pending++;
    return pending;
  }
}

/** The driver's own error family, translated at this edge. */
function translateResetError(homeKey: string, cause: unknown): TerminalError {
  if ((cause as { code?: unknown } | null)?.code === 'HOME_BUSY') {
    if (cause instanceof TerminalError) return cause;
    return new SandboxError('HOME_BUSY', `the home "${homeKey}" is in use by a sandbox`, { cause });
  }
  return new SandboxError('RESET_FAILED', `the home "${homeKey}" could not be emptied`, {
    cause,
    suggestion: 'The cause is chained to this error; try the reset again.',
  });
}

export function createTerminalServer(config: TerminalServerConfig): TerminalServer {
  return new TerminalServer(config);
}
