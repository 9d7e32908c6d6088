'use client';
/**
 * Pairing the YubiKey helper with this lab session: "Pair a helper" asks
 * the server for a short single-use code (POST /api/session/yubikey), shown
 * large with the one command to run on the computer the YubiKey is plugged
 * into, and until when the code works. A new code replaces the previous one.
 */
import { useEffect, useState } from 'react';
import type { YubikeyPairing, YubikeyStatus } from '../../../platform/api';
import { copyText } from '../terminal/clipboard';
import { clockTime } from '../workshop/messages';
import { localDeadline, parsePairing, refusalCode, refusalSentence } from './messages';

/** A code as this page holds it: `deadline` is by this browser's clock. */
interface ShownPairing extends YubikeyPairing {
  readonly deadline: number;
}

/** setTimeout's longest delay; a code lives minutes, so this only guards against nonsense. */
const MAX_DELAY = 2_147_483_647;

interface Props {
  readonly status: YubikeyStatus | undefined;
  readonly onStatus: (status: YubikeyStatus) => void;
  readonly onAnnounce: (message: string) => void;
}

export function HelperPairing({ status, onStatus, onAnnounce }: Props) {
  const [pairing, setPairing] = useState<ShownPairing | undefined>();
  const [expired, setExpired] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState('');
  const connected = status?.state === 'connected';

  useEffect(() => {
    if (!pairing) return;
    const timer = setTimeout(
      () => setExpired(true),
      Math.min(MAX_DELAY, Math.max(0, pairing.deadline - Date.now())),
    );
    return () => clearTimeout(timer);
  }, [pairing]);

  // A helper connected: the code has done its job.
  useEffect(() => {
    if (connected) setPairing(undefined);
  }, [connected]);

  const pair = async () => {
    setBusy(true);
    setProblem('');
    try {
      const response = await fetch('/api/session/yubikey', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: '{}',
      });
      const body = (await response.json().catch(() => undefined)) as unknown;
      if (!response.ok) {
        if (response.status === 409 && refusalCode(body) === 'LOCAL_TOKEN') {
          onStatus({ state: status?.state ?? 'not-connected', token: status?.token ?? null, local: true });
          onAnnounce('The lab server uses the token directly: there is nothing to pair.');
          return;
        }
        setProblem(`No pairing code: ${refusalSentence(body) ?? `the server answered ${response.status}.`}`);
        return;
      }
      const received = parsePairing(body);
      if (!received) {
        setProblem('The server’s answer was not understood. Try again in a moment.');
        return;
      }
      const deadline = localDeadline(received.expiresAt, response.headers.get('date'), Date.now());
      setPairing({ ...received, deadline });
      setExpired(deadline <= Date.now());
      onStatus(received.status);
      onAnnounce(
        `Pairing code ${received.code}, valid until ${clockTime(new Date(deadline).toISOString())}. Run the command shown with it.`,
      );
    } catch {
      setProblem('The server could not be reached. Try again in a moment.');
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    if (!pairing) return;
    const copied = await copyText(pairing.command);
    onAnnounce(copied ? 'Copied the command.' : 'The browser did not allow copying.');
  };

  if (connected) return null;
  const until = pairing ? clockTime(new Date(pairing.deadline).toISOString()) : '';
  return (
    <div className="yubikey-part">
      <h4>Pair the YubiKey helper</h4>
      <p>
        The helper runs on the computer your YubiKey is plugged into and lets <code>notary</code> and{' '}
        <code>docker</code> in the terminal use the key. Pairing tells it which lab session is yours.
      </p>
      <button type="button" className="button" onClick={() => void pair()} disabled={busy} aria-busy={busy}>
        {pairing ? 'New pairing code' : 'Pair a helper'}
      </button>
      {problem !== '' && (
        <p className="notice notice-problem" role="alert">
          {problem}
        </p>
      )}
      {pairing && !expired && (
        <div className="yubikey-pairing">
          <p>
            Pairing code:{' '}
            <code className="yubikey-code" data-yubikey-code="">
              {pairing.code}
            </code>
          </p>
          <p>Run this on the computer your YubiKey is plugged into:</p>
          <div className="yubikey-command">
            <pre>
              <code data-yubikey-command="">{pairing.command}</code>
            </pre>
            <button type="button" className="link-button" onClick={() => void copy()}>
              Copy<span className="visually-hidden"> the command</span>
            </button>
          </div>
          <p className="field-help">
            The code works once, until{' '}
            <time dateTime={new Date(pairing.deadline).toISOString()} suppressHydrationWarning>
              {until}
            </time>
            . A new code replaces it.
          </p>
        </div>
      )}
      {pairing && expired && (
        <p data-yubikey-expired="">
          The pairing code <code>{pairing.code}</code> expired at {until}. Ask for a new one.
        </p>
      )}
    </div>
  );
}
