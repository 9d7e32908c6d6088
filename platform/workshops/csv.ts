/**
 * The workshop's progress as CSV (RFC 4180: CRLF line ends, a field with
 * a comma, quote or line break in double quotes, quotes doubled).
 *
 * Display names are typed by attendees, and a spreadsheet takes a cell
 * that starts with `=`, `+`, `-` or `@` (or a tab or carriage return that
 * hides one) for a formula: such a cell gets a leading apostrophe, as
 * OWASP's "CSV injection" advice says, so it is shown as text. The
 * platform's own numbers are not text and are written as they are.
 */
import type { WorkshopSnapshot } from './types.js';

const FORMULA_START = /^[=+\-@\t\r]/;

export type CsvValue = string | number | boolean | undefined;

export function csvCell(value: CsvValue): string {
  if (value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(rows: ReadonlyArray<readonly CsvValue[]>): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

/** One row per attendee: who, then each task's status and when it passed, then the stuck flags. */
export function progressCsv(snapshot: WorkshopSnapshot): string {
  const header: CsvValue[] = ['display_name', 'learner_id', 'hub_username', 'joined_at', 'online', 'done'];
  for (const task of snapshot.tasks) header.push(task.id, `${task.id}_passed_at`);
  header.push('long_on_task', 'repeated_failures', 'last_progress_at');
  const rows: CsvValue[][] = [header];
  for (const attendee of snapshot.attendees) {
    const row: CsvValue[] = [
      attendee.displayName,
      attendee.learnerId,
      attendee.hubUsername,
      attendee.joinedAt,
      attendee.online,
      attendee.doneCount,
    ];
    for (const task of snapshot.tasks) {
      const cell = attendee.tasks[task.id];
      row.push(cell?.status ?? 'pending', cell?.passedAt);
    }
    row.push(attendee.stuck.longOnTask, attendee.stuck.repeatedFailures, attendee.stuck.lastProgressAt);
    rows.push(row);
  }
  return toCsv(rows);
}
