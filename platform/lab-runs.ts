/**
 * The lab engine for every learner: one LabSession per (learner, lab), over
 * facts that span all of the learner's terminal sessions.
 *
 * How terminal sessions, hub records and learners meet:
 * - a learner is the terminal server's attendee (their public id), so they
 *   have one terminal at a time; each terminal session gets a fresh random
 *   id from the terminal server, and the hub records every request that
 *   came through that session's socket under that id;
 * - when a session starts, its id is stored against the learner (before
 *   its sandbox, and so its hub socket, exists), so records are found again
 *   after reconnects and restarts: a learner's records are the union of the
 *   hub's records of all their sessions, in the hub's order (record ids);
 * - client events (one per docker/notary command) are kept in the progress
 *   store too, so that after a restart the engine still knows where each
 *   earlier command ended;
 * - the home is read only while the platform knows it to be there (see
 *   homes.ts); a check that needs files ticks while the learner works, and
 *   once passed a task stays passed (until an instructor resets the
 *   learner: then only the sessions and events from the reset on count).
 */
import type { Hub, RequestRecord } from '../hub/src/index.js';
import type {
  FactRecordQuery,
  HomeReader,
  HubRecord,
  LabRegistry,
  LoadedLab,
  SessionFacts,
  SessionRecords,
  TaskStatus,
} from '../labs/engine/index.js';
import { ClientEventLog, createSessionFacts, hubTrustData, LabSession } from '../labs/engine/index.js';
import type { ClientEvent as TerminalClientEvent } from '../terminal-server/src/index.js';
import type { Learner, TaskState } from './api.js';
import { hintsOf } from './lab-pages.js';
import type { PlatformLogger } from './logger.js';
import type { ProgressStore } from './progress-store.js';
import { MAX_EVENTS_PER_LEARNER } from './progress-store.js';

/** The hub answers at most this many records per query; a learner's history is cut to as many. */
const MAX_RECORDS = 10_000;

type StatesListener = (states: readonly TaskState[]) => void;

/** What the engine may know of one learner, shared by their labs. */
class LearnerFacts {
  /** Session id → when it started (ms): a lab's reset leaves out the sessions that started before it. */
  readonly sessions: Map<string, number>;
  readonly events = new ClientEventLog({ maxEvents: MAX_EVENTS_PER_LEARNER });
  private readonly recordListeners = new Set<() => void>();

  constructor(
    readonly learnerId: string,
    store: ProgressStore,
    private readonly records: Hub['records'],
  ) {
    this.sessions = new Map(store.sessionStarts(learnerId).map((s) => [s.sessionId, s.startedAt]));
    for (const event of store.eventsOf(learnerId)) this.events.add(event.fields, event.receivedAt);
  }

  /** The records of the sessions that started at or after `since` (ms), in the hub's order. */
  sessionRecords(since: number): SessionRecords {
    return {
      records: (query: FactRecordQuery = {}) => {
        const all: HubRecord[] = [];
        for (const [session, startedAt] of this.sessions) {
          if (startedAt < since) continue;
          all.push(...this.records.query({ ...query, session, limit: MAX_RECORDS }));
        }
        all.sort((a, b) => a.id - b.id);
        return Promise.resolve(all.length > MAX_RECORDS ? all.slice(all.length - MAX_RECORDS) : all);
      },
      watch: (listener) => {
        this.recordListeners.add(listener);
        return () => this.recordListeners.delete(listener);
      },
    };
  }

  newRecord(): void {
    for (const listener of this.recordListeners) listener();
  }
}

/**
 * The learner's facts as one lab sees them: from `since` on (the lab's
 * last reset, 0 when none). A session of the learner is theirs whole, so
 * sessions are cut by their start; events by their arrival.
 */
export interface TokenFacts {
  keys(): readonly string[];
  watch(listener: () => void): () => void;
}

function labFacts(
  learner: Learner,
  facts: LearnerFacts,
  home: HomeReader,
  hub: Hub,
  since: number,
  token: TokenFacts | undefined,
): SessionFacts {
  const records = facts.sessionRecords(since);
  const base = createSessionFacts({
    session: learner.id,
    records,
    events: facts.events,
    home,
    trustData: hubTrustData(() => hub.notary),
  });
  const all: SessionFacts =
    token === undefined
      ? base
      : {
          ...base,
          tokenKeys: () => Promise.resolve(token.keys()),
          watch(listener) {
            const stopBase = base.watch?.(listener);
            const stopToken = token.watch(listener);
            return () => {
              stopBase?.();
              stopToken();
            };
          },
        };
  if (since === 0) return all;
  return { ...all, events: async () => (await all.events()).filter((event) => event.receivedAt >= since) };
}

class LabRun {
  private current: LabSession;
  private startedRun: Promise<unknown>;
  private readonly listeners = new Set<StatesListener>();
  private emitScheduled = false;

  constructor(
    readonly lab: LoadedLab,
    readonly learner: Learner,
    private readonly facts: LearnerFacts,
    private readonly home: HomeReader,
    private readonly hub: Hub,
    private readonly store: ProgressStore,
    private readonly logger: PlatformLogger,
    private readonly token: TokenFacts | undefined,
  ) {
    this.current = this.createSession();
    this.startedRun = this.current.start();
  }

  get session(): LabSession {
    return this.current;
  }

  /** Settles once the first run of the checks (since the last reset) is over. */
  get started(): Promise<unknown> {
    return this.startedRun;
  }

  private createSession(): LabSession {
    const { lab, learner, store, logger } = this;
    const since = store.progressResetAt(learner.id, lab.id) ?? 0;
    const session = new LabSession({
      lab: lab.definition,
      facts: labFacts(learner, this.facts, this.home, this.hub, since, this.token),
      attendee: { username: learner.username },
      passed: store.passed(learner.id, lab.id),
    });
    session.on('status', (change) => {
      if (session !== this.current) return;
      if (change.state === 'done') store.addPassed(learner.id, lab.id, change.taskId, Date.now());
      this.scheduleEmit();
    });
    session.on('check-error', (error) =>
      logger.error(`lab ${lab.id}, learner ${learner.id}: a check failed`, error),
    );
    return session;
  }

  /**
   * Starts over from the store (after an instructor's reset cleared the
   * learner's progress): a new LabSession with what is passed now and the
   * facts from the reset on. Watchers stay and hear the new states.
   */
  async restart(): Promise<void> {
    this.current.close();
    this.current = this.createSession();
    this.startedRun = this.current.start();
    this.scheduleEmit();
    await this.startedRun;
  }

  /** Each task's status alone, without the rendered hints (the instructor's views). */
  statuses(): TaskStatus[] {
    return this.current.statuses();
  }

  states(): TaskState[] {
    return this.current.statuses().map((status) => this.toTaskState(status));
  }

  watch(listener: StatesListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One notification per turn, whatever the number of tasks that changed in a run. */
  private scheduleEmit(): void {
    if (this.emitScheduled) return;
    this.emitScheduled = true;
    setImmediate(() => {
      this.emitScheduled = false;
      const states = this.states();
      for (const listener of this.listeners) listener(states);
    });
  }

  private toTaskState(status: TaskStatus): TaskState {
    return {
      taskId: status.taskId,
      status: status.state,
      ...(status.reason !== undefined ? { reason: status.reason } : {}),
      ...(status.suggestion !== undefined ? { suggestion: status.suggestion } : {}),
      ...hintsOf(this.lab, status.taskId, this.learner),
    };
  }
}

export interface LabRunsOptions {
  store: ProgressStore;
  labs: LabRegistry;
  hub: Hub;
  /** The learner's home as readable now, or undefined. */
  homeOf: (learnerId: string) => HomeReader | undefined;
  /** A learner opened a lab for the first time in this process. */
  opened?: (learnerId: string, labId: string) => void;
  /** Root keys the learner's paired token said it holds (the YubiKey broker). */
  tokenKeys?: (learnerId: string) => readonly string[];
  /** Calls `listener` when those may have changed; returns an unsubscribe. */
  watchTokenKeys?: (learnerId: string, listener: () => void) => () => void;
  logger: PlatformLogger;
}

export class LabRuns {
  private readonly facts = new Map<string, LearnerFacts>();
  private readonly runs = new Map<string, LabRun>();
  /** Session id → learner id, filled from the store on first sight. */
  private readonly owners = new Map<string, string>();
  private readonly onRecord = (record: RequestRecord) => {
    if (record.session === undefined) return;
    const owner = this.ownerOf(record.session);
    if (owner !== undefined) this.facts.get(owner)?.newRecord();
  };
  private readonly eventListeners = new Set<(learnerId: string) => void>();
  private closed = false;

  constructor(private readonly options: LabRunsOptions) {
    options.hub.records.on('record', this.onRecord);
  }

  private tokenFactsOf(learnerId: string): TokenFacts | undefined {
    const { tokenKeys, watchTokenKeys } = this.options;
    if (tokenKeys === undefined || watchTokenKeys === undefined) return undefined;
    return { keys: () => tokenKeys(learnerId), watch: (listener) => watchTokenKeys(learnerId, listener) };
  }

  /** A terminal session of `learnerId` starts: from now on its records are theirs. */
  sessionStarted(sessionId: string, learnerId: string, startedAt: number): void {
    this.options.store.addSession(sessionId, learnerId, startedAt);
    this.owners.set(sessionId, learnerId);
    this.facts.get(learnerId)?.sessions.set(sessionId, startedAt);
  }

  /** Calls `listener` with the learner's id after each client event of theirs is kept. */
  watchEvents(listener: (learnerId: string) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** An event line from a session's events socket (already checked by the terminal server). */
  clientEvent(event: TerminalClientEvent): void {
    const owner = this.ownerOf(event.sessionId);
    // The attendee is the server's own label for the session; both must agree.
    if (owner === undefined || owner !== event.attendee) return;
    const receivedAt = Date.parse(event.receivedAt);
    this.options.store.addEvent(owner, { sessionId: event.sessionId, receivedAt, fields: event.event });
    this.facts.get(owner)?.events.add(event.event, receivedAt);
    for (const listener of this.eventListeners) listener(owner);
  }

  private ownerOf(sessionId: string): string | undefined {
    let owner = this.owners.get(sessionId);
    if (owner === undefined) {
      owner = this.options.store.learnerOfSession(sessionId);
      if (owner !== undefined) this.owners.set(sessionId, owner);
    }
    return owner;
  }

  private factsOf(learnerId: string): LearnerFacts {
    let facts = this.facts.get(learnerId);
    if (facts === undefined) {
      facts = new LearnerFacts(learnerId, this.options.store, this.options.hub.records);
      this.facts.set(learnerId, facts);
    }
    return facts;
  }

  /** The learner's run of `labId` (started on first use), or undefined for an unknown lab. */
  async run(learner: Learner, labId: string): Promise<LabRun | undefined> {
    const lab = this.options.labs.get(labId);
    if (lab === undefined || this.closed) return undefined;
    const key = `${learner.id}/${labId}`;
    let run = this.runs.get(key);
    if (run === undefined) {
      this.options.store.markOpened(learner.id, labId, Date.now());
      this.options.opened?.(learner.id, labId);
      const home: HomeReader = {
        readFile: (rel) => this.options.homeOf(learner.id)?.readFile(rel) ?? Promise.resolve(undefined),
        listDir: (rel) => this.options.homeOf(learner.id)?.listDir(rel) ?? Promise.resolve(undefined),
      };
      run = new LabRun(
        lab,
        learner,
        this.factsOf(learner.id),
        home,
        this.options.hub,
        this.options.store,
        this.options.logger,
        this.tokenFactsOf(learner.id),
      );
      this.runs.set(key, run);
    }
    await run.started;
    return run;
  }

  /** The learner's run of the lab if one was started in this process (nothing is started). */
  peek(learnerId: string, labId: string): LabRun | undefined {
    return this.runs.get(`${learnerId}/${labId}`);
  }

  /**
   * The learner's progress in the lab was reset in the store: a run in
   * memory starts over from it. Resolves once its first checks are done.
   */
  async restart(learnerId: string, labId: string): Promise<void> {
    await this.runs.get(`${learnerId}/${labId}`)?.restart();
  }

  close(): void {
    this.closed = true;
    this.options.hub.records.off('record', this.onRecord);
    for (const run of this.runs.values()) run.session.close();
    this.runs.clear();
  }
}

export type { LabRun };
