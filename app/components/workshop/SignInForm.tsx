'use client';
/** The instructor's sign-in: the password, then the page again, now signed in. */
import { useRouter } from 'next/navigation';
import { useId, useState, type FormEvent } from 'react';
import { refusalMessage } from './messages';

export function SignInForm({ next }: { next?: string }) {
  const router = useRouter();
  const passwordId = useId();
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    setProblem('');
    try {
      const response = await fetch('/api/instructor/session', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ password }),
      });
      if (!response.ok) {
        setProblem(await refusalMessage(response));
        return;
      }
      setPassword('');
      if (next) router.push(next);
      router.refresh();
    } catch {
      setProblem('The server could not be reached. Try again in a moment.');
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="page narrow-page">
      <h1>Instructor sign-in</h1>
      <p className="lead">
        Sign in to run workshops: create them, follow every attendee live, and help them.
      </p>
      <form className="form card" onSubmit={(event) => void submit(event)} data-instructor-signin="">
        <div className="field">
          <label htmlFor={passwordId}>Instructor password</label>
          <input
            id={passwordId}
            name="password"
            type="password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            autoComplete="current-password"
            required
          />
          <p className="field-help">
            Set with <code>TRUSTLAB_INSTRUCTOR_PASSWORD</code>, or printed by the server at its first start.
          </p>
        </div>
        <button type="submit" className="button" disabled={busy} aria-busy={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      {problem !== '' && (
        <p className="notice notice-problem" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
