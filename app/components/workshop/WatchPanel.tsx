'use client';
/**
 * An attendee's terminal as the instructor sees it: the same xterm.js panel
 * as the lab page, connected with a watch ticket (POST .../watch). It is
 * read only until the attendee lets the instructor type: "Request control"
 * asks them (POST .../control), and the terminal server says when control
 * is granted (STATUS 302) and when it ends (303); typing before that is
 * refused by the server (301), and the panel says so.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { TerminalPanel, type TerminalHandle } from '../terminal/TerminalPanel';
import { TicketRefused } from '../terminal/terminal-connection';
import { instructorPost, workshopApi } from './instructor-requests';

interface Props {
  readonly workshopId: string;
  readonly learnerId: string;
  readonly displayName: string;
  readonly csrfToken: string;
  readonly nonce: string;
  /** The latest `control` event of the dashboard stream for this attendee, if any. */
  readonly controlEvent: { granted: boolean; serial: number } | undefined;
  readonly onClose: () => void;
}

type Control = 'read-only' | 'requested' | 'granted';

export function WatchPanel({
  workshopId,
  learnerId,
  displayName,
  csrfToken,
  nonce,
  controlEvent,
  onClose,
}: Props) {
  const handle = useRef<TerminalHandle | null>(null);
  const [control, setControl] = useState<Control>('read-only');
  const [note, setNote] = useState('');
  const base = `${workshopApi(workshopId)}/attendees/${encodeURIComponent(learnerId)}`;

  const fetchTicket = useCallback(async () => {
    const outcome = await instructorPost<{ ticket: string }>(`${base}/watch`, csrfToken);
    if (outcome.ok && typeof outcome.value.ticket === 'string') return outcome.value.ticket;
    if (!outcome.ok && (outcome.code === 'NO_TERMINAL' || outcome.status === 404 || outcome.status === 403))
      throw new TicketRefused(
        outcome.code === 'NO_TERMINAL'
          ? `${displayName} has no terminal open right now. Watch again once they open the lab.`
          : outcome.message,
      );
    throw new Error(outcome.ok ? 'watch answer without a ticket' : outcome.message);
  }, [base, csrfToken, displayName]);

  const onStatus = useCallback(
    (code: number) => {
      switch (code) {
        case 301:
          setNote(`Not sent: ${displayName} has not let you type. Request control first.`);
          return;
        case 302:
          setControl('granted');
          setNote(`${displayName} lets you type: what you type now runs in their shell.`);
          return;
        case 303:
          setControl('read-only');
          setNote(`Control ended: ${displayName}'s terminal is read only again.`);
          return;
      }
    },
    [displayName],
  );

  // The dashboard stream's word on control, which can come before or after the terminal's.
  const controlNow = useRef<Control>(control);
  useEffect(() => {
    controlNow.current = control;
  }, [control]);
  useEffect(() => {
    if (!controlEvent) return;
    if (controlEvent.granted) {
      setControl('granted');
      setNote(`${displayName} lets you type: what you type now runs in their shell.`);
      return;
    }
    setNote(
      controlNow.current === 'requested'
        ? `${displayName} declined: the terminal stays read only.`
        : `Control ended: ${displayName}'s terminal is read only again.`,
    );
    setControl('read-only');
  }, [controlEvent, displayName]);

  const requestControl = async () => {
    setNote('');
    const outcome = await instructorPost<{ requestId: string }>(`${base}/control`, csrfToken);
    if (!outcome.ok) {
      setNote(`The request did not go through: ${outcome.message}`);
      return;
    }
    setControl((current) => (current === 'granted' ? current : 'requested'));
    setNote(`Asked ${displayName}; waiting for their answer.`);
  };

  return (
    <section className="watch-panel" aria-label={`Watching ${displayName}`} data-watching={learnerId}>
      <TerminalPanel
        nonce={nonce}
        handleRef={handle}
        role="watcher"
        title={`Terminal of ${displayName}`}
        fetchTicket={fetchTicket}
        onStatus={onStatus}
        toolbar={
          <>
            <span
              className={`state-badge ${control === 'granted' ? 'state-open' : 'state-ended'}`}
              data-control={control}
            >
              {control === 'granted' ? 'You can type' : 'Read only'}
            </span>
            {control !== 'granted' && (
              <button
                type="button"
                className="tool-button"
                onClick={() => void requestControl()}
                disabled={control === 'requested'}
              >
                {control === 'requested' ? 'Control requested…' : 'Request control'}
              </button>
            )}
            <button type="button" className="tool-button" onClick={onClose}>
              Stop watching
            </button>
          </>
        }
        notices={
          note !== '' ? (
            <p className="terminal-banner" role="status" data-watch-note="">
              {note}
            </p>
          ) : undefined
        }
      />
    </section>
  );
}
