/**
 * Workshop messages as the browser receives them (event streams and JSON
 * answers), checked for their shape before use: a malformed message is
 * dropped rather than shown half-understood. Text from them is only ever
 * rendered as text.
 */
import type { AttendeeView, WorkshopBroadcast, WorkshopSnapshot, WorkshopView } from '../../../platform/api';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON in an event's data, or undefined. */
export function eventJson(event: MessageEvent<unknown>): unknown {
  if (typeof event.data !== 'string') return undefined;
  try {
    return JSON.parse(event.data) as unknown;
  } catch {
    return undefined;
  }
}

export function parseBroadcast(value: unknown): WorkshopBroadcast | undefined {
  if (!isObject(value) || typeof value.message !== 'string' || typeof value.at !== 'string') return undefined;
  return { message: value.message, at: value.at };
}

export interface ControlRequest {
  readonly requestId: string;
  readonly watcher: string;
  readonly at: string;
}

export function parseControlRequest(value: unknown): ControlRequest | undefined {
  if (
    !isObject(value) ||
    typeof value.requestId !== 'string' ||
    typeof value.watcher !== 'string' ||
    typeof value.at !== 'string'
  )
    return undefined;
  return { requestId: value.requestId, watcher: value.watcher, at: value.at };
}

export interface ControlChange {
  readonly learnerId: string;
  /** Null when the attendee took control back from every watcher. */
  readonly watcher: string | null;
  readonly granted: boolean;
}

export function parseControlChange(value: unknown): ControlChange | undefined {
  if (
    !isObject(value) ||
    typeof value.learnerId !== 'string' ||
    (typeof value.watcher !== 'string' && value.watcher !== null) ||
    typeof value.granted !== 'boolean'
  )
    return undefined;
  return { learnerId: value.learnerId, watcher: value.watcher, granted: value.granted };
}

function isWorkshop(value: unknown): value is WorkshopView {
  return (
    isObject(value) &&
    typeof value.id === 'string' &&
    typeof value.code === 'string' &&
    typeof value.title === 'string' &&
    typeof value.state === 'string'
  );
}

function isAttendee(value: unknown): value is AttendeeView {
  return (
    isObject(value) &&
    typeof value.learnerId === 'string' &&
    typeof value.displayName === 'string' &&
    isObject(value.tasks) &&
    isObject(value.stuck) &&
    Array.isArray(value.recentCommands)
  );
}

function isTotals(value: unknown): value is WorkshopSnapshot['totals'] {
  return (
    Array.isArray(value) &&
    value.every((item) => isObject(item) && typeof item.taskId === 'string' && typeof item.done === 'number')
  );
}

export function parseSnapshot(value: unknown): WorkshopSnapshot | undefined {
  if (
    !isObject(value) ||
    !isWorkshop(value.workshop) ||
    !Array.isArray(value.tasks) ||
    !Array.isArray(value.attendees) ||
    !value.attendees.every(isAttendee) ||
    !isTotals(value.totals) ||
    !Array.isArray(value.broadcasts)
  )
    return undefined;
  return value as unknown as WorkshopSnapshot;
}

export function parseAttendeeChange(
  value: unknown,
): { attendee: AttendeeView; totals: WorkshopSnapshot['totals'] } | undefined {
  if (!isObject(value) || !isAttendee(value.attendee) || !isTotals(value.totals)) return undefined;
  return { attendee: value.attendee, totals: value.totals };
}

export function parseWorkshop(value: unknown): WorkshopView | undefined {
  return isWorkshop(value) ? value : undefined;
}

/** A refusal's message (`{ error: { message, suggestion } }`), or a plain one for the status. */
export async function refusalMessage(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as unknown;
    if (isObject(body) && isObject(body.error) && typeof body.error.message === 'string') {
      const suggestion = typeof body.error.suggestion === 'string' ? ` ${body.error.suggestion}` : '';
      return `${body.error.message}${suggestion}`;
    }
  } catch {
    // Not JSON: fall through.
  }
  return `The server answered ${response.status}.`;
}

/** "14:05", in the reader's own time zone and locale. */
export function clockTime(iso: string | undefined): string {
  if (iso === undefined) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** "5 min", "2 h 10 min": how long since `iso`, at `now`. */
export function elapsed(iso: string | undefined, now: number): string {
  if (iso === undefined) return '';
  const minutes = Math.max(0, Math.floor((now - new Date(iso).getTime()) / 60_000));
  if (Number.isNaN(minutes)) return '';
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
