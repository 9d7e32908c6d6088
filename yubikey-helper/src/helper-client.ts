/**
 * The helper's connection to the lab server: out to `/yubikey-helper` over
 * WebSocket, a hello with the pairing code, then requests carried out one
 * at a time on the token (a PKCS#11 session does one thing at a time).
 *
 * After a dropped connection it comes back with the secret the pairing
 * gave, a few times, with growing pauses. A token that was removed
 * (TOKEN_REMOVED) is shown as gone, and opened again at the next request
 * once it is plugged back in. Once the server says the pairing
 * ended (a new code on the page, another helper, the server stopping), or
 * the secret is refused, it stops for good: no request is carried out
 * outside a live pairing.
 */
import WebSocket from 'ws';
import type { TokenReply, TokenRequest } from './protocol.js';
import { failure } from './protocol.js';
import {
  HELPER_PATH,
  MAX_MESSAGE_BYTES,
  parseMessage,
  PROTOCOL_VERSION,
  serverMessageSchema,
} from './protocol.js';
import { activityOf, perform, tokenViewOf } from './operations.js';
import type { RootKeyToken } from './token/index.js';

export interface HelperClientOptions {
  /** The lab's origin, as the page shows it (`http://localhost:3000`). */
  server: string;
  code: string;
  token: RootKeyToken;
  /** Opens the token again after it was removed (the same module and PIN prompt). */
  reopen?: () => Promise<RootKeyToken>;
  /** A CA to trust for an https lab server with its own certificate. */
  ca?: Buffer;
  /** Status lines for the learner. */
  log(line: string): void;
  reconnectAttempts?: number;
  reconnectDelayMs?: number;
}

export type HelperEnd =
  | { reason: 'refused'; code: string; message: string }
  | { reason: 'unreachable'; message: string }
  | { reason: 'stopped' };

export class HelperClientError extends Error {
  override readonly name = 'HelperClientError';
}

/** `http(s)://host[:port]` → `ws(s)://host[:port]/yubikey-helper`. */
export function helperUrl(server: string): string {
  let url: URL;
  try {
    url = new URL(server);
  } catch (cause) {
    throw new HelperClientError(`--server ${server} is not a URL like http://localhost:3000`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HelperClientError(`--server must be an http:// or https:// address, not ${url.protocol}`);
  }
  return `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}${HELPER_PATH}`;
}

export class HelperClient {
  readonly #options: HelperClientOptions;
  readonly #url: string;
  #secret: string | undefined;
  #ws: WebSocket | undefined;
  /**
   * The pause before reconnecting. It keeps the process alive: while it
   * runs, nothing else does (stdin waits only during a PIN prompt).
   */
  #reconnect: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #queue: Promise<void> = Promise.resolve();
  #end: ((end: HelperEnd) => void) | undefined;
  /** The open token; undefined after it was removed, until it is opened again. */
  #token: RootKeyToken | undefined;

  constructor(options: HelperClientOptions) {
    this.#options = options;
    this.#token = options.token;
    this.#url = helperUrl(options.server);
  }

  /** Runs until the pairing ends, the server cannot be reached any more, or stop(). */
  run(): Promise<HelperEnd> {
    return new Promise((resolve) => {
      this.#end = (end) => {
        this.#end = undefined;
        this.#stopped = true;
        clearTimeout(this.#reconnect);
        resolve(end);
      };
      this.#connect(0);
    });
  }

  stop(): void {
    this.#ws?.close(1000, 'helper stopped');
    this.#end?.({ reason: 'stopped' });
  }

  #connect(attempt: number): void {
    if (this.#stopped) return;
    const { log } = this.#options;
    const ws = new WebSocket(this.#url, {
      maxPayload: MAX_MESSAGE_BYTES,
      ...(this.#options.ca ? { ca: this.#options.ca } : {}),
      handshakeTimeout: 10_000,
    });
    this.#ws = ws;
    let opened = false;
    let ended = false;
    /** Requests count only on a connection the server has paired. */
    let paired = false;
    ws.on('open', () => {
      opened = true;
      ws.send(
        JSON.stringify(
          this.#secret === undefined
            ? { type: 'hello', version: PROTOCOL_VERSION, code: this.#options.code }
            : { type: 'hello', version: PROTOCOL_VERSION, resume: this.#secret },
        ),
      );
    });
    ws.on('message', (data, isBinary) => {
      const message = isBinary ? undefined : parseMessage(serverMessageSchema, data.toString('utf8'));
      if (message === undefined) {
        log('The lab server sent something this helper does not understand; stopping.');
        ended = true;
        ws.close(1008, 'malformed message');
        this.#end?.({ reason: 'refused', code: 'PROTOCOL', message: 'malformed message from the server' });
        return;
      }
      switch (message.type) {
        case 'paired': {
          const first = this.#secret === undefined;
          this.#secret = message.secret;
          paired = true;
          attempt = 0;
          if (first) {
            log(
              `Paired with ${message.username ? `${message.username}'s` : 'your'} lab session. Leave this window open; requests appear here.`,
            );
          } else log('Reconnected to the lab session.');
          this.#sendStatus(undefined);
          return;
        }
        case 'refused':
          ended = true;
          log(`The lab server ended the pairing: ${message.message}`);
          this.#end?.({ reason: 'refused', code: message.code, message: message.message });
          return;
        case 'request':
          // The reply goes back on this connection: request ids start again on each one.
          if (paired) this.#enqueue(ws, message.id, message.request);
          return;
      }
    });
    ws.on('error', (error) => {
      if (!opened && !this.#stopped)
        log(`Cannot reach the lab server at ${this.#options.server}: ${error.message}`);
    });
    ws.on('close', () => {
      if (ended || this.#stopped) return;
      const max = this.#options.reconnectAttempts ?? 8;
      if (this.#secret === undefined && !opened) {
        this.#end?.({ reason: 'unreachable', message: `cannot reach ${this.#options.server}` });
        return;
      }
      if (attempt >= max) {
        this.#end?.({ reason: 'unreachable', message: `lost the lab server at ${this.#options.server}` });
        return;
      }
      const delay = Math.min(10_000, (this.#options.reconnectDelayMs ?? 500) * 2 ** attempt);
      log(`Lost the connection to the lab server; trying again in ${(delay / 1000).toFixed(1)} s.`);
      this.#reconnect = setTimeout(() => this.#connect(attempt + 1), delay);
    });
  }

  #sendStatus(activity: string | undefined): void {
    const ws = this.#ws;
    if (ws?.readyState !== WebSocket.OPEN) return;
    ws.send(
      JSON.stringify({
        type: 'status',
        token: this.#token === undefined ? null : tokenViewOf(this.#token),
        ...(activity ? { activity } : {}),
      }),
    );
  }

  /** The token, opened again when it was removed and is back; undefined while it is not. */
  async #openToken(): Promise<RootKeyToken | undefined> {
    if (this.#token !== undefined || this.#options.reopen === undefined) return this.#token;
    try {
      this.#token = await this.#options.reopen();
      this.#options.log(`The YubiKey is back: ${this.#token.description.label}.`);
      this.#sendStatus(undefined);
    } catch {
      // Still not there: the request says so.
    }
    return this.#token;
  }

  /** The token in use now (closed by main at the end). */
  get token(): RootKeyToken | undefined {
    return this.#token;
  }

  #enqueue(ws: WebSocket, id: number, request: TokenRequest): void {
    const send = (reply: TokenReply) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'reply', id, reply }));
    };
    const run = async () => {
      // Stopped, or this connection is gone: the server answered the request HELPER_GONE already.
      if (this.#stopped || ws.readyState !== WebSocket.OPEN) return;
      const { log } = this.#options;
      let reply: TokenReply;
      const token = await this.#openToken();
      if (token === undefined) {
        reply = failure(
          'TOKEN_REMOVED',
          'the YubiKey was removed from the computer running the YubiKey helper',
          this.#options.reopen
            ? 'Plug the YubiKey back in; the helper opens it again at the next command.'
            : 'Plug the YubiKey back in and start the helper again.',
        );
        log(`  failed: ${reply.ok ? '' : reply.error.message}`);
        return send(reply);
      }
      try {
        reply = await perform(token, request, {
          activity: (text) => {
            if (text !== undefined) log(`→ ${text}`);
            this.#sendStatus(text);
          },
        });
      } catch (error) {
        reply = {
          ok: false,
          error: { code: 'PKCS11', message: `the token failed: ${(error as Error).message}` },
        };
      }
      if (!reply.ok && reply.error.code === 'TOKEN_REMOVED') {
        // The session on it is gone; drop it, say so on the page, and open it again next time.
        this.#token = undefined;
        try {
          token.close();
        } catch {
          // A removed token may fail to close; it is dropped either way.
        }
        this.#sendStatus(undefined);
      }
      if (reply.ok) {
        if (request.op !== 'list') log(`  done: ${activityOf(request).replace(/ — .*$/, '')}`);
      } else {
        log(
          `  failed: ${reply.error.message}${reply.error.suggestion ? `\n  ${reply.error.suggestion}` : ''}`,
        );
      }
      send(reply);
    };
    // One request at a time; a failure of one (say, a log line that throws) never stops the next.
    this.#queue = this.#queue.then(run).catch((error: unknown) => {
      this.#options.log(`  failed: ${error instanceof Error ? error.message : String(error)}`);
      send(failure('PKCS11', 'the YubiKey helper failed to carry out the request'));
    });
  }
}
