'use client';
/**
 * Task 5's panel on the lab page: the YubiKey is plugged into the learner's
 * own computer while their terminal runs on the lab server, and a helper
 * program on that computer connects the two. The panel (a) shows which
 * YubiKey the browser sees, (b) pairs the helper with a short code, and
 * (c) shows the helper's status, kept live by the lab status stream's
 * `yubikey` events (LabWorkspace). When the server holds the token itself
 * (`local`), there is nothing to pair and the panel says so.
 */
import { useEffect, useId, useRef } from 'react';
import type { YubikeyStatus } from '../../../platform/api';
import { HelperPairing } from './HelperPairing';
import { HelperStatus } from './HelperStatus';
import { parseStatusAnswer, statusChange } from './messages';
import { UsbDetection } from './UsbDetection';

/** The lab task whose section shows this panel. */
export const YUBIKEY_TASK_ID = 'yubikey';

/**
 * Where a status came from: `initial` (GET, at load; the stream's own first
 * event supersedes it) or `fresh` (the answer to something the learner did).
 */
export type StatusOrigin = 'initial' | 'fresh';

interface Props {
  readonly status: YubikeyStatus | undefined;
  readonly onStatus: (status: YubikeyStatus, origin: StatusOrigin) => void;
  /** Says something politely to screen readers (the page's live region). */
  readonly onAnnounce: (message: string) => void;
}

export function YubikeyPanel({ status, onStatus, onAnnounce }: Props) {
  const titleId = useId();
  const previous = useRef(status);

  // The status stream sends one when it opens; this covers a stream that is slow or down.
  useEffect(() => {
    const controller = new AbortController();
    const load = async () => {
      try {
        const response = await fetch('/api/session/yubikey', {
          credentials: 'same-origin',
          headers: { accept: 'application/json' },
          signal: controller.signal,
        });
        if (!response.ok) return;
        const received = parseStatusAnswer(await response.json());
        if (received) onStatus(received, 'initial');
        else console.warn('GET /api/session/yubikey answered something other than { status }; ignored');
      } catch {
        // Aborted, or the server is unreachable: the stream will bring the status.
      }
    };
    void load();
    return () => controller.abort();
  }, [onStatus]);

  useEffect(() => {
    if (status === undefined) return;
    const change = statusChange(previous.current, status);
    previous.current = status;
    if (change !== undefined) onAnnounce(change);
  }, [status, onAnnounce]);

  return (
    <section className="card yubikey-panel" aria-labelledby={titleId} data-yubikey-panel="">
      <h3 id={titleId}>Your YubiKey and its helper</h3>
      <UsbDetection onAnnounce={onAnnounce} />
      {status?.local ? (
        <p data-yubikey-local="">
          This lab server holds the YubiKey&rsquo;s PKCS#11 module itself, so <code>notary</code> and{' '}
          <code>docker</code> use the token directly: there is no helper to pair.
        </p>
      ) : (
        <HelperPairing
          status={status}
          onStatus={(fresh) => onStatus(fresh, 'fresh')}
          onAnnounce={onAnnounce}
        />
      )}
      <HelperStatus status={status} />
    </section>
  );
}
