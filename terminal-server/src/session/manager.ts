/**
 * The live sessions, one per attendee: finds or creates the session a
 * ticket's attendee attaches to, adds watchers to existing sessions,
 * enforces the session limit, resets attendees, and ends them all at
 * shutdown. A session leaves the table the moment it starts ending, so a
 * reconnect during its teardown gets a fresh session, never a dying one;
 * its teardown is still counted against the limit until it is done.
 *
 * A reset holds back the start of any new session of its attendee or of
 * its home until the old session is torn down and the home is wiped: the
 * connection is attached at once (it sees "starting", its input is kept),
 * but no sandbox is created over a home that is being emptied.
 */
import type { AttendeeGrant, WatchGrant } from '../auth/tickets.js';
import { CLOSE, WATCH_CLOSE } from '../protocol/constants.js';
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
  /** Live sessions with a connection of their attendee attached. */
  readonly attached: number;
  /** Watchers attached to live sessions, all together. */
  readonly watchers: number;
  /** Ended and still tearing down (processes being killed, sandbox destroyed). */
  readonly ending: number;
}

export interface HelloRequest {
  readonly cols: number;
  readonly rows: number;
  readonly resume: ResumePoint | undefined;
}

/** The session a HELLO joined, or why it joined none (the connection is closed with `code`). */
export type JoinOutcome =
  { readonly session: Session } | { readonly refusal: { readonly code: number; readonly reason: string } };

export class SessionManager {
  readonly #options: SessionManagerOptions;
  readonly #live = new Map<string, Session>();
  readonly #ending = new Map<Session, Promise<void>>();
  /** Resets under way, by `attendee:<id>` and `home:<key>`; each settles (never rejects) when done. */
  readonly #resets = new Map<string, Promise<void>>();

  constructor(options: SessionManagerOptions) {
    this.#options = options;
  }

  /** Attaches `connection` to the attendee's session, creating it if there is room. */
  attach(grant: AttendeeGrant, connection: SessionConnection, hello: HelloRequest): JoinOutcome {
    const existing = this.#live.get(grant.attendee);
    if (existing !== undefined) {
      existing.attach(connection, hello.resume);
      // The newest window's size wins, as it is the one the learner looks at.
      existing.resize(connection, hello.cols, hello.rows);
      return { session: existing };
    }
    if (this.#live.size + this.#ending.size >= this.#options.maxSessions) {
      return {
        refusal: {
          code: CLOSE.tooManySessions,
          reason: 'the server has no room for another terminal; try again later',
        },
      };
    }
    const session = new Session({
      ...this.#options.session,
      attendee: grant.attendee,
      homeKey: grant.homeKey,
      env: grant.env,
      cols: hello.cols,
      rows: hello.rows,
      onEnding: (ending, _reason, ended) => {
        if (this.#live.get(ending.attendee) === ending) this.#live.delete(ending.attendee);
        this.#ending.set(ending, ended);
        void ended.finally(() => this.#ending.delete(ending));
      },
      onEnded: (ended, reason) => this.#options.onEnded(ended, reason),
    });
    this.#live.set(grant.attendee, session);
    this.#options.onStarted(session);
    // Attached before starting, so that STARTING and early input belong to this connection.
    session.attach(connection, hello.resume);
    this.#startWhenNoReset(session);
    return { session };
  }

  /** Adds a watcher to the session the grant names; never creates one. */
  watch(grant: WatchGrant, connection: SessionConnection, hello: HelloRequest): JoinOutcome {
    const session = this.#live.get(grant.attendee);
    if (session === undefined || session.id !== grant.sessionId) {
      return {
        refusal: { code: WATCH_CLOSE.noSession, reason: 'the terminal to watch is not running any more' },
      };
    }
    switch (session.watch(connection, grant.watcher, hello.resume)) {
      case 'watching':
        return { session };
      case 'full':
        return {
          refusal: {
            code: WATCH_CLOSE.tooManyWatchers,
            reason: 'this terminal has as many watchers as it may have; try again later',
          },
        };
      case 'ended':
        return {
          refusal: { code: WATCH_CLOSE.noSession, reason: 'the terminal to watch is not running any more' },
        };
    }
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
    let watchers = 0;
    for (const session of this.#live.values()) {
      if (session.state === 'starting') starting++;
      else if (session.state === 'running') running++;
      if (session.attached) attached++;
      watchers += session.watcherCount;
    }
    return { live: this.#live.size, starting, running, attached, watchers, ending: this.#ending.size };
  }

  /** Ends the attendee's session, if any; resolves once its sandbox is destroyed. */
  async end(attendee: string, reason: EndReason): Promise<boolean> {
    const session = this.#live.get(attendee);
    if (session === undefined) return false;
    await session.end(reason);
    return true;
  }

  /**
   * Ends the attendee's session (whatever its state), waits until every
   * session of the attendee or of `homeKey` is torn down, then runs
   * `wipeHome` if given. Until then no new session of either starts. Resets
   * of the same attendee or home run one after the other. Resolves with
   * whether a session was ended; rejects with `wipeHome`'s error.
   */
  reset(attendee: string, homeKey: string, wipeHome: (() => Promise<void>) | undefined): Promise<boolean> {
    // Taken now: a session the attendee opens from here on waits for this reset, and is not its target.
    const target = this.#live.get(attendee);
    // Ended at once (ending touches no home), so that no reconnect can join it meanwhile.
    const targetEnded = target?.end('reset');
    const earlier = this.#pendingResets(attendee, homeKey);
    const work = (async () => {
      await earlier;
      await targetEnded;
      const teardowns = [...this.#ending]
        .filter(([session]) => session.attendee === attendee || session.homeKey === homeKey)
        .map(([, ended]) => ended);
      await Promise.all(teardowns);
      if (wipeHome !== undefined) await wipeHome();
      return target !== undefined;
    })();
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    const keys = [`attendee:${attendee}`, `home:${homeKey}`];
    for (const key of keys) this.#resets.set(key, settled);
    void settled.then(() => {
      for (const key of keys) if (this.#resets.get(key) === settled) this.#resets.delete(key);
    });
    return work;
  }

  /** Ends every session and waits for every teardown, including those already under way. */
  async endAll(reason: EndReason): Promise<void> {
    for (const session of [...this.#live.values()]) void session.end(reason);
    await Promise.allSettled([...this.#ending.values()]);
  }

  /** Starts `session` once no reset of its attendee or home is under way (checked again after each). */
  #startWhenNoReset(session: Session): void {
    const pending = this.#pendingResets(session.attendee, session.homeKey);
    if (pending !== undefined) {
      void pending.then(() => this.#startWhenNoReset(session));
      return;
    }
    if (session.state !== 'ended') void session.start();
  }

  #pendingResets(attendee: string, homeKey: string): Promise<unknown> | undefined {
    const pending = [this.#resets.get(`attendee:${attendee}`), this.#resets.get(`home:${homeKey}`)].filter(
      (reset) => reset !== undefined,
    );
    return pending.length === 0 ? undefined : Promise.all(pending);
  }
}
