/**
 * Typed errors for the terminal server.
 *
 * Every refusal carries a stable `code` (tests assert it; the server maps it
 * to a WebSocket close code or an HTTP status) and, where an operator or a
 * learner will read it, a `suggestion` saying what to do next. Causes are
 * chained with `{ cause }`, never stringified into the message.
 *
 * This file uses no Node API: the protocol codec, which the browser client
 * shares, throws `ProtocolError`.
 */

export type TerminalErrorCode =
  // configuration and start-up
  | 'CONFIG_INVALID'
  | 'UNSAFE_DRIVER'
  | 'SERVER_CLOSED'
  // tickets
  | 'TICKET_REQUEST_INVALID'
  | 'TOO_MANY_TICKETS'
  // shadowing and resets (instructor actions)
  | 'SESSION_NOT_FOUND'
  | 'WATCHER_NOT_FOUND'
  | 'ATTENDEE_NOT_CONNECTED'
  | 'RESET_REQUEST_INVALID'
  | 'RESET_UNSUPPORTED'
  | 'RESET_FAILED'
  // sessions and sandboxes
  | 'SANDBOX_FAILED'
  | 'SOCKET_FAILED'
  | 'SOCKET_PATH_TOO_LONG'
  | 'HOME_BUSY'
  // the wire protocol
  | 'FRAME_INVALID'
  | 'VERSION_UNSUPPORTED';

export interface TerminalErrorOptions {
  cause?: unknown;
  suggestion?: string;
}

export class TerminalError extends Error {
  readonly code: TerminalErrorCode;
  readonly suggestion: string | undefined;

  constructor(code: TerminalErrorCode, message: string, options: TerminalErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.suggestion = options.suggestion;
  }
}

/** The server's configuration is unusable; thrown at creation, never at run time. */
export class ConfigError extends TerminalError {}

/** A sandbox, or one of the session's unix sockets, could not be set up. */
export class SandboxError extends TerminalError {}

/**
 * A message on the wire broke the protocol (docs/terminal-protocol.md). The
 * connection that sent it is closed with `closeCode`; the session behind it
 * keeps running.
 */
export class ProtocolError extends TerminalError {
  readonly closeCode: number;
  constructor(
    code: 'FRAME_INVALID' | 'VERSION_UNSUPPORTED',
    closeCode: number,
    message: string,
    options: TerminalErrorOptions = {},
  ) {
    super(code, message, options);
    this.closeCode = closeCode;
  }
}

export function isTerminalError(value: unknown): value is TerminalError {
  return value instanceof TerminalError;
}
