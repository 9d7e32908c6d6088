/**
 * The helper's status and pairing codes as the page accepts them: the
 * contract's shapes pass, anything else is dropped; what is announced on a
 * change; and a code's deadline on a laptop whose clock is off.
 */
import { describe, expect, it } from 'vitest';
import type { YubikeyStatus } from '../../../platform/api';
import {
  localDeadline,
  parsePairing,
  parseStatusAnswer,
  parseYubikeyStatus,
  refusalCode,
  refusalSentence,
  statusChange,
} from './messages';

const token = {
  label: 'alice',
  manufacturer: 'Yubico (www.yubico.com)',
  model: 'YubiKey YK5',
  serial: '1234',
};
const idle: YubikeyStatus = { state: 'not-connected', local: false, token: null };
const connected: YubikeyStatus = { state: 'connected', local: false, token };

describe('status', () => {
  it('accepts the contract’s shapes', () => {
    expect(parseYubikeyStatus(idle)).toEqual(idle);
    expect(parseYubikeyStatus(connected)).toEqual(connected);
    expect(parseYubikeyStatus({ ...connected, activity: 'signing for docker.io/alice/alpine root' })).toEqual(
      {
        ...connected,
        activity: 'signing for docker.io/alice/alpine root',
      },
    );
    expect(parseStatusAnswer({ status: idle })).toEqual(idle);
  });

  it('drops anything else', () => {
    for (const value of [
      null,
      'connected',
      [],
      {},
      { ...idle, state: 'paired' },
      { ...idle, local: 'no' },
      { ...connected, token: { label: 'alice' } },
      { ...connected, token: 'alice' },
      { ...connected, activity: 42 },
    ]) {
      expect(parseYubikeyStatus(value), JSON.stringify(value)).toBeUndefined();
    }
    expect(parseStatusAnswer(idle)).toBeUndefined();
  });

  it('keeps only the fields it knows', () => {
    expect(parseYubikeyStatus({ ...connected, secret: 'x', token: { ...token, pin: '123456' } })).toEqual(
      connected,
    );
  });
});

describe('pairing', () => {
  const pairing = {
    code: 'K7QF-3MZP',
    expiresAt: 1_700_000_600_000,
    command: 'yubikey-helper --server https://lab.example --code K7QF-3MZP',
    status: idle,
  };

  it('accepts a pairing and refuses a partial one', () => {
    expect(parsePairing(pairing)).toEqual(pairing);
    expect(parsePairing({ ...pairing, code: '' })).toBeUndefined();
    expect(parsePairing({ ...pairing, expiresAt: '2024-01-01' })).toBeUndefined();
    expect(parsePairing({ ...pairing, expiresAt: Number.NaN })).toBeUndefined();
    expect(parsePairing({ ...pairing, command: undefined })).toBeUndefined();
    expect(parsePairing({ ...pairing, status: { state: 'x' } })).toBeUndefined();
  });

  it('reads a refusal’s code and words', () => {
    const body = { error: { code: 'LOCAL_TOKEN', message: 'Nothing to pair.', suggestion: 'Just go on.' } };
    expect(refusalCode(body)).toBe('LOCAL_TOKEN');
    expect(refusalSentence(body)).toBe('Nothing to pair. Just go on.');
    expect(refusalCode({ error: 'x' })).toBeUndefined();
    expect(refusalSentence(undefined)).toBeUndefined();
  });

  it('keeps a code’s lifetime when the laptop’s clock is off', () => {
    const serverNow = Date.parse('Tue, 14 Nov 2023 22:13:20 GMT'); // 1_700_000_000_000
    const laptopNow = serverNow - 3_600_000; // an hour behind
    expect(localDeadline(serverNow + 600_000, 'Tue, 14 Nov 2023 22:13:20 GMT', laptopNow)).toBe(
      laptopNow + 600_000,
    );
    expect(localDeadline(serverNow + 600_000, null, laptopNow)).toBe(serverNow + 600_000);
    expect(localDeadline(serverNow + 600_000, 'not a date', laptopNow)).toBe(serverNow + 600_000);
  });
});

describe('what is announced', () => {
  it('says nothing of the first status, nor of no change', () => {
    expect(statusChange(undefined, connected)).toBeUndefined();
    expect(statusChange(connected, { ...connected })).toBeUndefined();
  });

  it('says when the helper comes, goes, finds a token and works', () => {
    expect(statusChange(idle, connected)).toBe('Your YubiKey helper is connected, with the token alice.');
    expect(statusChange(idle, { ...connected, token: null })).toBe(
      'Your YubiKey helper is connected; it has not found a token yet.',
    );
    expect(statusChange({ ...connected, token: null }, connected)).toBe(
      'Your YubiKey helper now uses the token alice.',
    );
    expect(statusChange(connected, idle)).toBe('Your YubiKey helper is no longer connected.');
    expect(
      statusChange(connected, { ...connected, activity: 'signing for docker.io/alice/alpine root' }),
    ).toBe('Token: signing for docker.io/alice/alpine root.');
  });

  it('speaks of the server in local mode', () => {
    expect(statusChange({ ...idle, local: true }, { ...connected, local: true })).toBe(
      'The lab server reaches the token alice.',
    );
    expect(statusChange({ ...connected, local: true }, { ...idle, local: true })).toBe(
      'The lab server no longer reaches its token.',
    );
  });
});
