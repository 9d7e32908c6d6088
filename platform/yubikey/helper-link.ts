/**
 * One paired helper's WebSocket, seen from the lab server: requests go out
 * with an id and wait for the reply with that id; the helper's status
 * (token, activity) is kept; when the connection drops, every request
 * still waiting is answered HELPER_GONE at once, so a publish waiting for a
 * signature fails cleanly and uploads nothing.
 */
import type WebSocket from 'ws';
import type { TokenReply, TokenRequest, TokenView } from '../../yubikey-helper/src/protocol.js';
import { failure, helperMessageSchema, parseMessage } from '../../yubikey-helper/src/protocol.js';

export interface HelperLinkEvents {
  status(token: TokenView | null, activity: string | undefined): void;
  reply(request: TokenRequest, reply: TokenReply): void;
  closed(): void;
}

interface Waiting {
  request: TokenRequest;
  resolve: (reply: TokenReply) => void;
  timer: NodeJS.Timeout;
}

/** Bytes sent to a helper and not yet taken by it beyond which new requests are refused. */
const MAX_UNSENT_BYTES = 1024 * 1024;

export const HELPER_GONE_SUGGESTION =
  'Start the YubiKey helper again with the command on the lab page (it reconnects by itself after a short network drop), then run the command again.';

export class HelperLink {
  #nextId = 1;
  readonly #waiting = new Map<number, Waiting>();
  #closed = false;
  token: TokenView | null = null;
  activity: string | undefined;

  constructor(
    private readonly ws: WebSocket,
    private readonly events: HelperLinkEvents,
    private readonly requestTimeoutMs: number,
  ) {
    ws.on('message', (data, isBinary) => {
      const message = isBinary ? undefined : parseMessage(helperMessageSchema, data.toString('utf8'));
      if (message === undefined || message.type === 'hello') {
        this.close(1008, 'malformed message');
        return;
      }
      if (message.type === 'status') {
        this.token = message.token;
        this.activity = message.activity;
        this.events.status(this.token, this.activity);
        return;
      }
      const waiting = this.#waiting.get(message.id);
      if (waiting === undefined) return; // answered already (timed out); nothing to do
      this.#waiting.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.reply.ok) this.token = message.reply.token;
      this.events.reply(waiting.request, message.reply);
      waiting.resolve(message.reply);
    });
    ws.on('close', () => this.#onClosed());
    ws.on('error', () => ws.terminate());
  }

  get closed(): boolean {
    return this.#closed;
  }

  request(request: TokenRequest): Promise<TokenReply> {
    if (this.#closed) return Promise.resolve(gone(request));
    // A helper that does not read what it is sent must not make the server hold it all.
    if (this.ws.bufferedAmount > MAX_UNSENT_BYTES) {
      return Promise.resolve(
        failure('BUSY', 'the YubiKey helper is not taking requests', HELPER_GONE_SUGGESTION),
      );
    }
    const id = this.#nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        resolve(
          failure(
            'TIMEOUT',
            `the YubiKey helper did not answer within ${Math.round(this.requestTimeoutMs / 1000)} s`,
            'Look at the helper’s window: it may be waiting for the PIN or for a touch of the YubiKey. Then run the command again.',
          ),
        );
      }, this.requestTimeoutMs);
      this.#waiting.set(id, { request, resolve, timer });
      this.ws.send(JSON.stringify({ type: 'request', id, request }));
    });
  }

  /** Ends the link (a `refused` message first, when given). */
  close(code = 1000, reason = '', refusal?: { code: string; message: string }): void {
    if (refusal !== undefined && this.ws.readyState === this.ws.OPEN) {
      this.ws.send(JSON.stringify({ type: 'refused', ...refusal }));
    }
    this.ws.close(code, reason);
    this.#onClosed();
  }

  #onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [id, waiting] of this.#waiting) {
      this.#waiting.delete(id);
      clearTimeout(waiting.timer);
      waiting.resolve(gone(waiting.request));
    }
    this.events.closed();
  }
}

function gone(request: TokenRequest): TokenReply {
  const what = request.op === 'sign' ? 'nothing was signed' : 'the request was not carried out';
  return failure(
    'HELPER_GONE',
    `the YubiKey helper disconnected before it answered: ${what}`,
    HELPER_GONE_SUGGESTION,
  );
}
