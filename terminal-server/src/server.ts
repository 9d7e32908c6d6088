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
import { createServer, STATUS_CODES, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { z } from 'zod';
import { RequestChecker } from './auth/request-check.js';
import { TicketStore, type IssuedTicket } from './auth/tickets.js';
import {
  envSchema,
  parseTerminalServerConfig,
  type ResolvedTerminalServerConfig,
  type TerminalLogger,
  type TerminalServerConfig,
} from './config.js';
import { Connection } from './connection.js';
import { ConfigError, TerminalError } from './errors.js';
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

const ticketRequestSchema = z.object({
  // Printable, no control characters: it shows up in logs and events.
  attendee: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\p{Cc}]+$/u),
  homeKey: z.string().regex(SANDBOX_ID_PATTERN).optional(),
  env: envSchema,
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
      attendee,
      homeKey: homeKey ?? defaultHomeKey(attendee),
      env: { ...this.config.sandboxEnv, ...env },
    });
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
        attach: (grant, conn, hello) => this.#sessions.attach(grant, conn, hello),
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

function refuseUpgrade(socket: Duplex, status: number, message: string): true {
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

export function createTerminalServer(config: TerminalServerConfig): TerminalServer {
  return new TerminalServer(config);
}
