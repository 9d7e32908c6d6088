/**
 * An instructor watches an attendee's terminal and, once the attendee
 * agrees, types in it.
 *
 * The terminal server does the watching and enforces the consent
 * (docs/terminal-protocol.md, "Watching"); this is the part only the web
 * app can do: who may ask (an instructor, for an attendee of the workshop),
 * and carrying the question to the attendee's page and the answer back.
 *
 * Decisions:
 * - The watcher's label is what the attendee is shown and what consent is
 *   given to. It names the instructor's session (`Instructor 3fa2`: 4 hex
 *   digits of a digest of the session's digest) so that two instructors
 *   watching one attendee are told apart, and reveals nothing that would
 *   help forge the session.
 * - Asking for control needs a running terminal but not that the instructor
 *   already watches: the page asks right after opening its WebSocket, and
 *   the grant, which needs the watcher, comes only once the attendee
 *   answers.
 * - One pending request per attendee, the newest winning, for 2 minutes:
 *   what is held is bounded by the attendees, and a stale question is not
 *   answered long after the instructor moved on. The label to grant is the
 *   one recorded with the request, never one the attendee's page sends.
 * - An answer the terminal cannot carry out because the attendee's side is
 *   not ready (no terminal, no page attached) keeps the request, so the
 *   attendee can answer again once their terminal is back; one whose
 *   watcher has gone drops it and tells the dashboard it was not granted.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { TerminalServer } from '../../terminal-server/src/index.js';
import { isTerminalError } from '../../terminal-server/src/index.js';
import { PlatformError } from '../errors.js';
import type { PlatformLogger } from '../logger.js';
import type { InstructorSession } from './instructor-auth.js';
import { controlAnswerSchema, emptySchema, parseInput } from './input.js';
import type { ControlRequest, WatchTicket } from './types.js';
import type { Workshops } from './workshops.js';

/** How long an attendee has to answer a request for control. */
export const CONTROL_REQUEST_MS = 2 * 60 * 1000;

export interface WatchingOptions {
  workshops: Pick<Workshops, 'assertAttendee' | 'controlChanged'>;
  terminal: Pick<TerminalServer, 'session' | 'issueWatchTicket' | 'grantControl' | 'revokeControl'>;
  logger: PlatformLogger;
  now?: () => number;
}

interface Pending extends ControlRequest {
  readonly expiresAt: number;
}

/** How the attendee sees the instructor of `session`. */
export function watcherLabel(session: Pick<InstructorSession, 'tokenDigest'>): string {
  const digest = createHash('sha256')
    .update(`trustlab-watcher\0${session.tokenDigest}`, 'utf8')
    .digest('hex');
  return `Instructor ${digest.slice(0, 4)}`;
}

const noTerminal = (cause?: unknown) =>
  new PlatformError('NO_TERMINAL', 'This attendee has no terminal open right now.', {
    suggestion: 'The attendee has no terminal open right now; ask them to open the lab page.',
    ...(cause !== undefined ? { cause } : {}),
  });

export class Watching {
  private readonly now: () => number;
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Map<string, Set<(request: ControlRequest) => void>>();

  constructor(private readonly options: WatchingOptions) {
    this.now = options.now ?? Date.now;
  }

  /** A read-only watch ticket for the attendee's terminal, for the instructor of `session`. */
  watch(workshopId: string, learnerId: string, session: InstructorSession, input: unknown): WatchTicket {
    parseInput(emptySchema, input);
    this.options.workshops.assertAttendee(workshopId, learnerId);
    const watcher = watcherLabel(session);
    try {
      const issued = this.options.terminal.issueWatchTicket(learnerId, { watcher });
      return { ticket: issued.ticket, expiresAt: issued.expiresAt.toISOString(), watcher };
    } catch (error) {
      throw terminalFailure(error);
    }
  }

  /** Asks the attendee to let the instructor of `session` type; their page hears of it at once. */
  requestControl(
    workshopId: string,
    learnerId: string,
    session: InstructorSession,
    input: unknown,
  ): { requestId: string; watcher: string } {
    parseInput(emptySchema, input);
    this.options.workshops.assertAttendee(workshopId, learnerId);
    if (this.options.terminal.session(learnerId) === undefined) throw noTerminal();
    this.sweep();
    const now = this.now();
    const request: Pending = {
      requestId: randomBytes(16).toString('base64url'),
      watcher: watcherLabel(session),
      at: new Date(now).toISOString(),
      expiresAt: now + CONTROL_REQUEST_MS,
    };
    this.pending.set(learnerId, request);
    const shown = publicRequest(request);
    for (const listener of this.listeners.get(learnerId) ?? []) listener(shown);
    return { requestId: request.requestId, watcher: request.watcher };
  }

  /** The request waiting for the learner's answer, if any. */
  pendingRequest(learnerId: string): ControlRequest | undefined {
    const request = this.live(learnerId);
    return request && publicRequest(request);
  }

  /** Each new request for the learner, from now on; returns the unsubscribe. */
  watchRequests(learnerId: string, listener: (request: ControlRequest) => void): () => void {
    let listeners = this.listeners.get(learnerId);
    if (listeners === undefined) {
      listeners = new Set();
      this.listeners.set(learnerId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.listeners.delete(learnerId);
    };
  }

  /** The learner's answer to their pending request. */
  answer(learnerId: string, input: unknown): { granted: boolean } {
    const { requestId, accept } = parseInput(controlAnswerSchema, input);
    const request = this.live(learnerId);
    if (request === undefined || request.requestId !== requestId) {
      throw new PlatformError('UNKNOWN_REQUEST', 'This request to type in your terminal is no longer open.', {
        suggestion:
          'It was withdrawn, replaced by a newer one, or is over 2 minutes old; nothing was shared.',
      });
    }
    const done = (granted: boolean) => {
      this.pending.delete(learnerId);
      this.options.workshops.controlChanged({ learnerId, watcher: request.watcher, granted });
      return { granted };
    };
    if (!accept) return done(false);
    try {
      this.options.terminal.grantControl(learnerId, { watcher: request.watcher });
    } catch (error) {
      if (!isTerminalError(error)) throw error;
      if (error.code === 'WATCHER_NOT_FOUND') {
        done(false);
        throw new PlatformError('WATCHER_GONE', `${request.watcher} is no longer watching your terminal.`, {
          suggestion: 'Nothing was shared. If they still need to type, they will ask again.',
          cause: error,
        });
      }
      if (error.code === 'SESSION_NOT_FOUND')
        throw new PlatformError('NO_TERMINAL', 'Your terminal is not running, so nothing was shared.', {
          suggestion: 'Reload the lab page to start it, then accept again.',
          cause: error,
        });
      if (error.code === 'ATTENDEE_NOT_CONNECTED')
        throw new PlatformError('NO_TERMINAL', 'Your terminal is not connected to this page right now.', {
          suggestion:
            'Wait until the terminal shows your prompt again (or reload the page), then accept again.',
          cause: error,
        });
      throw error;
    }
    this.options.logger.info(`learner ${learnerId} let ${request.watcher} type in their terminal`);
    return done(true);
  }

  /** Takes typing back from every watcher of the learner's terminal; how many had it. */
  revoke(learnerId: string, input: unknown): { revoked: number } {
    parseInput(emptySchema, input);
    const revoked = this.options.terminal.revokeControl(learnerId);
    this.options.workshops.controlChanged({ learnerId, watcher: null, granted: false });
    return { revoked };
  }

  close(): void {
    this.pending.clear();
    this.listeners.clear();
  }

  private live(learnerId: string): Pending | undefined {
    const request = this.pending.get(learnerId);
    if (request === undefined || request.expiresAt > this.now()) return request;
    this.pending.delete(learnerId);
    return undefined;
  }

  private sweep(): void {
    const now = this.now();
    for (const [learnerId, request] of this.pending)
      if (request.expiresAt <= now) this.pending.delete(learnerId);
  }
}

function publicRequest(request: Pending): ControlRequest {
  return { requestId: request.requestId, watcher: request.watcher, at: request.at };
}

/** The terminal server's refusals of a watch ticket, in the instructor's terms. */
function terminalFailure(error: unknown): unknown {
  if (!isTerminalError(error)) return error;
  if (error.code === 'SESSION_NOT_FOUND') return noTerminal(error);
  if (error.code === 'SERVER_CLOSED' || error.code === 'TOO_MANY_TICKETS') {
    return new PlatformError('UNAVAILABLE', 'The terminal cannot be watched right now.', {
      suggestion: 'Try again in a few seconds.',
      retryAfterMs: 2000,
      cause: error,
    });
  }
  return error;
}
