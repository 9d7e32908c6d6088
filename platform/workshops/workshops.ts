/**
 * Workshops: an instructor creates one for a lab, attendees join it with
 * its code, the instructor watches their progress, broadcasts to them and
 * resets them.
 *
 * Decisions:
 * - Joining twice from the same browser (the same learner cookie) gives the
 *   same attendee and takes the name given the second time: that is how an
 *   attendee corrects a typo in their name, and it never takes a second
 *   place in the workshop.
 * - A learner may attend several workshops over time (the same laptop on
 *   two days); their "current" workshop is the one they joined last: it is
 *   what their session answer names and whose broadcasts reach them.
 * - Progress belongs to the learner and the lab, not to the workshop:
 *   tasks done before joining count as done. An instructor who wants a
 *   clean start resets the attendee with `clearProgress`.
 * - Task states come from the lab engine (LabRuns), evaluated on the
 *   server from the facts, whether or not the attendee's page is open: the
 *   dashboard starts a run for every attendee (a few at a time). Memory is
 *   bounded by the attendees: one run each, whose events are capped by the
 *   store's limit per learner, and a small view each on the live dashboard.
 * - A reset goes through the terminal server (`resetAttendee`): it ends
 *   the session, empties the home through the sandbox driver, and holds the
 *   attendee's next session back until both are done; the platform writes
 *   the lab's files into the emptied home. Then, when asked, the passed
 *   tasks are cleared, and only the sessions and events from the reset on
 *   count for the lab (else the old pushes would tick them again at once).
 *   Their repositories on the hub stay.
 */
import { randomBytes } from 'node:crypto';
import type { LabRegistry, LoadedLab } from '../../labs/engine/index.js';
import type { TerminalServer } from '../../terminal-server/src/index.js';
import { isTerminalError } from '../../terminal-server/src/index.js';
import type { Learner } from '../api.js';
import { PlatformError, isPlatformError } from '../errors.js';
import type { LabRuns } from '../lab-runs.js';
import type { Learners } from '../learners.js';
import type { PlatformLogger } from '../logger.js';
import type { ProgressStore } from '../progress-store.js';
import { attendeeProgress, EVENTS_READ } from './attendee-view.js';
import { progressCsv } from './csv.js';
import {
  broadcastSchema,
  createWorkshopSchema,
  joinSchema,
  newJoinCode,
  normaliseJoinCode,
  parseInput,
  resetSchema,
} from './input.js';
import { WorkshopWatch } from './live.js';
import type { AttendeeRow, WorkshopRow, WorkshopStore } from './store.js';
import type {
  AttendeeView,
  AttendeeWorkshop,
  ControlChange,
  JoinResult,
  ResetResult,
  WorkshopBroadcast,
  WorkshopChange,
  WorkshopPublicInfo,
  WorkshopSnapshot,
  WorkshopState,
  WorkshopView,
} from './types.js';

export const DEFAULT_STUCK_AFTER_MINUTES = 10;
/** Runs started at once when a dashboard first needs every attendee's states. */
const RUN_START_CONCURRENCY = 4;

export interface WorkshopsOptions {
  store: WorkshopStore;
  progress: ProgressStore;
  labs: LabRegistry;
  learners: Learners;
  runs: LabRuns;
  terminal: Pick<TerminalServer, 'session' | 'resetAttendee'>;
  logger: PlatformLogger;
  stuckAfterMinutes?: number;
  now?: () => number;
}

export type JoinAnswer =
  | { readonly ok: true; readonly result: JoinResult; readonly cookie?: string }
  | { readonly ok: false; readonly error: PlatformError; readonly cookie?: string };

/** Runs `work` over `items`, `size` at a time. */
async function inBatches<T>(
  items: readonly T[],
  size: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

const iso = (ms: number) => new Date(ms).toISOString();

export class Workshops {
  readonly stuckAfterMinutes: number;
  private readonly now: () => number;
  private readonly resetting = new Set<string>();
  private readonly broadcastListeners = new Map<string, Set<(broadcast: WorkshopBroadcast) => void>>();
  private readonly watches = new Map<string, WorkshopWatch>();
  private readonly unwatchEvents: () => void;

  constructor(private readonly options: WorkshopsOptions) {
    this.now = options.now ?? Date.now;
    this.stuckAfterMinutes = options.stuckAfterMinutes ?? DEFAULT_STUCK_AFTER_MINUTES;
    this.unwatchEvents = options.runs.watchEvents((learnerId) => this.attendeeChanged(learnerId));
  }

  // ---- instructors -------------------------------------------------------

  create(input: unknown): WorkshopView {
    const parsed = parseInput(createWorkshopSchema, input);
    const lab = this.options.labs.get(parsed.lab);
    if (lab === undefined) {
      throw new PlatformError('UNKNOWN_LAB', `There is no lab "${parsed.lab}".`, {
        suggestion: `Choose one of: ${this.options.labs.labs.map((l) => l.id).join(', ')}.`,
      });
    }
    const now = this.now();
    const endsAt = Date.parse(parsed.endsAt);
    if (endsAt <= now) {
      throw new PlatformError('INVALID_INPUT', 'endsAt: the workshop must end in the future', {
        suggestion: 'Give an end time after now.',
      });
    }
    const { store } = this.options;
    let code = newJoinCode();
    // 31^6 codes: a clash is rare, and a few more tries settle it.
    for (let tries = 0; store.codeTaken(code); tries++) {
      if (tries > 20) throw new PlatformError('STORE_FAILED', 'no free join code');
      code = newJoinCode();
    }
    const row = {
      id: randomBytes(8).toString('hex'),
      code,
      labId: lab.id,
      title: parsed.title,
      capacity: parsed.capacity,
      startsAt: Date.parse(parsed.startsAt),
      endsAt,
      createdAt: now,
    };
    store.addWorkshop(row);
    this.options.logger.info(`workshop ${row.id} created for lab ${lab.id} (join code ${code})`);
    return this.view({ ...row, closedAt: undefined });
  }

  list(): WorkshopView[] {
    return this.options.store.workshops().map((row) => this.view(row));
  }

  get(id: string): WorkshopView {
    return this.view(this.workshopRow(id));
  }

  closeWorkshop(id: string): WorkshopView {
    const row = this.workshopRow(id);
    this.options.store.close(row.id, this.now());
    const view = this.get(id);
    this.watches.get(id)?.emit({ kind: 'workshop', workshop: view });
    return view;
  }

  async snapshot(id: string): Promise<WorkshopSnapshot> {
    const row = this.workshopRow(id);
    const lab = this.labOf(row);
    const attendees = this.options.store.attendees(row.id);
    await this.ensureRuns(row, attendees);
    // Everything below is synchronous: the snapshot holds every change notified before it.
    const workshop = this.view(row);
    const views = attendees.map((attendee) => this.attendeeView(row, workshop.state, lab, attendee));
    return {
      workshop,
      tasks: lab.definition.tasks.map((task) => ({ id: task.id, title: task.title })),
      attendees: views,
      totals: totalsOf(lab, views),
      stuckAfterMinutes: this.stuckAfterMinutes,
      broadcasts: this.options.store.broadcasts(row.id).map(broadcastView),
      generatedAt: iso(this.now()),
    };
  }

  /** The dashboard's changes, from now on; returns the unsubscribe. */
  watch(id: string, listener: (change: WorkshopChange) => void): () => void {
    const row = this.workshopRow(id);
    let watch = this.watches.get(id);
    if (watch === undefined) {
      const created = new WorkshopWatch({
        workshopId: row.id,
        stuckAfterMs: this.stuckAfterMinutes * 60_000,
        now: this.now,
        attendees: () => this.options.store.attendees(row.id),
        subscribe: (attendee, changed) => this.subscribeRun(row, attendee, changed),
        view: (learnerId) => this.freshAttendeeView(row.id, learnerId),
        totals: (views) => totalsOf(this.labOf(row), views),
        logger: this.options.logger,
        disposed: () => this.watches.delete(id),
      });
      this.watches.set(id, created);
      watch = created;
    }
    return watch.listen(listener);
  }

  async csv(id: string): Promise<{ filename: string; body: string }> {
    const snapshot = await this.snapshot(id);
    return { filename: `workshop-${snapshot.workshop.code}-progress.csv`, body: progressCsv(snapshot) };
  }

  broadcast(id: string, input: unknown): WorkshopBroadcast {
    const { message } = parseInput(broadcastSchema, input);
    const row = this.workshopRow(id);
    const at = this.now();
    this.options.store.addBroadcast(row.id, message, at);
    const broadcast = { message, at: iso(at) };
    for (const learnerId of this.options.store.currentAttendees(row.id)) {
      for (const listener of this.broadcastListeners.get(learnerId) ?? []) listener(broadcast);
    }
    this.watches.get(id)?.emit({ kind: 'broadcast', broadcast });
    return broadcast;
  }

  async reset(id: string, learnerId: string, input: unknown): Promise<ResetResult> {
    const { clearProgress } = parseInput(resetSchema, input);
    const row = this.assertAttendee(id, learnerId);
    if (this.resetting.has(learnerId)) {
      throw new PlatformError('RESETTING', 'This attendee is being reset already.', {
        suggestion: 'Wait for the reset under way to finish.',
        retryAfterMs: 2000,
      });
    }
    this.resetting.add(learnerId);
    try {
      // Sessions that started before this moment no longer count for the lab; the live one is among them.
      const boundary = this.now();
      const { terminal } = this.options;
      let sessionEnded = terminal.session(learnerId) !== undefined;
      let home: ResetResult['home'];
      try {
        // The home key is the learner id (the platform's terminal tickets say so).
        const outcome = await terminal.resetAttendee(learnerId, { home: 'fresh', homeKey: learnerId });
        sessionEnded = outcome.sessionEnded;
        home = { reset: true };
      } catch (error) {
        if (!isTerminalError(error)) throw error;
        this.options.logger.warn(`emptying the home of learner ${learnerId} failed`, error);
        home = {
          reset: false,
          code: error.code,
          message: [error.message, error.suggestion].filter(Boolean).join('. '),
        };
        // A driver that cannot empty homes is refused before anything ends: the session still must.
        if (error.code === 'RESET_UNSUPPORTED') {
          sessionEnded = (await terminal.resetAttendee(learnerId, { home: 'keep', homeKey: learnerId }))
            .sessionEnded;
        }
      }
      if (clearProgress) {
        this.options.progress.clearProgress(learnerId, row.labId, boundary);
        await this.options.runs.restart(learnerId, row.labId);
      }
      this.options.logger.info(
        `workshop ${row.id}: learner ${learnerId} reset${clearProgress ? ' with their progress' : ''}`,
      );
      return { sessionEnded, progressCleared: clearProgress, home };
    } finally {
      this.resetting.delete(learnerId);
      this.attendeeChanged(learnerId);
    }
  }

  /** The workshop, when the learner attends it; UNKNOWN_WORKSHOP or UNKNOWN_ATTENDEE otherwise. */
  assertAttendee(id: string, learnerId: string): WorkshopView {
    const row = this.workshopRow(id);
    if (this.options.store.attendee(row.id, learnerId) === undefined) {
      throw new PlatformError('UNKNOWN_ATTENDEE', `No attendee ${learnerId} in this workshop.`, {
        suggestion: 'Reload the dashboard: the list of attendees may be out of date.',
      });
    }
    return this.view(row);
  }

  /** An attendee answered a request for control or took it back: the dashboards of their workshops show it. */
  controlChanged(change: ControlChange): void {
    for (const [workshopId, watch] of this.watches) {
      if (this.options.store.attendee(workshopId, change.learnerId) !== undefined)
        watch.emit({ kind: 'control', ...change });
    }
  }

  // ---- attendees ---------------------------------------------------------

  /** What a join page shows; nothing about the attendees but whether a place is left. */
  publicInfo(code: string): WorkshopPublicInfo {
    const row = this.workshopByCode(code);
    const state = this.stateOf(row);
    const full = this.options.store.attendeeCount(row.id) >= row.capacity;
    const lab = this.labOf(row);
    return {
      code: row.code,
      title: row.title,
      lab: { id: lab.id, title: lab.definition.title },
      startsAt: iso(row.startsAt),
      endsAt: iso(row.endsAt),
      state,
      full,
      open: state === 'open' && !full,
    };
  }

  /**
   * The browser behind `token` (a learner cookie, or none) joins the
   * workshop. A new learner is made only once the workshop is known to take
   * them; `cookie` is then what to set.
   */
  async join(input: unknown, token: string | undefined): Promise<JoinAnswer> {
    const { code: typed, displayName } = parseInput(joinSchema, input);
    const row = this.workshopByCode(typed);
    const { store, learners } = this.options;
    let learner: Learner | undefined = await learners.find(token);
    const already = learner !== undefined && store.attendee(row.id, learner.id) !== undefined;
    this.assertJoinable(row, already);
    let cookie: string | undefined;
    if (learner === undefined) {
      const created = await learners.create();
      learner = created.learner;
      cookie = learners.cookieFor(created.token);
    }
    // The state may have changed during the await; the capacity is checked again in the insert's transaction.
    try {
      this.assertJoinable(this.workshopRow(row.id), already);
    } catch (error) {
      if (isPlatformError(error)) return { ok: false, error, ...(cookie ? { cookie } : {}) };
      throw error;
    }
    const outcome = store.join(row.id, learner.id, displayName, row.capacity, this.now());
    if (outcome.kind === 'full')
      return { ok: false, error: this.fullError(row), ...(cookie ? { cookie } : {}) };
    if (outcome.kind === 'joined') {
      this.options.logger.info(`workshop ${row.id}: learner ${learner.id} joined`);
      this.watches.get(row.id)?.add(outcome.attendee);
    } else {
      this.attendeeChanged(learner.id);
    }
    const result: JoinResult = {
      workshop: this.attendeeWorkshop(row, outcome.attendee),
      labPath: `/labs/${encodeURIComponent(row.labId)}`,
      rejoined: outcome.kind === 'rejoined',
    };
    return { ok: true, result, ...(cookie ? { cookie } : {}) };
  }

  /** The workshop the learner joined last, if any. */
  workshopOf(learnerId: string): AttendeeWorkshop | undefined {
    const attendance = this.options.store.currentAttendance(learnerId);
    if (attendance === undefined) return undefined;
    const row = this.options.store.workshop(attendance.workshopId);
    return row && this.attendeeWorkshop(row, attendance);
  }

  /** The latest broadcast of the learner's current workshop. */
  latestBroadcast(learnerId: string): WorkshopBroadcast | undefined {
    const attendance = this.options.store.currentAttendance(learnerId);
    const [latest] = attendance ? this.options.store.broadcasts(attendance.workshopId, 1) : [];
    return latest && broadcastView(latest);
  }

  watchBroadcasts(learnerId: string, listener: (broadcast: WorkshopBroadcast) => void): () => void {
    let listeners = this.broadcastListeners.get(learnerId);
    if (listeners === undefined) {
      listeners = new Set();
      this.broadcastListeners.set(learnerId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.broadcastListeners.delete(learnerId);
    };
  }

  /** An instructor is resetting the learner: their terminal must not open meanwhile. */
  isResetting(learnerId: string): boolean {
    return this.resetting.has(learnerId);
  }

  /** Something about the learner changed (a session started or ended, a command ran). */
  attendeeChanged(learnerId: string): void {
    for (const watch of this.watches.values()) watch.changed(learnerId);
  }

  close(): void {
    this.unwatchEvents();
    for (const watch of [...this.watches.values()]) watch.dispose();
    this.broadcastListeners.clear();
  }

  // ---- inside ------------------------------------------------------------

  private workshopRow(id: string): WorkshopRow {
    const row = this.options.store.workshop(id);
    if (row === undefined) {
      throw new PlatformError('UNKNOWN_WORKSHOP', 'There is no such workshop.', {
        suggestion: 'Go back to the list of workshops.',
      });
    }
    return row;
  }

  private workshopByCode(typed: string): WorkshopRow {
    const code = normaliseJoinCode(typed);
    const row = code === undefined ? undefined : this.options.store.workshopByCode(code);
    if (row === undefined) {
      throw new PlatformError('UNKNOWN_WORKSHOP', 'There is no workshop with this code.', {
        suggestion: 'Check the link or the code your instructor gave you: 6 letters and digits.',
      });
    }
    return row;
  }

  private labOf(row: WorkshopRow): LoadedLab {
    const lab = this.options.labs.get(row.labId);
    if (lab === undefined) {
      // The lab was removed from this installation after the workshop was made.
      throw new PlatformError('UNKNOWN_LAB', `The lab "${row.labId}" of this workshop is not installed.`, {
        suggestion: 'Ask the operator to install the lab again.',
      });
    }
    return lab;
  }

  private stateOf(row: WorkshopRow): WorkshopState {
    if (row.closedAt !== undefined) return 'closed';
    const now = this.now();
    if (now < row.startsAt) return 'scheduled';
    return now >= row.endsAt ? 'ended' : 'open';
  }

  private assertJoinable(row: WorkshopRow, alreadyAttendee: boolean): void {
    const state = this.stateOf(row);
    if (state === 'scheduled') {
      throw new PlatformError('WORKSHOP_NOT_STARTED', `“${row.title}” has not started yet.`, {
        suggestion: `It opens at ${iso(row.startsAt)}; come back then, with the same link.`,
      });
    }
    if (state === 'closed' || state === 'ended') {
      throw new PlatformError(
        'WORKSHOP_CLOSED',
        state === 'closed' ? `“${row.title}” was closed by its instructor.` : `“${row.title}” is over.`,
        { suggestion: `You can still follow the lab on your own at /labs/${row.labId}.` },
      );
    }
    if (!alreadyAttendee && this.options.store.attendeeCount(row.id) >= row.capacity)
      throw this.fullError(row);
  }

  private fullError(row: WorkshopRow): PlatformError {
    return new PlatformError(
      'WORKSHOP_FULL',
      `“${row.title}” is full: all ${row.capacity} places are taken.`,
      {
        suggestion: 'Ask your instructor for a place or for another workshop’s link.',
      },
    );
  }

  private view(row: WorkshopRow): WorkshopView {
    const lab = this.options.labs.get(row.labId);
    return {
      id: row.id,
      code: row.code,
      joinPath: `/join/${row.code}`,
      labId: row.labId,
      labTitle: lab?.definition.title ?? row.labId,
      title: row.title,
      capacity: row.capacity,
      startsAt: iso(row.startsAt),
      endsAt: iso(row.endsAt),
      createdAt: iso(row.createdAt),
      ...(row.closedAt !== undefined ? { closedAt: iso(row.closedAt) } : {}),
      state: this.stateOf(row),
      attendeeCount: this.options.store.attendeeCount(row.id),
    };
  }

  private attendeeWorkshop(row: WorkshopRow, attendee: AttendeeRow): AttendeeWorkshop {
    return {
      id: row.id,
      title: row.title,
      labId: row.labId,
      state: this.stateOf(row),
      displayName: attendee.displayName,
      joinedAt: iso(attendee.joinedAt),
    };
  }

  private learnerOf(attendee: AttendeeRow): Learner | undefined {
    return this.options.learners.byId(attendee.learnerId);
  }

  /** Every attendee's run of the lab exists (started a few at a time), so states come from the facts. */
  private async ensureRuns(row: WorkshopRow, attendees: readonly AttendeeRow[]): Promise<void> {
    const { runs } = this.options;
    const missing = attendees.filter((attendee) => runs.peek(attendee.learnerId, row.labId) === undefined);
    await inBatches(missing, RUN_START_CONCURRENCY, async (attendee) => {
      const learner = this.learnerOf(attendee);
      if (learner === undefined) return;
      try {
        await runs.run(learner, row.labId);
      } catch (error) {
        this.options.logger.warn(`lab ${row.labId} for learner ${attendee.learnerId}`, error);
      }
    });
  }

  private async subscribeRun(
    row: WorkshopRow,
    attendee: AttendeeRow,
    changed: () => void,
  ): Promise<() => void> {
    const learner = this.learnerOf(attendee);
    const run = learner && (await this.options.runs.run(learner, row.labId));
    return run ? run.watch(changed) : () => undefined;
  }

  private freshAttendeeView(workshopId: string, learnerId: string): AttendeeView | undefined {
    const row = this.options.store.workshop(workshopId);
    const attendee = row && this.options.store.attendee(row.id, learnerId);
    const lab = row && this.options.labs.get(row.labId);
    if (!row || !attendee || !lab) return undefined;
    return this.attendeeView(row, this.stateOf(row), lab, attendee);
  }

  private attendeeView(
    row: WorkshopRow,
    state: WorkshopState,
    lab: LoadedLab,
    attendee: AttendeeRow,
  ): AttendeeView {
    const { progress, runs, terminal } = this.options;
    const { learnerId } = attendee;
    const resetAt = progress.progressResetAt(learnerId, row.labId) ?? 0;
    const statuses = runs.peek(learnerId, row.labId)?.statuses();
    const view = attendeeProgress({
      taskIds: lab.definition.tasks.map((task) => task.id),
      statuses: statuses?.map((status) => ({ taskId: status.taskId, state: status.state })),
      passed: new Map(progress.passedTimes(learnerId, row.labId).map((p) => [p.taskId, p.passedAt])),
      joinedAt: attendee.joinedAt,
      resetAt,
      events: progress.recentEvents(learnerId, EVENTS_READ, resetAt),
      workshopOpen: state === 'open',
      stuckAfterMs: this.stuckAfterMinutes * 60_000,
      now: this.now(),
    });
    const session = terminal.session(learnerId);
    return {
      learnerId,
      displayName: attendee.displayName,
      hubUsername: attendee.username,
      joinedAt: iso(attendee.joinedAt),
      online: session?.state === 'running' && session.attached,
      ...(view.lastActivityAt !== undefined ? { lastActivityAt: view.lastActivityAt } : {}),
      tasks: view.tasks,
      doneCount: view.doneCount,
      stuck: view.stuck,
      recentCommands: view.recentCommands,
    };
  }
}

function broadcastView(row: { message: string; at: number }): WorkshopBroadcast {
  return { message: row.message, at: iso(row.at) };
}

function totalsOf(lab: LoadedLab, views: Iterable<AttendeeView>): WorkshopSnapshot['totals'] {
  const done = new Map(lab.definition.tasks.map((task) => [task.id, 0]));
  for (const view of views) {
    for (const [taskId, cell] of Object.entries(view.tasks)) {
      if (cell.status === 'done' && done.has(taskId)) done.set(taskId, done.get(taskId)! + 1);
    }
  }
  return [...done].map(([taskId, count]) => ({ taskId, done: count }));
}
