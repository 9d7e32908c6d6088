/**
 * The helper's status and pairing codes as the browser receives them (the
 * lab status stream's `yubikey` event, GET and POST /api/session/yubikey),
 * checked for their shape before use: a malformed message is dropped rather
 * than shown half-understood. Their text is only ever rendered as text.
 */
import type { YubikeyPairing, YubikeyStatus, YubikeyTokenView } from '../../../platform/api';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseToken(value: unknown): YubikeyTokenView | null | undefined {
  if (value === null) return null;
  if (
    !isObject(value) ||
    typeof value.label !== 'string' ||
    typeof value.manufacturer !== 'string' ||
    typeof value.model !== 'string' ||
    typeof value.serial !== 'string'
  )
    return undefined;
  return { label: value.label, manufacturer: value.manufacturer, model: value.model, serial: value.serial };
}

export function parseYubikeyStatus(value: unknown): YubikeyStatus | undefined {
  if (
    !isObject(value) ||
    (value.state !== 'connected' && value.state !== 'not-connected') ||
    typeof value.local !== 'boolean' ||
    (value.activity !== undefined && value.activity !== null && typeof value.activity !== 'string')
  )
    return undefined;
  const token = parseToken(value.token ?? null);
  if (token === undefined) return undefined;
  const status: YubikeyStatus = { state: value.state, local: value.local, token };
  return typeof value.activity === 'string' && value.activity !== ''
    ? { ...status, activity: value.activity }
    : status;
}

/** GET /api/session/yubikey answers `{ status }`. */
export function parseStatusAnswer(value: unknown): YubikeyStatus | undefined {
  return isObject(value) ? parseYubikeyStatus(value.status) : undefined;
}

export function parsePairing(value: unknown): YubikeyPairing | undefined {
  if (
    !isObject(value) ||
    typeof value.code !== 'string' ||
    value.code === '' ||
    typeof value.expiresAt !== 'number' ||
    !Number.isFinite(value.expiresAt) ||
    typeof value.command !== 'string' ||
    value.command === ''
  )
    return undefined;
  const status = parseYubikeyStatus(value.status);
  if (!status) return undefined;
  return { code: value.code, expiresAt: value.expiresAt, command: value.command, status };
}

/** A refusal's code (`{ error: { code } }`), e.g. LOCAL_TOKEN. */
export function refusalCode(body: unknown): string | undefined {
  return isObject(body) && isObject(body.error) && typeof body.error.code === 'string'
    ? body.error.code
    : undefined;
}

/** A refusal's message and suggestion (`{ error: { message, suggestion } }`), or undefined. */
export function refusalSentence(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.error) || typeof body.error.message !== 'string') return undefined;
  const suggestion = typeof body.error.suggestion === 'string' ? ` ${body.error.suggestion}` : '';
  return `${body.error.message}${suggestion}`;
}

/**
 * What changed for the learner between two statuses, as one sentence for
 * screen readers, or undefined when nothing worth saying did (the first
 * status is shown, not announced).
 */
export function statusChange(before: YubikeyStatus | undefined, after: YubikeyStatus): string | undefined {
  if (before === undefined) return undefined;
  // In local mode the server holds the token itself: there is no helper to speak of.
  const holder = after.local ? 'The lab server' : 'Your YubiKey helper';
  if (before.state !== after.state) {
    if (after.local) {
      if (after.state === 'not-connected') return 'The lab server no longer reaches its token.';
      return after.token
        ? `The lab server reaches the token ${after.token.label}.`
        : 'The lab server has not found a token yet.';
    }
    if (after.state === 'not-connected') return `${holder} is no longer connected.`;
    return after.token
      ? `${holder} is connected, with the token ${after.token.label}.`
      : `${holder} is connected; it has not found a token yet.`;
  }
  if (after.state === 'connected' && before.token?.label !== after.token?.label) {
    return after.token
      ? `${holder} now uses the token ${after.token.label}.`
      : `${holder} no longer sees a token.`;
  }
  if (after.activity !== undefined && after.activity !== before.activity) return `Token: ${after.activity}.`;
  return undefined;
}

/**
 * When a pairing code expires by this browser's clock. The server's
 * `expiresAt` is by its own clock; the answer's Date header says what time
 * the server had, so the code's lifetime survives a laptop clock that is off.
 */
export function localDeadline(expiresAt: number, serverDate: string | null, now: number): number {
  const serverNow = serverDate === null ? Number.NaN : Date.parse(serverDate);
  return Number.isNaN(serverNow) ? expiresAt : now + (expiresAt - serverNow);
}
