'use client';
/**
 * A workshop's live dashboard: attendees (rows) by tasks (columns), kept up
 * to date by the workshop's event stream (GET .../events: `snapshot`, then
 * `attendee`, `workshop`, `broadcast` and `control`) with no reload; per-task
 * totals; who is stuck and on what; each attendee's last commands; sorting
 * and filtering; the CSV export; broadcasts; and per attendee Reset and
 * Watch (WatchPanel).
 */
import Link from 'next/link';
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import type { AttendeeView, WorkshopSnapshot } from '../../../platform/api';
import { STATUS_LABEL, StatusBadge } from '../lab/TaskStatusView';
import { STATE_LABEL } from './InstructorHome';
import { instructorPost, workshopApi } from './instructor-requests';
import {
  clockTime,
  elapsed,
  eventJson,
  parseAttendeeChange,
  parseBroadcast,
  parseControlChange,
  parseSnapshot,
  parseWorkshop,
} from './messages';
import { WatchPanel } from './WatchPanel';

interface Props {
  readonly initialSnapshot: WorkshopSnapshot;
  readonly csrfToken: string;
  readonly nonce: string;
}

type SortKey = 'name' | 'progress' | 'activity' | 'stuck';

const SORTS: Record<SortKey, string> = {
  name: 'Name',
  progress: 'Progress (most done first)',
  activity: 'Last activity (latest first)',
  stuck: 'Stuck first',
};

const isStuck = (attendee: AttendeeView) => attendee.stuck.longOnTask || attendee.stuck.repeatedFailures;

function compare(key: SortKey): (a: AttendeeView, b: AttendeeView) => number {
  const byName = (a: AttendeeView, b: AttendeeView) => a.displayName.localeCompare(b.displayName);
  switch (key) {
    case 'name':
      return byName;
    case 'progress':
      return (a, b) => b.doneCount - a.doneCount || byName(a, b);
    case 'activity':
      return (a, b) => (b.lastActivityAt ?? '').localeCompare(a.lastActivityAt ?? '') || byName(a, b);
    case 'stuck':
      return (a, b) => Number(isStuck(b)) - Number(isStuck(a)) || a.doneCount - b.doneCount || byName(a, b);
  }
}

export function WorkshopDashboard({ initialSnapshot, csrfToken, nonce }: Props) {
  const ids = { filter: useId(), sort: useId(), broadcast: useId() };
  const [snapshot, setSnapshot] = useState(initialSnapshot);
  const [stream, setStream] = useState<'up' | 'down' | 'stopped'>('up');
  const [now, setNow] = useState(() => Date.parse(initialSnapshot.generatedAt));
  const [sort, setSort] = useState<SortKey>('name');
  const [filter, setFilter] = useState('');
  const [onlyStuck, setOnlyStuck] = useState(false);
  const [onlyIncomplete, setOnlyIncomplete] = useState(false);
  const [message, setMessage] = useState('');
  const [sending, setSending] = useState(false);
  const [resetting, setResetting] = useState<{ learnerId: string; clear: boolean } | undefined>();
  const [watching, setWatching] = useState<string | undefined>();
  const [control, setControl] = useState<Record<string, { granted: boolean; serial: number }>>({});
  const [announcement, setAnnouncement] = useState('');
  const [problem, setProblem] = useState('');
  const { workshop, tasks } = snapshot;
  const base = workshopApi(workshop.id);

  useEffect(() => {
    const source = new EventSource(`${base}/events`);
    let serial = 0;
    source.addEventListener('snapshot', (event: MessageEvent<unknown>) => {
      const received = parseSnapshot(eventJson(event));
      if (received) setSnapshot(received);
    });
    source.addEventListener('attendee', (event: MessageEvent<unknown>) => {
      const change = parseAttendeeChange(eventJson(event));
      if (!change) return;
      setSnapshot((current) => {
        const known = current.attendees.some((entry) => entry.learnerId === change.attendee.learnerId);
        return {
          ...current,
          attendees: known
            ? current.attendees.map((entry) =>
                entry.learnerId === change.attendee.learnerId ? change.attendee : entry,
              )
            : [...current.attendees, change.attendee],
          totals: change.totals,
        };
      });
    });
    source.addEventListener('workshop', (event: MessageEvent<unknown>) => {
      const received = parseWorkshop(eventJson(event));
      if (received) setSnapshot((current) => ({ ...current, workshop: received }));
    });
    source.addEventListener('broadcast', (event: MessageEvent<unknown>) => {
      const received = parseBroadcast(eventJson(event));
      if (received)
        setSnapshot((current) =>
          current.broadcasts.some((entry) => entry.at === received.at && entry.message === received.message)
            ? current
            : { ...current, broadcasts: [received, ...current.broadcasts].slice(0, 5) },
        );
    });
    source.addEventListener('control', (event: MessageEvent<unknown>) => {
      const change = parseControlChange(eventJson(event));
      if (!change) return;
      serial += 1;
      setControl((current) => ({ ...current, [change.learnerId]: { granted: change.granted, serial } }));
    });
    source.addEventListener('open', () => setStream('up'));
    // CLOSED: the server refused the stream (signed out, or the session expired); it will not retry.
    source.addEventListener('error', () =>
      setStream(
        source.readyState === EventSource.CLOSED
          ? 'stopped'
          : source.readyState === EventSource.OPEN
            ? 'up'
            : 'down',
      ),
    );
    return () => source.close();
  }, [base]);

  useEffect(() => {
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 30_000);
    return () => clearInterval(timer);
  }, []);

  const shown = useMemo(() => {
    const text = filter.trim().toLowerCase();
    return snapshot.attendees
      .filter((attendee) => {
        if (onlyStuck && !isStuck(attendee)) return false;
        if (onlyIncomplete && attendee.doneCount >= tasks.length) return false;
        if (text === '') return true;
        return (
          attendee.displayName.toLowerCase().includes(text) ||
          attendee.hubUsername.toLowerCase().includes(text)
        );
      })
      .sort(compare(sort));
  }, [snapshot.attendees, filter, onlyStuck, onlyIncomplete, sort, tasks.length]);

  const totals = new Map(snapshot.totals.map((total) => [total.taskId, total.done]));
  const stuckCount = snapshot.attendees.filter(isStuck).length;
  const watched = snapshot.attendees.find((attendee) => attendee.learnerId === watching);

  const sendBroadcast = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = message.trim();
    if (text === '') return;
    setSending(true);
    setProblem('');
    const outcome = await instructorPost(`${base}/broadcast`, csrfToken, { message: text });
    setSending(false);
    if (!outcome.ok) {
      setProblem(outcome.message);
      return;
    }
    setMessage('');
    setAnnouncement('Message sent to every attendee.');
  };

  const reset = async (attendee: AttendeeView, clearProgress: boolean) => {
    setProblem('');
    const outcome = await instructorPost<{
      progressCleared: boolean;
      home: { reset: boolean; message?: string };
    }>(`${base}/attendees/${encodeURIComponent(attendee.learnerId)}/reset`, csrfToken, { clearProgress });
    setResetting(undefined);
    if (!outcome.ok) {
      setProblem(`Reset of ${attendee.displayName} failed: ${outcome.message}`);
      return;
    }
    const home = outcome.value.home.reset
      ? 'their terminal restarts in a fresh home'
      : `their home could not be emptied (${outcome.value.home.message ?? 'unknown reason'})`;
    setAnnouncement(
      `${attendee.displayName} reset: ${home}${outcome.value.progressCleared ? ', progress cleared' : ', progress kept'}.`,
    );
  };

  return (
    <div className="page dashboard-page" data-workshop-id={workshop.id}>
      <p className="breadcrumbs">
        <Link href="/instructor">Your workshops</Link> › {workshop.title}
      </p>
      <div className="page-heading">
        <h1>{workshop.title}</h1>
        <span className={`state-badge state-${workshop.state}`}>{STATE_LABEL[workshop.state]}</span>
      </div>
      <p className="meta">
        {workshop.labTitle} · code <code>{workshop.code}</code> · {snapshot.attendees.length} of{' '}
        {workshop.capacity} joined · {stuckCount} stuck ·{' '}
        <a href={`${base}/progress.csv`} download data-export-csv="">
          Export CSV
        </a>
      </p>
      {stream === 'down' && (
        <p className="stream-note" role="status">
          Live updates paused; reconnecting…
        </p>
      )}
      {stream === 'stopped' && (
        <p className="notice notice-problem" role="alert">
          Live updates stopped. <Link href="/instructor">Sign in again</Link>, then reopen this dashboard.
        </p>
      )}

      <section className="card" aria-labelledby={`${ids.broadcast}-heading`}>
        <h2 id={`${ids.broadcast}-heading`}>Message to every attendee</h2>
        <form className="inline-form" onSubmit={(event) => void sendBroadcast(event)}>
          <label htmlFor={ids.broadcast} className="visually-hidden">
            Message
          </label>
          <input
            id={ids.broadcast}
            type="text"
            value={message}
            onChange={(event) => setMessage(event.target.value)}
            maxLength={500}
            placeholder="Five more minutes on task 2, then we move on."
          />
          <button type="submit" className="button" disabled={sending || message.trim() === ''}>
            {sending ? 'Sending…' : 'Send'}
          </button>
        </form>
        {snapshot.broadcasts.length > 0 && (
          <ul className="broadcast-list">
            {snapshot.broadcasts.map((broadcast) => (
              <li key={`${broadcast.at}-${broadcast.message}`}>
                <time dateTime={broadcast.at} suppressHydrationWarning>
                  {clockTime(broadcast.at)}
                </time>{' '}
                {broadcast.message}
              </li>
            ))}
          </ul>
        )}
      </section>

      <div className="dashboard-controls" role="group" aria-label="Sort and filter the attendees">
        <div className="field-inline">
          <label htmlFor={ids.filter}>Find</label>
          <input
            id={ids.filter}
            type="search"
            value={filter}
            onChange={(event) => setFilter(event.target.value)}
            placeholder="Name or hub login"
          />
        </div>
        <div className="field-inline">
          <label htmlFor={ids.sort}>Sort by</label>
          <select id={ids.sort} value={sort} onChange={(event) => setSort(event.target.value as SortKey)}>
            {(Object.keys(SORTS) as SortKey[]).map((key) => (
              <option key={key} value={key}>
                {SORTS[key]}
              </option>
            ))}
          </select>
        </div>
        <label className="switch">
          <input
            type="checkbox"
            checked={onlyStuck}
            onChange={(event) => setOnlyStuck(event.target.checked)}
          />
          Only stuck
        </label>
        <label className="switch">
          <input
            type="checkbox"
            checked={onlyIncomplete}
            onChange={(event) => setOnlyIncomplete(event.target.checked)}
          />
          Only incomplete
        </label>
      </div>

      {snapshot.attendees.length === 0 ? (
        <p>
          Nobody has joined yet. Share the join link <code>{workshop.joinPath}</code> or the code{' '}
          <code>{workshop.code}</code>.
        </p>
      ) : (
        <div className="table-scroll">
          <table className="progress-grid" aria-label="Progress of each attendee by task">
            <thead>
              <tr>
                <th scope="col">Attendee</th>
                {tasks.map((task, index) => (
                  <th scope="col" key={task.id} data-task-column={task.id}>
                    <span className="task-number">Task {index + 1}</span> {task.title}
                  </th>
                ))}
                <th scope="col">Last commands</th>
                <th scope="col">Help</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((attendee) => (
                <AttendeeRow
                  key={attendee.learnerId}
                  attendee={attendee}
                  tasks={tasks}
                  now={now}
                  stuckAfterMinutes={snapshot.stuckAfterMinutes}
                  resetting={resetting?.learnerId === attendee.learnerId ? resetting : undefined}
                  watching={watching === attendee.learnerId}
                  onAskReset={() => setResetting({ learnerId: attendee.learnerId, clear: false })}
                  onResetChoice={(clear) => setResetting({ learnerId: attendee.learnerId, clear })}
                  onCancelReset={() => setResetting(undefined)}
                  onConfirmReset={(clear) => void reset(attendee, clear)}
                  onWatch={() => setWatching(attendee.learnerId)}
                />
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Done</th>
                {tasks.map((task) => (
                  <td key={task.id} data-task-total={task.id}>
                    {totals.get(task.id) ?? 0} of {snapshot.attendees.length}
                  </td>
                ))}
                <td colSpan={2} />
              </tr>
            </tfoot>
          </table>
          {shown.length === 0 && <p>No attendee matches these filters.</p>}
        </div>
      )}

      {problem !== '' && (
        <p className="notice notice-problem" role="alert">
          {problem}
        </p>
      )}
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
      {announcement !== '' && (
        <p className="notice notice-info" aria-hidden="true">
          {announcement}
        </p>
      )}

      {watched && (
        <WatchPanel
          key={watched.learnerId}
          workshopId={workshop.id}
          learnerId={watched.learnerId}
          displayName={watched.displayName}
          csrfToken={csrfToken}
          nonce={nonce}
          controlEvent={control[watched.learnerId]}
          onClose={() => setWatching(undefined)}
        />
      )}
    </div>
  );
}

interface RowProps {
  readonly attendee: AttendeeView;
  readonly tasks: WorkshopSnapshot['tasks'];
  readonly now: number;
  readonly stuckAfterMinutes: number;
  readonly resetting: { clear: boolean } | undefined;
  readonly watching: boolean;
  readonly onAskReset: () => void;
  readonly onResetChoice: (clear: boolean) => void;
  readonly onCancelReset: () => void;
  readonly onConfirmReset: (clear: boolean) => void;
  readonly onWatch: () => void;
}

function lastActive(at: string, now: number): string {
  const since = elapsed(at, now);
  return since === '0 min' ? 'active just now' : `active ${since} ago`;
}

function AttendeeRow({
  attendee,
  tasks,
  now,
  stuckAfterMinutes,
  resetting,
  watching,
  onAskReset,
  onResetChoice,
  onCancelReset,
  onConfirmReset,
  onWatch,
}: RowProps) {
  const stuck = isStuck(attendee);
  const radioName = `reset-${attendee.learnerId}`;
  return (
    <tr
      data-attendee-row={attendee.learnerId}
      data-stuck={stuck ? 'true' : 'false'}
      className={stuck ? 'attendee-stuck' : undefined}
    >
      <th scope="row" className="attendee-cell">
        <span className="attendee-name">{attendee.displayName}</span>{' '}
        <span className={`presence ${attendee.online ? 'presence-online' : 'presence-offline'}`}>
          {attendee.online ? 'online' : 'offline'}
        </span>
        <span className="meta attendee-meta">
          {attendee.hubUsername} · {attendee.doneCount} of {tasks.length} done
          {attendee.lastActivityAt && <> · {lastActive(attendee.lastActivityAt, now)}</>}
        </span>
        {attendee.stuck.longOnTask && (
          <span className="stuck-flag" data-stuck-flag="long-on-task">
            <span aria-hidden="true">⚠ </span>Stuck: no task done for{' '}
            {elapsed(attendee.stuck.lastProgressAt, now) || `over ${stuckAfterMinutes} min`}
          </span>
        )}
        {attendee.stuck.repeatedFailures && attendee.stuck.failing && (
          <span className="stuck-flag" data-stuck-flag="repeated-failures">
            <span aria-hidden="true">⚠ </span>Failing {attendee.stuck.failing.count}× in a row:{' '}
            <code>
              {attendee.stuck.failing.command}
              {attendee.stuck.failing.reference ? ` ${attendee.stuck.failing.reference}` : ''}
            </code>{' '}
            ({attendee.stuck.failing.outcome})
          </span>
        )}
      </th>
      {tasks.map((task) => {
        const cell = attendee.tasks[task.id] ?? { status: 'pending' as const };
        return (
          <td
            key={task.id}
            className={`task-cell task-cell-${cell.status}`}
            data-attendee={attendee.learnerId}
            data-task-id={task.id}
            data-task-status={cell.status}
            aria-label={`${attendee.displayName}, ${task.title}: ${STATUS_LABEL[cell.status]}`}
          >
            <StatusBadge status={cell.status} />
            {cell.passedAt && (
              <time className="cell-time" dateTime={cell.passedAt} suppressHydrationWarning>
                {clockTime(cell.passedAt)}
              </time>
            )}
          </td>
        );
      })}
      <td className="commands-cell">
        {attendee.recentCommands.length === 0 ? (
          <span className="meta">none yet</span>
        ) : (
          <ol className="command-list">
            {attendee.recentCommands.map((command, index) => (
              <li key={`${command.at}-${index}`} className={command.failed ? 'command-failed' : undefined}>
                <code>
                  {command.command}
                  {command.reference ? ` ${command.reference}` : ''}
                </code>{' '}
                <span className="meta">
                  {command.failed ? '✗' : '✓'} {command.outcome}
                </span>
              </li>
            ))}
          </ol>
        )}
      </td>
      <td className="actions-cell">
        <div className="actions">
          <button
            type="button"
            className="tool-button"
            onClick={onWatch}
            disabled={watching}
            aria-label={`Watch ${attendee.displayName}`}
          >
            {watching ? 'Watching' : 'Watch'}
          </button>
          <button
            type="button"
            className="tool-button"
            onClick={onAskReset}
            aria-expanded={resetting !== undefined}
            aria-label={`Reset ${attendee.displayName}`}
          >
            Reset
          </button>
        </div>
        {resetting && (
          <fieldset className="reset-confirm" data-reset-confirm={attendee.learnerId}>
            <legend>Reset {attendee.displayName}’s terminal?</legend>
            <p className="meta">Their shell stops and restarts in a fresh home.</p>
            <label>
              <input
                type="radio"
                name={radioName}
                checked={!resetting.clear}
                onChange={() => onResetChoice(false)}
              />{' '}
              Keep progress
            </label>
            <label>
              <input
                type="radio"
                name={radioName}
                checked={resetting.clear}
                onChange={() => onResetChoice(true)}
              />{' '}
              Clear progress
            </label>
            <div className="actions">
              <button type="button" className="button" onClick={() => onConfirmReset(resetting.clear)}>
                Confirm reset
              </button>
              <button type="button" className="tool-button" onClick={onCancelReset}>
                Cancel
              </button>
            </div>
          </fieldset>
        )}
      </td>
    </tr>
  );
}
