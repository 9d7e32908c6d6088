/**
 * Numbers of the terminal protocol (docs/terminal-protocol.md): frame types,
 * close and status codes, and the limits every peer enforces. Shared by the
 * server, the reference client and, later, the browser page; no Node API.
 */

export const PROTOCOL_VERSION = 1;

/** First byte of every binary message. Client to server below 0x80, server to client from 0x80. */
export const FRAME = {
  hello: 0x01,
  input: 0x02,
  resize: 0x03,
  ack: 0x04,
  replay: 0x81,
  output: 0x82,
  status: 0x83,
} as const;

/**
 * WebSocket close codes. 1000-1009 are RFC 6455's; the 4xxx codes borrow the
 * last three digits of the nearest HTTP status so they read at a glance.
 */
export const CLOSE = {
  /** The shell exited; the session is over. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** A text message: the protocol is binary only. */
  unsupportedData: 1003,
  /** A message over the size limit (sent by the WebSocket layer itself). */
  tooBig: 1009,
  frameInvalid: 4400,
  unauthorized: 4401,
  helloTimeout: 4408,
  replaced: 4409,
  sessionEnded: 4410,
  inputOverflow: 4413,
  versionUnsupported: 4426,
  tooManySessions: 4429,
  sandboxFailed: 4500,
} as const;

/**
 * Informational STATUS codes (below 1000). A STATUS whose code is 1000 or
 * more announces the close that follows it, with the same code.
 */
export const STATUS = {
  /** The sandbox is being created; input sent now is kept and delivered in order. */
  starting: 100,
  /** The shell is running. */
  ready: 200,
} as const;

/**
 * Shadowing: an instructor's connection watching an attendee's session
 * (docs/terminal-protocol.md, "Watching"). Kept apart from STATUS and CLOSE,
 * which every client mirrors: a client that shows no shadowing needs none of
 * these, and ignores informational codes it does not know.
 */
export const WATCH_STATUS = {
  // To a watcher; the reason is a sentence.
  /** After the watcher's REPLAY: it sees the screen, read only. */
  watching: 300,
  /** An INPUT of the watcher was dropped: typing needs the attendee's consent. */
  inputRefused: 301,
  /** The attendee let this watcher type; its INPUT now reaches the shell. */
  controlGranted: 302,
  /** This watcher may no longer type. */
  controlRevoked: 303,
  // To the attendee; the reason is the watcher's label, as the web app gave it.
  /** A watcher attached. */
  watcherJoined: 310,
  /** The last watcher left. */
  watchersLeft: 311,
  /** This watcher may now type. */
  watcherControlGranted: 312,
  /** This watcher may no longer type (revoked, or it left). */
  watcherControlEnded: 313,
} as const;

/** Close codes only a watcher meets (besides the session's own endings, which it shares). */
export const WATCH_CLOSE = {
  /** The attendee has no live session, or not the one the ticket was issued for. */
  noSession: 4404,
  /** The session already has its maximum of watchers (the same number as `CLOSE.tooManySessions`: no room). */
  tooManyWatchers: 4429,
  /** The watcher fell too far behind the output; it is dropped rather than slowing the attendee. */
  fellBehind: 4504,
} as const;

export const LIMITS = {
  ticketBytes: 32,
  /** Session ids on the wire: the 8 bytes behind the server's 16-hex-digit id. */
  sessionIdBytes: 8,
  helloBytes: 55,
  replayHeaderBytes: 18,
  /** Largest INPUT payload; longer pastes are split by the client. */
  maxInputBytes: 65536,
  /** Largest OUTPUT payload the server sends. */
  maxOutputBytes: 65536,
  maxCols: 1000,
  maxRows: 1000,
  /** Longest STATUS reason, in UTF-8 bytes. */
  maxReasonBytes: 240,
  /** WebSocket close reasons are limited to 123 bytes by RFC 6455. */
  maxCloseReasonBytes: 123,
} as const;

/** ws's `maxPayload` for the server: the largest client frame. */
export const MAX_CLIENT_MESSAGE_BYTES = 1 + LIMITS.maxInputBytes;
