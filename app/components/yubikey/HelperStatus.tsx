/**
 * Where the learner's token stands, as the platform reports it: whether a
 * helper is connected to this session (or, in local mode, whether the server
 * reaches its own token), which token it found, and what it is doing now.
 * `data-yubikey-status` carries the state, `data-yubikey-token` the label.
 */
import type { YubikeyStatus } from '../../../platform/api';

export function HelperStatus({ status }: { status: YubikeyStatus | undefined }) {
  if (status === undefined) {
    return (
      <div className="yubikey-part">
        <h4>The helper</h4>
        <p className="meta">Looking for your helper…</p>
      </div>
    );
  }
  const connected = status.state === 'connected';
  const { token } = status;
  return (
    <div className="yubikey-part">
      <h4>{status.local ? 'The token' : 'The helper'}</h4>
      <p data-yubikey-status={status.state}>
        <span className={`status-badge ${connected ? 'status-done' : 'status-pending'}`}>
          <span aria-hidden="true" className="status-icon">
            {connected ? '✓' : '○'}
          </span>
          {connected ? 'Connected' : 'Not connected'}
        </span>{' '}
        {status.local
          ? connected
            ? 'The lab server reaches the token.'
            : 'The lab server does not reach the token right now. Is the YubiKey plugged in?'
          : connected
            ? 'A helper is paired with this lab session.'
            : 'No helper is connected to this lab session yet.'}
      </p>
      {connected && token && (
        <dl className="facts">
          <div>
            <dt>Token</dt>
            <dd data-yubikey-token="">{token.label}</dd>
          </div>
          <div>
            <dt>Model</dt>
            <dd>{[token.manufacturer, token.model].filter((part) => part.trim() !== '').join(' · ')}</dd>
          </div>
          {token.serial.trim() !== '' && (
            <div>
              <dt>Serial</dt>
              <dd>{token.serial}</dd>
            </div>
          )}
        </dl>
      )}
      {connected && !token && (
        <p>{status.local ? 'The lab server' : 'The helper'} has not found a token: plug in your YubiKey.</p>
      )}
      {connected && status.activity !== undefined && (
        <p className="yubikey-activity" data-yubikey-activity="">
          Now: {status.activity}
        </p>
      )}
    </div>
  );
}
