'use client';
/**
 * The signed-in instructor's workshops: each with its state, join link
 * (absolute, to share) and code, a link to its dashboard and a Close
 * button; the form for a new workshop; signing out.
 */
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { WorkshopView } from '../../../platform/api';
import { instructorPost, workshopApi } from './instructor-requests';
import { clockTime } from './messages';

interface LabChoice {
  readonly id: string;
  readonly title: string;
  readonly durationMinutes: number;
}

interface Props {
  readonly csrfToken: string;
  readonly initialWorkshops: readonly WorkshopView[];
  readonly labs: readonly LabChoice[];
}

export const STATE_LABEL: Record<WorkshopView['state'], string> = {
  scheduled: 'Not started',
  open: 'Open',
  ended: 'Ended',
  closed: 'Closed',
};

/** `yyyy-mm-ddThh:mm` in local time, as a datetime-local input takes it. */
function localInput(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function InstructorHome({ csrfToken, initialWorkshops, labs }: Props) {
  const router = useRouter();
  const ids = { lab: useId(), title: useId(), capacity: useId(), starts: useId(), ends: useId() };
  const [workshops, setWorkshops] = useState(initialWorkshops);
  const [origin, setOrigin] = useState('');
  const [lab, setLab] = useState(labs[0]?.id ?? '');
  const [title, setTitle] = useState('');
  const [capacity, setCapacity] = useState('30');
  const [startsAt, setStartsAt] = useState('');
  const [endsAt, setEndsAt] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const [announcement, setAnnouncement] = useState('');

  // Times and addresses of this browser: known only once the page runs in it.
  useEffect(() => {
    setOrigin(window.location.origin);
    const now = new Date();
    now.setSeconds(0, 0);
    setStartsAt(localInput(now));
    setEndsAt(localInput(new Date(now.getTime() + 3 * 60 * 60 * 1000)));
  }, []);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setProblem('');
    const starts = new Date(startsAt);
    const ends = new Date(endsAt);
    if (Number.isNaN(starts.getTime()) || Number.isNaN(ends.getTime())) {
      setProblem('Give a start and an end.');
      return;
    }
    if (ends <= starts) {
      setProblem('The end must come after the start.');
      return;
    }
    setBusy(true);
    const outcome = await instructorPost<{ workshop: WorkshopView }>('/api/instructor/workshops', csrfToken, {
      lab,
      title: title.trim(),
      capacity: Number(capacity),
      startsAt: starts.toISOString(),
      endsAt: ends.toISOString(),
    });
    setBusy(false);
    if (!outcome.ok) {
      setProblem(outcome.message);
      return;
    }
    setWorkshops((current) => [
      outcome.value.workshop,
      ...current.filter((w) => w.id !== outcome.value.workshop.id),
    ]);
    setTitle('');
    setAnnouncement(
      `Workshop “${outcome.value.workshop.title}” created; its code is ${outcome.value.workshop.code}.`,
    );
  };

  const close = async (workshop: WorkshopView) => {
    setProblem('');
    const outcome = await instructorPost<{ workshop: WorkshopView }>(
      `${workshopApi(workshop.id)}/close`,
      csrfToken,
    );
    if (!outcome.ok) {
      setProblem(outcome.message);
      return;
    }
    setWorkshops((current) => current.map((w) => (w.id === workshop.id ? outcome.value.workshop : w)));
    setAnnouncement(`Workshop “${workshop.title}” closed: nobody can join it any more.`);
  };

  const signOut = async () => {
    const outcome = await instructorPost('/api/instructor/session/signout', csrfToken);
    if (!outcome.ok && outcome.status !== 401) {
      setProblem(outcome.message);
      return;
    }
    router.refresh();
  };

  const sorted = [...workshops].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return (
    <div className="page wide-page">
      <div className="page-heading">
        <h1>Your workshops</h1>
        <button type="button" className="tool-button" onClick={() => void signOut()}>
          Sign out
        </button>
      </div>

      {sorted.length === 0 ? (
        <p>No workshops yet: create the first one below.</p>
      ) : (
        <ul className="workshop-list">
          {sorted.map((workshop) => {
            const joinUrl = `${origin}${workshop.joinPath}`;
            return (
              <li
                key={workshop.id}
                className="card"
                data-workshop-id={workshop.id}
                data-workshop-code={workshop.code}
              >
                <h2>
                  <Link href={`/instructor/workshops/${encodeURIComponent(workshop.id)}`}>
                    {workshop.title}
                  </Link>{' '}
                  <span className={`state-badge state-${workshop.state}`}>{STATE_LABEL[workshop.state]}</span>
                </h2>
                <p className="meta">
                  {workshop.labTitle} · {workshop.attendeeCount} of {workshop.capacity} places taken ·{' '}
                  <time dateTime={workshop.startsAt} suppressHydrationWarning>
                    {new Date(workshop.startsAt).toLocaleDateString()} {clockTime(workshop.startsAt)}
                  </time>
                  –
                  <time dateTime={workshop.endsAt} suppressHydrationWarning>
                    {clockTime(workshop.endsAt)}
                  </time>
                </p>
                <dl className="facts">
                  <div>
                    <dt>Join link</dt>
                    <dd>
                      <a href={workshop.joinPath} data-join-link="">
                        {origin === '' ? workshop.joinPath : joinUrl}
                      </a>
                    </dd>
                  </div>
                  <div>
                    <dt>Code</dt>
                    <dd>
                      <code className="join-code" data-join-code="">
                        {workshop.code}
                      </code>
                    </dd>
                  </div>
                </dl>
                <div className="actions">
                  <Link className="button" href={`/instructor/workshops/${encodeURIComponent(workshop.id)}`}>
                    Open the dashboard
                  </Link>
                  {workshop.state !== 'closed' && (
                    <button
                      type="button"
                      className="tool-button"
                      onClick={() => void close(workshop)}
                      aria-label={`Close “${workshop.title}”`}
                    >
                      Close
                    </button>
                  )}
                </div>
              </li>
            );
          })}
        </ul>
      )}

      <section aria-labelledby="new-workshop" className="card">
        <h2 id="new-workshop">New workshop</h2>
        <form className="form form-grid" onSubmit={(event) => void create(event)} data-new-workshop="">
          <div className="field">
            <label htmlFor={ids.lab}>Lab</label>
            <select id={ids.lab} value={lab} onChange={(event) => setLab(event.target.value)} required>
              {labs.map((choice) => (
                <option key={choice.id} value={choice.id}>
                  {choice.title} (about {choice.durationMinutes} min)
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.title}>Title</label>
            <input
              id={ids.title}
              type="text"
              value={title}
              onChange={(event) => setTitle(event.target.value)}
              maxLength={100}
              required
              placeholder="Content trust, Tuesday morning"
            />
          </div>
          <div className="field">
            <label htmlFor={ids.capacity}>Places</label>
            <input
              id={ids.capacity}
              type="number"
              min={1}
              max={1000}
              value={capacity}
              onChange={(event) => setCapacity(event.target.value)}
              required
            />
          </div>
          <div className="field">
            <label htmlFor={ids.starts}>Starts</label>
            <input
              id={ids.starts}
              type="datetime-local"
              value={startsAt}
              onChange={(event) => setStartsAt(event.target.value)}
              required
            />
          </div>
          <div className="field">
            <label htmlFor={ids.ends}>Ends</label>
            <input
              id={ids.ends}
              type="datetime-local"
              value={endsAt}
              onChange={(event) => setEndsAt(event.target.value)}
              required
            />
          </div>
          <div className="form-actions">
            <button type="submit" className="button" disabled={busy || labs.length === 0} aria-busy={busy}>
              {busy ? 'Creating…' : 'Create the workshop'}
            </button>
          </div>
        </form>
      </section>
      {problem !== '' && (
        <p className="notice notice-problem" role="alert">
          {problem}
        </p>
      )}
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
    </div>
  );
}
