/**
 * The live sessions, one per attendee: finds or creates the session a
 * ticket's attendee attaches to, enforces the session limit, and ends them
 * all at shutdown. A session leaves the table the moment it starts ending,
 * so a reconnect during its teardown gets a fresh session, never a dying
 * one; its teardown is still counted against the limit until it is done.
 */
import type { TicketGrant } from '../auth/tickets.js';
import type { ResumePoint } from '../protocol/frames.js';
import {
  Session,
  type EndReason,
  type SessionConnection,
  type SessionInfo,
  type SessionOptions,
} from './session.js';

export type SessionFactoryOptions = Omit<
  SessionOptions,
  'attendee' | 'homeKey' | 'env' | 'cols' | 'rows' | 'onEnding' | 'onEnded'
>;

export interface SessionManagerOptions {
  readonly maxSessions: number;
  readonly session: SessionFactoryOptions;
  readonly onStarted: (session: Session) => void;
  readonly onEnded: (session: Session, reason: EndReason) => void;
}

export interface SessionCounts {
  /** Sessions that have not ended (starting or running). */
  readonly live: number;
  readonly starting: number;
  readonly running: number;
  /** Live sessions with a connection attached. */
  readonly attached: number;
  /** Ended and still tearing down (processes being killed, sandbox destroyed). */
  readonly ending: number;
}

export class SessionManager {
  readonly #options: SessionManagerOptions;
  readonly #live = new Map<string, Session>();
  readonly #ending = new Set<Promise<void>>();

  constructor(options: SessionManagerOptions) {
    this.#options = options;
  }

  /** Attaches `connection` to the attendee's session, creating it if needed; undefined when full. */
  attach(
    grant: TicketGrant,
    connection: SessionConnection,
    hello: { cols: number; rows: number; resume: ResumePoint | undefined },
  ): Session | undefined {
    const existing = this.#live.get(grant.attendee);
    if (existing !== undefined) {
      existing.attach(connection, hello.resume);
      // The newest window's size wins, as it is the one the learner looks at.
      existing.resize(connection, hello.cols, hello.rows);
      return existing;
    }
    if (this.#live.size + this.#ending.size >= this.#options.maxSessions) return undefined;
    const session = new Session({
      ...this.#options.session,
      attendee: grant.attendee,
      homeKey: grant.homeKey,
      env: grant.env,
      cols: hello.cols,
      rows: hello.rows,
      onEnding: (ending, _reason, ended) => {
        if (this.#live.get(ending.attendee) === ending) this.#live.delete(ending.attendee);
        this.#ending.add(ended);
        void ended.finally(() => this.#ending.delete(ended));
      },
      onEnded: (ended, reason) => this.#options.onEnded(ended, reason),
    });
    this.#live.set(grant.attendee, session);
    this.#options.onStarted(session);
    // Attached before starting, so that STARTING and early input belong to this connection.
    session.attach(connection, hello.resume);
    void session.start();
    return session;
  }

  get(attendee: string): Session | undefined {
    return this.#live.get(attendee);
  }

  list(): SessionInfo[] {
    return [...this.#live.values()].map((session) => session.info());
  }

  counts(): SessionCounts {
    let starting = 0;
    let running = 0;
    let attached = 0;
    for (const session of this.#live.values()) {
      if (session.state === 'starting') starting++;
      else if (session.state === 'running') running++;
      if (session.attached) attached++;
    }
    return { live: this.#live.size, starting, running, attached, ending: this.#ending.size };
  }

  /** Ends the attendee's session, if any; resolves once its sandbox is destroyed. */
  async end(attendee: string, reason: EndReason): Promise<boolean> {
    const session = this.#live.get(attendee);
    if (session === undefined) return false;
    await session.end(reason);
    return true;
  }

  /** Ends every session and waits for every teardown, including those already under way. */
  async endAll(reason: EndReason): Promise<void> {
    for (const session of [...this.#live.values()]) void session.end(reason);
    await Promise.allSettled([...this.#ending]);
  }
}
