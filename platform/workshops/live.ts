/**
 * One workshop's live dashboard data, shared by every dashboard stream open
 * on it, and dropped when the last one closes.
 *
 * It listens to each attendee's lab run (task states evaluated on the
 * server from the facts), to their commands and terminal sessions (through
 * `changed`), and to joins (`add`). A change marks the attendee; marked
 * attendees are recomputed together a moment later (a burst of events from
 * one command makes one update) and sent as `attendee` changes with the new
 * totals. A timer flips `longOnTask` when an attendee's quiet spell passes
 * the threshold, with no query: it keeps each attendee's last view.
 *
 * What it holds is bounded by the attendees: one small view and one
 * subscription each.
 */
import type { PlatformLogger } from '../logger.js';
import type { AttendeeRow } from './store.js';
import type { AttendeeView, WorkshopChange, WorkshopSnapshot } from './types.js';

/** Changes gathered before one update goes out: well under what a person notices. */
const GATHER_MS = 30;
/** How often quiet spells are looked at. */
const STUCK_CHECK_MS = 15_000;
/** Attendees subscribed to at once when a dashboard opens. */
const SUBSCRIBE_CONCURRENCY = 4;

export interface WorkshopWatchOptions {
  workshopId: string;
  stuckAfterMs: number;
  now: () => number;
  attendees(): AttendeeRow[];
  /** Calls `changed` whenever the attendee's task states change; resolves to the unsubscribe. */
  subscribe(attendee: AttendeeRow, changed: () => void): Promise<() => void>;
  view(learnerId: string): AttendeeView | undefined;
  totals(views: Iterable<AttendeeView>): WorkshopSnapshot['totals'];
  logger: PlatformLogger;
  /** The last listener left. */
  disposed(): void;
}

export class WorkshopWatch {
  private readonly listeners = new Set<(change: WorkshopChange) => void>();
  private readonly views = new Map<string, AttendeeView>();
  private readonly unsubscribes = new Map<string, () => void>();
  private readonly marked = new Set<string>();
  private gather: ReturnType<typeof setTimeout> | undefined;
  private readonly stuckTimer: ReturnType<typeof setInterval>;
  private disposed = false;

  constructor(private readonly options: WorkshopWatchOptions) {
    this.stuckTimer = setInterval(
      () => this.checkQuietSpells(),
      Math.min(STUCK_CHECK_MS, options.stuckAfterMs),
    );
    this.stuckTimer.unref();
    void this.subscribeAll(options.attendees());
  }

  listen(listener: (change: WorkshopChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.dispose();
    };
  }

  emit(change: WorkshopChange): void {
    for (const listener of this.listeners) listener(change);
  }

  /** A new attendee joined. */
  add(attendee: AttendeeRow): void {
    if (this.disposed) return;
    void this.subscribeAll([attendee]);
    this.changed(attendee.learnerId);
  }

  /** Something about the learner changed; ignored unless they attend this workshop. */
  changed(learnerId: string): void {
    if (this.disposed || !this.unsubscribes.has(learnerId)) return;
    this.marked.add(learnerId);
    this.gather ??= setTimeout(() => this.flush(), GATHER_MS);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearInterval(this.stuckTimer);
    if (this.gather !== undefined) clearTimeout(this.gather);
    for (const unsubscribe of this.unsubscribes.values()) unsubscribe();
    this.unsubscribes.clear();
    this.views.clear();
    this.listeners.clear();
    this.options.disposed();
  }

  private async subscribeAll(attendees: readonly AttendeeRow[]): Promise<void> {
    const queue = attendees.filter((attendee) => !this.unsubscribes.has(attendee.learnerId));
    // Known at once, so that their changes count even before their run is subscribed.
    for (const attendee of queue) this.unsubscribes.set(attendee.learnerId, () => undefined);
    const worker = async () => {
      for (let attendee = queue.shift(); attendee !== undefined; attendee = queue.shift()) {
        if (this.disposed) return;
        try {
          const unsubscribe = await this.options.subscribe(attendee, () => this.changed(attendee.learnerId));
          if (this.disposed) unsubscribe();
          else this.unsubscribes.set(attendee.learnerId, unsubscribe);
        } catch (error) {
          this.options.logger.warn(`watching learner ${attendee.learnerId}`, error);
        }
      }
    };
    await Promise.all(Array.from({ length: SUBSCRIBE_CONCURRENCY }, worker));
  }

  private flush(): void {
    this.gather = undefined;
    if (this.disposed) return;
    const learners = [...this.marked];
    this.marked.clear();
    const updated: AttendeeView[] = [];
    for (const learnerId of learners) {
      const view = this.options.view(learnerId);
      if (view === undefined) continue;
      const previous = this.views.get(learnerId);
      this.views.set(learnerId, view);
      // A change that changes nothing shown (a recheck, a quiet spell not yet over) is not sent.
      if (previous === undefined || JSON.stringify(previous) !== JSON.stringify(view)) updated.push(view);
    }
    if (updated.length === 0) return;
    // Totals need every attendee's view: those never seen here are computed once.
    for (const attendee of this.views.size < this.unsubscribes.size ? this.options.attendees() : []) {
      if (!this.views.has(attendee.learnerId)) {
        const view = this.options.view(attendee.learnerId);
        if (view) this.views.set(attendee.learnerId, view);
      }
    }
    const totals = this.options.totals(this.views.values());
    for (const attendee of updated) this.emit({ kind: 'attendee', attendee, totals });
  }

  /** Marks those whose quiet spell crossed the threshold since their last view. */
  private checkQuietSpells(): void {
    const now = this.options.now();
    for (const view of this.views.values()) {
      const quiet = now - Date.parse(view.stuck.lastProgressAt) > this.options.stuckAfterMs;
      const unfinished = view.doneCount < Object.keys(view.tasks).length;
      if (quiet && unfinished && !view.stuck.longOnTask) this.changed(view.learnerId);
    }
  }
}
