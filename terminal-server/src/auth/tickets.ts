/**
 * Single-use, short-lived tickets that let a browser open a terminal
 * WebSocket without a long-lived credential on the wire.
 *
 * The web app, having authenticated the learner itself, calls
 * `issueTicket` and hands the ticket to the page, which sends it in the
 * HELLO frame. Invariants:
 * - a ticket is 32 random bytes (256 bits); only its SHA-256 digest is kept,
 *   so a memory dump or a log of the store reveals no usable ticket;
 * - it is accepted at most once: the first presentation removes it, whether
 *   or not it is still valid;
 * - it expires `ttlMs` after issue (30 s by default);
 * - its kind is part of what the server stored, never of what the client
 *   sends: an `attendee` ticket opens (or creates) that attendee's session, a
 *   `watch` ticket only watches one existing session and can create nothing.
 *
 * The store is indexed by the digest. A lookup's timing can only say
 * something about a SHA-256 digest, which tells nothing about a ticket one
 * does not already hold; the digests are still compared with
 * `timingSafeEqual` so that the comparison itself is constant-time whatever
 * the index becomes.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { TerminalError } from '../errors.js';
import { LIMITS } from '../protocol/constants.js';

/** What an attendee's own ticket lets its HELLO do: open their terminal, starting it if needed. */
export interface AttendeeGrant {
  readonly kind: 'attendee';
  /** Who the web app says this is; sessions are keyed by it (one terminal per attendee). */
  readonly attendee: string;
  /** Name of the attendee's persistent home (SANDBOX_ID_PATTERN). */
  readonly homeKey: string;
  /** Extra, non-secret variables for a new shell. */
  readonly env: Readonly<Record<string, string>>;
}

/** What a watch ticket lets its HELLO do: watch one session that exists, read only. */
export interface WatchGrant {
  readonly kind: 'watch';
  /** Whose terminal is watched. */
  readonly attendee: string;
  /** The session the ticket was issued for; another session of the same attendee is refused. */
  readonly sessionId: string;
  /** Who watches, as the attendee is shown it (an instructor's name). */
  readonly watcher: string;
}

export type TicketGrant = AttendeeGrant | WatchGrant;

export interface IssuedTicket {
  /** base64url of the 32 ticket bytes: what the page puts in HELLO (decoded). */
  readonly ticket: string;
  readonly expiresAt: Date;
}

export type TicketRefusal = 'MALFORMED' | 'UNKNOWN' | 'EXPIRED';

export type TicketCheck =
  { readonly ok: true; readonly grant: TicketGrant } | { readonly ok: false; readonly reason: TicketRefusal };

interface StoredTicket {
  readonly digest: Buffer;
  readonly grant: TicketGrant;
  readonly expiresAt: number;
}

export interface TicketStoreOptions {
  ttlMs: number;
  /** Outstanding tickets kept at most; issuing more throws TOO_MANY_TICKETS. */
  maxOutstanding: number;
  now: () => number;
}

export class TicketStore {
  readonly #tickets = new Map<string, StoredTicket>();
  readonly #options: TicketStoreOptions;

  constructor(options: TicketStoreOptions) {
    this.#options = options;
  }

  get outstanding(): number {
    return this.#tickets.size;
  }

  issue(grant: TicketGrant): IssuedTicket {
    this.sweep();
    if (this.#tickets.size >= this.#options.maxOutstanding) {
      throw new TerminalError('TOO_MANY_TICKETS', `${this.#tickets.size} terminal tickets are outstanding`, {
        suggestion: 'Tickets expire within seconds; retry shortly, or raise limits.maxOutstandingTickets.',
      });
    }
    const ticket = randomBytes(LIMITS.ticketBytes);
    const digest = sha256(ticket);
    const expiresAt = this.#options.now() + this.#options.ttlMs;
    this.#tickets.set(digest.toString('hex'), { digest, grant, expiresAt });
    return { ticket: ticket.toString('base64url'), expiresAt: new Date(expiresAt) };
  }

  /** Checks and spends a ticket: whatever the answer, the same bytes never pass again. */
  redeem(ticket: Uint8Array): TicketCheck {
    if (ticket.byteLength !== LIMITS.ticketBytes) return { ok: false, reason: 'MALFORMED' };
    const digest = sha256(ticket);
    const key = digest.toString('hex');
    const stored = this.#tickets.get(key);
    if (stored === undefined || !timingSafeEqual(stored.digest, digest))
      return { ok: false, reason: 'UNKNOWN' };
    this.#tickets.delete(key);
    if (this.#options.now() >= stored.expiresAt) return { ok: false, reason: 'EXPIRED' };
    return { ok: true, grant: stored.grant };
  }

  /** Forgets expired tickets (called on issue and by the server's periodic sweep). */
  sweep(): void {
    const now = this.#options.now();
    for (const [key, stored] of this.#tickets) if (now >= stored.expiresAt) this.#tickets.delete(key);
  }

  clear(): void {
    this.#tickets.clear();
  }
}

function sha256(bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest();
}
