/**
 * Task states as the browser receives them (the status stream and the Check
 * button's answer), checked before use: a malformed message is dropped
 * rather than shown half-understood.
 */
import type { TaskState, TaskStatus } from '../../../platform/api';

const STATUSES: readonly TaskStatus[] = ['pending', 'done', 'failed'];

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function isTaskState(value: unknown): value is TaskState {
  if (typeof value !== 'object' || value === null) return false;
  const state = value as Record<string, unknown>;
  return (
    typeof state.taskId === 'string' &&
    STATUSES.includes(state.status as TaskStatus) &&
    (state.reason === undefined || typeof state.reason === 'string') &&
    (state.suggestion === undefined || typeof state.suggestion === 'string') &&
    isStringList(state.hints) &&
    (state.hintsHtml === undefined || isStringList(state.hintsHtml))
  );
}

/** The states in `value`, or undefined when it is not a list of task states. */
export function parseTaskStates(value: unknown): readonly TaskState[] | undefined {
  if (!Array.isArray(value) || !value.every(isTaskState)) return undefined;
  return value;
}

/** The states in a status event (a bare list) or a check's answer (`{ tasks: [...] }`). */
export function taskStatesIn(body: unknown): readonly TaskState[] | undefined {
  const direct = parseTaskStates(body);
  if (direct) return direct;
  if (typeof body !== 'object' || body === null) return undefined;
  return parseTaskStates((body as { tasks?: unknown }).tasks);
}
