/**
 * Local mode: the learner runs everything on their own machine, so the
 * server loads the PKCS#11 module itself (TRUSTLAB_PKCS11_MODULE) and
 * answers their terminal's token requests with no helper. The token is
 * opened at the first request (it may be plugged in after the start) and
 * again after it was removed. PINs are asked on the server's own terminal,
 * which is the learner's here; without one, only the default PIN is tried.
 */
import { perform, tokenViewOf } from '../../yubikey-helper/src/operations.js';
import { terminalPinSource } from '../../yubikey-helper/src/pin-prompt.js';
import type { TokenReply, TokenRequest, TokenView } from '../../yubikey-helper/src/protocol.js';
import { failure } from '../../yubikey-helper/src/protocol.js';
import type { RootKeyToken } from '../../yubikey-helper/src/token/index.js';
import { findModule, openToken, TokenError } from '../../yubikey-helper/src/token/index.js';
import type { LocalToken } from './broker.js';

export function localToken(module: string): LocalToken {
  let token: RootKeyToken | undefined;
  let view: TokenView | null = null;
  let queue: Promise<unknown> = Promise.resolve();
  const pin = process.stdin.isTTY
    ? terminalPinSource({ input: process.stdin, output: process.stdout })
    : () => Promise.resolve(undefined);

  const run = async (request: TokenRequest, onActivity: (text: string | undefined) => void) => {
    try {
      token ??= await openToken({ module: findModule({ explicit: module }), pin });
      view = tokenViewOf(token);
    } catch (error) {
      if (error instanceof TokenError) return failure(error.code, error.message, error.suggestion);
      throw error;
    }
    const reply = await perform(token, request, { activity: onActivity });
    if (!reply.ok && reply.error.code === 'TOKEN_REMOVED') {
      token.close();
      token = undefined;
      view = null;
    }
    return reply;
  };

  return {
    get view() {
      return view;
    },
    request(request, onActivity): Promise<TokenReply> {
      // One PKCS#11 session does one thing at a time.
      const next = queue.then(() => run(request, onActivity));
      queue = next.catch(() => undefined);
      return next;
    },
    close() {
      token?.close();
      token = undefined;
      return Promise.resolve();
    },
  };
}
