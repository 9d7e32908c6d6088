/**
 * One attendee as the instructor's dashboard shows them, computed from
 * what the platform already keeps: the lab engine's task statuses, the
 * passed tasks with their times, and the client events of their commands.
 *
 * Stuck flags:
 * - `longOnTask`: the workshop is open, some task is not done, and no task
 *   was done for longer than the threshold since the attendee's last
 *   progress (the latest of joining, their last reset, their last task done);
 * - `repeatedFailures`: derived from client events, not from the engine.
 *   The engine reports a task's state only when it changes, so the same
 *   failure repeated leaves no trace there; each command, though, sends an
 *   event with its outcome. The flag is set when the same command (its
 *   name and what it was about) ended with a failing outcome 3 times or
 *   more in a row since the last progress; a success of that command
 *   starts its count again.
 *
 * Client events carry no secrets by contract (client/src/cli/events.ts);
 * fields whose names speak of passwords, secrets, tokens or keys are
 * dropped anyway before anything else reads them, in case a future client
 * gets that wrong.
 */
import type { TaskStatus } from '../api.js';
import type { StoredEvent } from '../progress-store.js';
import type { AttendeeCommand, AttendeeStuck, AttendeeTaskCell } from './types.js';

/** Commands an attendee's entry lists. */
export const RECENT_COMMANDS = 5;
/** Failures of one command in a row that flag an attendee. */
export const FAILURE_REPEATS = 3;
/** Events read per attendee for both (the newest; a streak longer than this is long enough). */
export const EVENTS_READ = 50;

/** How docker's and notary's commands end when nothing went wrong (client/src/docker/events.ts). */
const SUCCESS_OUTCOMES = new Set([
  'OK',
  'LOGGED_IN',
  'LOGGED_OUT',
  'PULLED',
  'VERIFIED',
  'PUSHED',
  'SIGNED',
  'TAGGED',
  'REMOVED',
]);

export function isFailingOutcome(outcome: string): boolean {
  return !SUCCESS_OUTCOMES.has(outcome);
}

const SECRET_NAME = /pass|secret|token|key|credential|auth|pin$/i;
const OUTCOME = /^[A-Z][A-Z_]{0,39}$/;

/** The event's fields minus any whose name speaks of secret material, and minus anything not a scalar. */
export function withoutSecrets(fields: unknown): Record<string, string | number | boolean> {
  const kept: Record<string, string | number | boolean> = {};
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return kept;
  for (const [name, value] of Object.entries(fields)) {
    if (SECRET_NAME.test(name)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      kept[name] = value;
  }
  return kept;
}

/** One stored event as a command line of the dashboard, or undefined for anything malformed. */
export function commandOf(event: StoredEvent): AttendeeCommand | undefined {
  const fields = withoutSecrets(event.fields);
  const { command, outcome } = fields;
  if (typeof command !== 'string' || command === '' || command.length > 100) return undefined;
  if (typeof outcome !== 'string' || !OUTCOME.test(outcome)) return undefined;
  // docker's events name an image reference, notary's a GUN.
  const about = typeof fields.reference === 'string' ? fields.reference : fields.gun;
  const reference = typeof about === 'string' && about !== '' ? about.slice(0, 512) : undefined;
  return {
    command,
    outcome,
    ...(reference !== undefined ? { reference } : {}),
    failed: isFailingOutcome(outcome),
    at: new Date(event.receivedAt).toISOString(),
  };
}

/** The longest current streak of one command's failures among `commands` (oldest first), if 3 or more. */
export function repeatedFailure(commands: readonly AttendeeCommand[]): AttendeeStuck['failing'] {
  const streaks = new Map<string, { command: AttendeeCommand; count: number }>();
  for (const command of commands) {
    const key = `${command.command}\0${command.reference ?? ''}`;
    if (!command.failed) {
      streaks.delete(key);
      continue;
    }
    streaks.set(key, { command, count: (streaks.get(key)?.count ?? 0) + 1 });
  }
  let worst: { command: AttendeeCommand; count: number } | undefined;
  for (const streak of streaks.values()) if (!worst || streak.count >= worst.count) worst = streak;
  if (worst === undefined || worst.count < FAILURE_REPEATS) return undefined;
  const { command, outcome, reference } = worst.command;
  return { command, outcome, count: worst.count, ...(reference !== undefined ? { reference } : {}) };
}

export interface AttendeeFacts {
  readonly taskIds: readonly string[];
  /** The engine's statuses when a run of the lab is in memory; else the passed tasks decide. */
  readonly statuses: ReadonlyArray<{ readonly taskId: string; readonly state: TaskStatus }> | undefined;
  readonly passed: ReadonlyMap<string, number>;
  readonly joinedAt: number;
  /** The last reset of their progress in the lab, 0 when none. */
  readonly resetAt: number;
  /** Their newest events since the reset, newest first. */
  readonly events: readonly StoredEvent[];
  readonly workshopOpen: boolean;
  readonly stuckAfterMs: number;
  readonly now: number;
}

export interface AttendeeProgress {
  readonly tasks: Record<string, AttendeeTaskCell>;
  readonly doneCount: number;
  readonly stuck: AttendeeStuck;
  readonly recentCommands: AttendeeCommand[];
  readonly lastActivityAt: string | undefined;
}

export function attendeeProgress(facts: AttendeeFacts): AttendeeProgress {
  const states = new Map(facts.statuses?.map((status) => [status.taskId, status.state]));
  const tasks: Record<string, AttendeeTaskCell> = {};
  let doneCount = 0;
  let lastDone = 0;
  for (const taskId of facts.taskIds) {
    const passedAt = facts.passed.get(taskId);
    const status = states.get(taskId) ?? (passedAt !== undefined ? 'done' : 'pending');
    if (status === 'done') {
      doneCount++;
      if (passedAt !== undefined) lastDone = Math.max(lastDone, passedAt);
    }
    tasks[taskId] = {
      status,
      ...(status === 'done' && passedAt !== undefined ? { passedAt: new Date(passedAt).toISOString() } : {}),
    };
  }
  const lastProgress = Math.max(facts.joinedAt, facts.resetAt, lastDone);
  const commands: AttendeeCommand[] = [];
  const sinceProgress: AttendeeCommand[] = [];
  for (const event of facts.events) {
    const command = commandOf(event);
    if (command === undefined) continue;
    if (commands.length < RECENT_COMMANDS) commands.push(command);
    if (event.receivedAt >= lastProgress) sinceProgress.push(command);
  }
  const failing = repeatedFailure(sinceProgress.reverse());
  const allDone = doneCount === facts.taskIds.length;
  return {
    tasks,
    doneCount,
    stuck: {
      longOnTask: facts.workshopOpen && !allDone && facts.now - lastProgress > facts.stuckAfterMs,
      repeatedFailures: failing !== undefined,
      lastProgressAt: new Date(lastProgress).toISOString(),
      ...(failing !== undefined ? { failing } : {}),
    },
    recentCommands: commands,
    lastActivityAt: facts.events[0] && new Date(facts.events[0].receivedAt).toISOString(),
  };
}
