/**
 * The engine for one attendee's session of one lab: runs the lab's checks
 * over the session's facts when new facts arrive (debounced) or when asked,
 * and reports each task's status as it changes.
 *
 * - A task that passed stays passed: the caller persists passed tasks and
 *   hands them back through `passed`; they are never checked again.
 * - The engine does no I/O: everything goes through SessionFacts, memoised
 *   for the length of one run so the tasks of a run see the same facts.
 * - Runs never overlap; asking for a run during one queues a single next.
 * - A check that throws or hangs is a bug, not the learner's doing: its
 *   task keeps its status and the error is reported through `check-error`.
 */
import { EventEmitter } from 'node:events';
import type { CheckResult, LabDefinition, TaskState } from './definition.js';
import { LabError } from './errors.js';
import type { SessionFacts } from './facts.js';

export interface TaskStatus {
  taskId: string;
  state: TaskState;
  /** Why the task is not done (what is missing, or what went wrong). */
  reason?: string;
  /** What to try next. */
  suggestion?: string;
}

export interface StatusChange extends TaskStatus {
  session: string;
  lab: string;
}

export interface LabSessionOptions {
  lab: LabDefinition;
  facts: SessionFacts;
  attendee: { username: string };
  /** Tasks already passed in this session, as persisted by the caller. */
  passed?: Iterable<string>;
  /**
   * Quiet time after the last new fact before checks run (ms). Short: the
   * last fact of a command (its client event) comes as it exits, so this
   * is most of the delay between a prompt returning and its tick (see
   * bench/ticks.bench.ts); a push's burst of hub requests still coalesces.
   */
  debounceMs?: number;
  /** Longest a steady stream of facts can hold checks back (ms). */
  maxDelayMs?: number;
  /** Longest one check may take (ms). */
  checkTimeoutMs?: number;
}

export interface LabSessionEvents {
  status: [StatusChange];
  'check-error': [LabError];
}

/** Caches each fact for one run, so the tasks of a run agree and a fact is read once. */
function memoised(facts: SessionFacts): SessionFacts {
  const cache = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, read: () => Promise<T>): Promise<T> => {
    let value = cache.get(key) as Promise<T> | undefined;
    if (value === undefined) {
      value = read();
      cache.set(key, value);
    }
    return value;
  };
  return {
    session: facts.session,
    records: (query = {}) =>
      once(`records:${JSON.stringify([query.repository, query.gun, query.since])}`, () =>
        facts.records(query),
      ),
    events: () => once('events', () => facts.events()),
    readHomeFile: (rel) => once(`file:${rel}`, () => facts.readHomeFile(rel)),
    listHomeDir: (rel) => once(`dir:${rel}`, () => facts.listHomeDir(rel)),
    trustData: (gun) => once(`trust:${gun}`, () => facts.trustData(gun)),
    ...(facts.tokenKeys ? { tokenKeys: () => once('token', () => facts.tokenKeys!()) } : {}),
  };
}

function validResult(result: unknown): result is CheckResult {
  if (typeof result !== 'object' || result === null) return false;
  const { state, reason, suggestion } = result as Record<string, unknown>;
  if (state === 'done') return true;
  if (state !== 'pending' && state !== 'failed') return false;
  if (typeof reason !== 'string' || reason === '') return false;
  return state === 'pending'
    ? suggestion === undefined || typeof suggestion === 'string'
    : typeof suggestion === 'string';
}

function sameStatus(a: TaskStatus, b: TaskStatus): boolean {
  return a.state === b.state && a.reason === b.reason && a.suggestion === b.suggestion;
}

export class LabSession extends EventEmitter<LabSessionEvents> {
  readonly lab: LabDefinition;
  private readonly facts: SessionFacts;
  private readonly attendee: { username: string };
  private readonly passedTasks: Set<string>;
  private readonly current = new Map<string, TaskStatus>();
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly checkTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private burstStart: number | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private unwatch: (() => void) | undefined;
  private closed = false;

  constructor(options: LabSessionOptions) {
    super();
    this.lab = options.lab;
    this.facts = options.facts;
    this.attendee = options.attendee;
    this.debounceMs = options.debounceMs ?? 40;
    this.maxDelayMs = options.maxDelayMs ?? 1000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 10_000;
    const known = new Set(this.lab.tasks.map((task) => task.id));
    this.passedTasks = new Set([...(options.passed ?? [])].filter((id) => known.has(id)));
    for (const task of this.lab.tasks) {
      this.current.set(task.id, {
        taskId: task.id,
        state: this.passedTasks.has(task.id) ? 'done' : 'pending',
      });
    }
  }

  get session(): string {
    return this.facts.session;
  }

  /** Subscribes to new facts and runs the checks once. */
  start(): Promise<TaskStatus[]> {
    if (this.unwatch === undefined && this.facts.watch) this.unwatch = this.facts.watch(() => this.notify());
    return this.run();
  }

  statuses(): TaskStatus[] {
    return this.lab.tasks.map((task) => ({ ...this.current.get(task.id)! }));
  }

  passed(): string[] {
    return this.lab.tasks.filter((task) => this.passedTasks.has(task.id)).map((task) => task.id);
  }

  /** New facts may have arrived: run the checks once things are quiet. */
  notify(): void {
    if (this.closed) return;
    const now = Date.now();
    this.burstStart ??= now;
    if (this.timer !== undefined) clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.burstStart + this.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.burstStart = undefined;
      void this.run();
    }, wait);
  }

  /** Runs every check not yet passed now (after the run in progress, if any); resolves to the statuses. */
  run(): Promise<TaskStatus[]> {
    if (this.closed) return Promise.resolve(this.statuses());
    let next = this.queued;
    if (next === undefined) {
      const previous = this.running ?? Promise.resolve();
      const scheduled: Promise<void> = previous.then(async () => {
        this.queued = undefined;
        this.running = scheduled;
        try {
          await this.checkAll();
        } finally {
          if (this.running === scheduled) this.running = undefined;
        }
      });
      this.queued = scheduled;
      next = scheduled;
    }
    return next.then(() => this.statuses());
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  private async checkAll(): Promise<void> {
    const facts = memoised(this.facts);
    for (const task of this.lab.tasks) {
      if (this.closed) return;
      if (this.passedTasks.has(task.id)) continue;
      let result: unknown;
      try {
        result = await this.withTimeout(task.check({ facts, attendee: this.attendee }), task.id);
      } catch (cause) {
        this.report(
          cause instanceof LabError
            ? cause
            : new LabError('CHECK_FAILED', `${this.lab.id}/${task.id}: the check failed`, { cause }),
        );
        continue;
      }
      if (!validResult(result)) {
        this.report(
          new LabError('CHECK_FAILED', `${this.lab.id}/${task.id}: the check returned no valid result`),
        );
        continue;
      }
      this.update(task.id, result);
    }
  }

  private withTimeout<T>(promise: Promise<T>, taskId: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new LabError(
              'CHECK_TIMEOUT',
              `${this.lab.id}/${taskId}: the check took longer than ${this.checkTimeoutMs} ms`,
            ),
          ),
        this.checkTimeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private report(error: LabError): void {
    if (this.listenerCount('check-error') > 0) this.emit('check-error', error);
    else console.error('[labs]', error);
  }

  private update(taskId: string, result: CheckResult): void {
    const status: TaskStatus = { taskId, state: result.state };
    if (result.state !== 'done') {
      status.reason = result.reason;
      if (result.suggestion !== undefined) status.suggestion = result.suggestion;
    }
    if (result.state === 'done') this.passedTasks.add(taskId);
    const previous = this.current.get(taskId)!;
    if (sameStatus(previous, status)) return;
    this.current.set(taskId, status);
    this.emit('status', { ...status, session: this.session, lab: this.lab.id });
  }
}
