/**
 * TrustLab's terminal server: a WebSocket endpoint speaking the terminal
 * protocol (docs/terminal-protocol.md) to a pty per attendee, each in a
 * sandbox of its own.
 *
 *   const terminal = createTerminalServer({
 *     mode: 'self-paced',
 *     driver: createLocalDriver({ dataDir: 'data' }),
 *     allowedHosts: ['localhost:3000'],
 *     allowedOrigins: ['http://localhost:3000'],
 *   });
 *   terminal.attach(httpServer);                       // serves /terminal on its upgrades
 *   const { ticket } = terminal.issueTicket({ attendee: 'alice' });   // hand it to the page
 *   terminal.on('clientEvent', (e) => …);              // docker/notary events from inside
 *   terminal.health();                                 // driver, session counts
 *   terminal.issueWatchTicket('alice', { watcher: 'Ines' });  // an instructor watches, read only
 *   terminal.grantControl('alice', { watcher: 'Ines' });      // once alice accepted in her page
 *   await terminal.resetAttendee('alice', { home: 'fresh' }); // new shell, empty home
 *   await terminal.close();
 */
export {
  createTerminalServer,
  defaultHomeKey,
  TerminalServer,
  type ListeningTerminalServer,
  type ResetOutcome,
  type ResetRequest,
  type TerminalHealth,
  type TerminalServerEvents,
  type TicketRequest,
  type WatchTicketRequest,
} from './server.js';
export type { TerminalLimits, TerminalLogger, TerminalServerConfig } from './config.js';
export {
  ConfigError,
  isTerminalError,
  ProtocolError,
  SandboxError,
  TerminalError,
  type TerminalErrorCode,
} from './errors.js';
export type { IssuedTicket } from './auth/tickets.js';
export { refuseUpgrade } from './auth/request-check.js';
export type { ClientEvent, ClientEventFields, EventRejection } from './session/events-socket.js';
export type { SessionCounts } from './session/manager.js';
export type { EndReason, SessionInfo, SessionState, WatcherInfo } from './session/session.js';
export type { PtyProcess, PtySpawner } from './session/pty.js';
export { createLocalDriver, LOCAL_DRIVER_WARNING, type LocalDriverOptions } from './sandbox/local.js';
export * from './sandbox/driver.js';
export {
  CLOSE,
  FRAME,
  LIMITS,
  PROTOCOL_VERSION,
  STATUS,
  WATCH_CLOSE,
  WATCH_STATUS,
} from './protocol/constants.js';
export * as frames from './protocol/frames.js';
export {
  TerminalClient,
  type CloseEvent,
  type ReplayEvent,
  type StatusEvent,
  type TerminalClientOptions,
} from './client/terminal-client.js';
