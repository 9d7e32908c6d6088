/**
 * Hints and check results are plain text that may mark commands with
 * backticks, as lab authors write them. They are shown as text, with those
 * spans as code: never parsed as HTML. Credential placeholders, if the text
 * still has any, show the learner's own login.
 */
import type { ReactNode } from 'react';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

function fill(text: string, credentials: Credentials): ReactNode[] {
  const parts: ReactNode[] = [];
  let last = 0;
  for (const match of text.matchAll(/\{\{\s*(username|password)\s*\}\}/g)) {
    parts.push(text.slice(last, match.index));
    const name = match[1] as 'username' | 'password';
    parts.push(
      <span key={`${name}-${match.index}`} data-credential={name}>
        {credentials[name]}
      </span>,
    );
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

export function InlineText({ text, credentials }: { text: string; credentials: Credentials }) {
  return (
    <>
      {text
        .split('`')
        .map((part, index) =>
          index % 2 === 1 ? (
            <code key={index}>{fill(part, credentials)}</code>
          ) : (
            <span key={index}>{fill(part, credentials)}</span>
          ),
        )}
    </>
  );
}
