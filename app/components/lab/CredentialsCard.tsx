'use client';
/**
 * The learner's login on the lab's hub, for `docker login`. It is a lab
 * account made for this learner alone, shown in full on purpose: they have
 * to type it into the terminal.
 */
import { copyText } from '../terminal/clipboard';
import type { Credentials } from './InlineText';

interface Props {
  readonly credentials: Credentials;
  readonly onAnnounce: (message: string) => void;
}

export function CredentialsCard({ credentials, onAnnounce }: Props) {
  const copy = async (what: 'username' | 'password') => {
    const copied = await copyText(credentials[what]);
    onAnnounce(copied ? `Copied your ${what}.` : 'The browser did not allow copying.');
  };
  return (
    <section className="credentials" aria-labelledby="credentials-title">
      <h2 id="credentials-title">Your hub login</h2>
      <p>
        Use it when the lab asks you to run <code>docker login</code>.
      </p>
      <dl>
        <div>
          <dt>Username</dt>
          <dd>
            <code data-credential="username">{credentials.username}</code>
            <button type="button" className="link-button" onClick={() => void copy('username')}>
              Copy<span className="visually-hidden"> username</span>
            </button>
          </dd>
        </div>
        <div>
          <dt>Password</dt>
          <dd>
            <code data-credential="password">{credentials.password}</code>
            <button type="button" className="link-button" onClick={() => void copy('password')}>
              Copy<span className="visually-hidden"> password</span>
            </button>
          </dd>
        </div>
      </dl>
    </section>
  );
}
