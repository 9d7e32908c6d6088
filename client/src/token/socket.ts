/**
 * The session's token socket (`TRUSTLAB_TOKEN`) as the client speaks it:
 * one request per connection, one JSON line each way (the protocol is in
 * yubikey-helper/src/protocol.ts). Only the protocol's types are imported,
 * so that `notary key list` does not load the validation library or
 * trust-core to ask the token what it holds: replies are checked here by
 * hand, field by field.
 */
import net from 'node:net';
import type {
  TokenKeyView,
  TokenReply,
  TokenRequest,
  TokenView,
} from '../../../yubikey-helper/src/protocol.js';

export const TOUCH_PROMPT = 'Please touch the attached Yubikey to perform signing.';
/** What notary prints as the LOCATION of a key on a YubiKey. */
export const YUBIKEY_LOCATION = 'yubikey';

/** A token request failed; `code` is the protocol's, `message` names the helper or the token. */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
  readonly code: string;
  readonly suggestion: string | undefined;

  constructor(code: string, message: string, options: { suggestion?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.code = code;
    this.suggestion = options.suggestion;
  }
}

/** A signature may wait for a PIN and a touch on the helper's side; the server times out first (120 s). */
const REQUEST_TIMEOUT_MS = 150_000;
const MAX_REPLY_BYTES = 512 * 1024;

const isString = (v: unknown): v is string => typeof v === 'string';

function tokenViewOf(value: unknown): TokenView | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (![v.label, v.manufacturer, v.model, v.serial].every(isString)) return undefined;
  return v as unknown as TokenView;
}

function keyViewOf(value: unknown): TokenKeyView | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!isString(v.keyId) || !/^[0-9a-f]{64}$/.test(v.keyId)) return undefined;
  if (!isString(v.certificate) || typeof v.position !== 'number') return undefined;
  return v as unknown as TokenKeyView;
}

/** Checks a reply line's shape; a malformed one is an error of its own. */
export function parseReply(line: string): TokenReply {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (cause) {
    throw new TokenRequestError('BAD_REPLY', 'the token socket answered something that is not JSON', {
      cause,
    });
  }
  const v = value as Record<string, unknown>;
  if (typeof value === 'object' && value !== null && v.ok === false) {
    const error = v.error as Record<string, unknown> | undefined;
    const suggestionOk = error?.suggestion === undefined || isString(error.suggestion);
    if (error && isString(error.code) && isString(error.message) && suggestionOk) return value as TokenReply;
  }
  if (typeof value === 'object' && value !== null && v.ok === true && tokenViewOf(v.token)) {
    const keysOk = v.keys === undefined || (Array.isArray(v.keys) && v.keys.every((k) => keyViewOf(k)));
    const keyOk = v.key === undefined || keyViewOf(v.key) !== undefined;
    const signatureOk = v.signature === undefined || isString(v.signature);
    if (keysOk && keyOk && signatureOk) return value as TokenReply;
  }
  throw new TokenRequestError(
    'BAD_REPLY',
    'the token socket answered a reply this client does not understand',
  );
}

/** One request on the socket; rejects TokenRequestError (`UNAVAILABLE` when nothing listens). */
export function requestToken(socketPath: string, request: TokenRequest): Promise<TokenReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let text = '';
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      fn();
    };
    socket.setTimeout(REQUEST_TIMEOUT_MS, () =>
      settle(() => reject(new TokenRequestError('TIMEOUT', 'the token did not answer in time'))),
    );
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_REPLY_BYTES) {
        settle(() => reject(new TokenRequestError('BAD_REPLY', 'the token socket answered too much')));
        return;
      }
      const newline = text.indexOf('\n');
      if (newline === -1) return;
      const line = text.slice(0, newline);
      settle(() => {
        try {
          resolve(parseReply(line));
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    socket.on('end', () =>
      settle(() => reject(new TokenRequestError('UNAVAILABLE', 'the token socket closed without an answer'))),
    );
    socket.on('error', (cause: NodeJS.ErrnoException) =>
      settle(() =>
        reject(
          new TokenRequestError(
            'UNAVAILABLE',
            `the token socket cannot be reached (${cause.code ?? cause.message})`,
            {
              cause,
            },
          ),
        ),
      ),
    );
  });
}

/** The failure a reply carries, as an error; undefined for a success. */
export function failureOf(reply: TokenReply): TokenRequestError | undefined {
  if (reply.ok) return undefined;
  return new TokenRequestError(reply.error.code, reply.error.message, {
    ...(reply.error.suggestion ? { suggestion: reply.error.suggestion } : {}),
  });
}

/** What the token holds, or why it cannot be used now (for the debug line). */
export async function listToken(
  socketPath: string | undefined,
): Promise<{ token: TokenView; keys: readonly TokenKeyView[] } | { unavailable: string }> {
  if (!socketPath) return { unavailable: 'no token socket (TRUSTLAB_TOKEN is not set)' };
  try {
    const reply = await requestToken(socketPath, { op: 'list' });
    if (!reply.ok) return { unavailable: reply.error.message };
    return { token: reply.token, keys: reply.keys ?? [] };
  } catch (error) {
    if (error instanceof TokenRequestError) return { unavailable: error.message };
    throw error;
  }
}
