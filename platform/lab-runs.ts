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
 *   once passed a task stays passed.
 */
import type { Hub, RequestRecord } from '../hub/src/index.js';
import type {
  FactRecordQuery,
  HomeReader,
  HubRecord,
  LabRegistry,
  LoadedLab,
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
  readonly sessions: Set<string>;
  readonly events = new ClientEventLog({ maxEvents: MAX_EVENTS_PER_LEARNER });
  private readonly recordListeners = new Set<() => void>();

  constructor(
    readonly learnerId: string,
    store: ProgressStore,
    private readonly records: Hub['records'],
  ) {
    this.sessions = new Set(store.sessionsOf(learnerId));
    for (const event of store.eventsOf(learnerId)) this.events.add(event.fields, event.receivedAt);
  }

  readonly sessionRecords: SessionRecords = {
    records: (query: FactRecordQuery = {}) => {
      const all: HubRecord[] = [];
      for (const session of this.sessions) {
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

  newRecord(): void {
    for (const listener of this.recordListeners) listener();
  }
}

class LabRun {
  readonly session: LabSession;
  readonly started: Promise<unknown>;
  private readonly listeners = new Set<StatesListener>();
  private emitScheduled = false;

  constructor(
    readonly lab: LoadedLab,
    readonly learner: Learner,
    facts: LearnerFacts,
    home: HomeReader,
    hub: Hub,
    store: ProgressStore,
    logger: PlatformLogger,
  ) {
    this.session = new LabSession({
      lab: lab.definition,
      facts: createSessionFacts({
        session: learner.id,
        records: facts.sessionRecords,
        events: facts.events,
        home,
        trustData: hubTrustData(() => hub.notary),
      }),
      attendee: { username: learner.username },
      passed: store.passed(learner.id, lab.id),
    });
    this.session.on('status', (change) => {
      if (change.state === 'done') store.addPassed(learner.id, lab.id, change.taskId, Date.now());
      this.scheduleEmit();
    });
    this.session.on('check-error', (error) =>
      logger.error(`lab ${lab.id}, learner ${learner.id}: a check failed`, error),
    );
    this.started = this.session.start();
  }

  states(): TaskState[] {
    return this.session.statuses().map((status) => this.toTaskState(status));
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
  private closed = false;

  constructor(private readonly options: LabRunsOptions) {
    options.hub.records.on('record', this.onRecord);
  }

  /** A terminal session of `learnerId` starts: from now on its records are theirs. */
  sessionStarted(sessionId: string, learnerId: string, startedAt: number): void {
    this.options.store.addSession(sessionId, learnerId, startedAt);
    this.owners.set(sessionId, learnerId);
    this.facts.get(learnerId)?.sessions.add(sessionId);
  }

  /** An event line from a session's events socket (already checked by the terminal server). */
  clientEvent(event: TerminalClientEvent): void {
    const owner = this.ownerOf(event.sessionId);
    // The attendee is the server's own label for the session; both must agree.
    if (owner === undefined || owner !== event.attendee) return;
    const receivedAt = Date.parse(event.receivedAt);
    this.options.store.addEvent(owner, { sessionId: event.sessionId, receivedAt, fields: event.event });
    this.facts.get(owner)?.events.add(event.event, receivedAt);
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
      );
      this.runs.set(key, run);
    }
    await run.started;
    return run;
  }

  close(): void {
    this.closed = true;
    this.options.hub.records.off('record', this.onRecord);
    for (const run of this.runs.values()) run.session.close();
    this.runs.clear();
  }
}

export type { LabRun };
