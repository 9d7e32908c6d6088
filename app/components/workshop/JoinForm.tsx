'use client';
/**
 * The join page in the browser: the workshop, whether it takes attendees
 * now, and the name form. Joining (POST /api/workshops/join) makes this
 * browser's learner if it has none, and opens the lab. The same browser
 * joining again is the same attendee under the name given now.
 */
import { useEffect, useId, useState, type FormEvent } from 'react';
import type { WorkshopPublicInfo } from '../../../platform/api';
import { clockTime, refusalMessage } from './messages';

interface Props {
  readonly info: WorkshopPublicInfo;
}

function availability(info: WorkshopPublicInfo): { label: string; detail: string; status: string } {
  if (info.state === 'closed')
    return { label: 'Ended', detail: 'The instructor has closed this workshop.', status: 'ended' };
  if (info.state === 'ended') return { label: 'Ended', detail: 'This workshop is over.', status: 'ended' };
  if (info.state === 'scheduled')
    return {
      label: 'Not started',
      detail: 'This workshop has not started yet: come back when it begins.',
      status: 'not-started',
    };
  if (info.full) return { label: 'Full', detail: 'Every place in this workshop is taken.', status: 'full' };
  return { label: 'Open', detail: 'You can join now.', status: 'open' };
}

export function JoinForm({ info }: Props) {
  const nameId = useId();
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const [welcome, setWelcome] = useState('');
  const [previousName, setPreviousName] = useState('');
  const state = availability(info);

  // A browser that joined this workshop before: say so, and offer the name it used.
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      try {
        const response = await fetch('/api/session', { credentials: 'same-origin' });
        if (!response.ok) return;
        const body = (await response.json()) as {
          workshop?: { title?: unknown; labId?: unknown; displayName?: unknown };
        };
        const joined = body.workshop;
        if (
          !cancelled &&
          joined &&
          joined.title === info.title &&
          joined.labId === info.lab.id &&
          typeof joined.displayName === 'string'
        ) {
          const name = joined.displayName;
          setPreviousName(name);
          setDisplayName((current) => (current === '' ? name : current));
        }
      } catch {
        // No learner yet, or the server is away: nothing to recall.
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [info.title, info.lab.id]);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const name = displayName.trim();
    if (name === '') {
      setProblem('Enter the name the instructor will see.');
      return;
    }
    setBusy(true);
    setProblem('');
    try {
      const response = await fetch('/api/workshops/join', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ code: info.code, displayName: name }),
      });
      if (!response.ok) {
        setProblem(await refusalMessage(response));
        setBusy(false);
        return;
      }
      const body = (await response.json()) as { labPath?: unknown; rejoined?: unknown };
      const labPath =
        typeof body.labPath === 'string' && body.labPath.startsWith('/')
          ? body.labPath
          : `/labs/${encodeURIComponent(info.lab.id)}`;
      if (body.rejoined === true) {
        setWelcome(`Welcome back, ${name}! Opening the lab…`);
        // Long enough to read, short enough not to wait for.
        setTimeout(() => window.location.assign(labPath), 900);
      } else {
        setWelcome(`Welcome, ${name}! Opening the lab…`);
        window.location.assign(labPath);
      }
    } catch {
      setProblem('The server could not be reached. Try again in a moment.');
      setBusy(false);
    }
  };

  const canJoin = state.status === 'open';
  return (
    <div className="page join-page" data-workshop-state={state.status}>
      <p className="eyebrow">Workshop · code {info.code}</p>
      <h1>{info.title}</h1>
      <dl className="facts">
        <div>
          <dt>Lab</dt>
          <dd>{info.lab.title}</dd>
        </div>
        <div>
          <dt>When</dt>
          <dd>
            <time dateTime={info.startsAt} suppressHydrationWarning>
              {new Date(info.startsAt).toLocaleDateString()} {clockTime(info.startsAt)}
            </time>{' '}
            to{' '}
            <time dateTime={info.endsAt} suppressHydrationWarning>
              {clockTime(info.endsAt)}
            </time>
          </dd>
        </div>
        <div>
          <dt>Status</dt>
          <dd>
            <span className={`state-badge state-${state.status}`} data-join-state={state.status}>
              {state.label}
            </span>{' '}
            {state.detail}
          </dd>
        </div>
      </dl>

      {previousName !== '' && welcome === '' && (
        <p className="notice notice-info" role="status">
          Welcome back: this browser joined as <strong>{previousName}</strong>. Join again to carry on where
          you left off.
        </p>
      )}

      <form
        className="form card"
        onSubmit={(event) => void submit(event)}
        aria-describedby={`${nameId}-help`}
      >
        <div className="field">
          <label htmlFor={nameId}>Your name</label>
          <input
            id={nameId}
            name="displayName"
            type="text"
            value={displayName}
            onChange={(event) => setDisplayName(event.target.value)}
            maxLength={40}
            autoComplete="nickname"
            required
            disabled={!canJoin || busy}
          />
          <p id={`${nameId}-help`} className="field-help">
            The instructor sees this name beside your progress. Joining again from this browser keeps your
            progress under the name you give then.
          </p>
        </div>
        <button type="submit" className="button" disabled={!canJoin || busy} aria-busy={busy}>
          {busy ? 'Joining…' : 'Join the workshop'}
        </button>
      </form>
      {welcome !== '' && (
        <p className="notice notice-info" role="status" data-join-welcome="">
          {welcome}
        </p>
      )}
      {problem !== '' && (
        <p className="notice notice-problem" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
