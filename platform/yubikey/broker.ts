/**
 * The lab server's side of attendees' YubiKeys. Each learner may pair one
 * helper (yubikey-helper/, running where their YubiKey is plugged in):
 *
 * 1. The lab page asks for a pairing code (`pair`): 8 characters, single
 *    use, valid 10 minutes, stored as a digest. A new code ends the
 *    learner's previous pairing.
 * 2. The helper connects out to `/yubikey-helper` (WebSocket) and says
 *    hello with the code. The server answers `paired` with a secret bound to
 *    this pairing (256 bits, also stored as a digest), which the helper uses
 *    to come back after a dropped connection. Wrong codes are counted per
 *    address and refused for a while after too many.
 * 3. The learner's sessions get a token socket (`tokenSocketProvider`):
 *    the client's requests go to their helper and to no one else's.
 *
 * Upgrades that carry an `Origin` are refused: browsers always send one and
 * the helper never does, so no web page, this lab's or another site's, can
 * pose as a helper.
 *
 * In local mode (`TRUSTLAB_PKCS11_MODULE`: one learner on their own
 * machine) the server opens the module itself and every request goes to
 * it; there is nothing to pair.
 *
 * What the learner's token reported holding (key IDs from list and import
 * replies) is remembered for the lab's check: a root key "on the paired
 * token" is one of these.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { refuseUpgrade, type TokenSocketProvider } from '../../terminal-server/src/index.js';
import type { TokenReply, TokenRequest, TokenView } from '../../yubikey-helper/src/protocol.js';
import {
  failure,
  formatPairingCode,
  HELPER_PATH,
  helperMessageSchema,
  MAX_MESSAGE_BYTES,
  normalisePairingCode,
  PAIRING_ALPHABET,
  PAIRING_CODE_LENGTH,
  parseMessage,
} from '../../yubikey-helper/src/protocol.js';
import type { YubikeyPairing, YubikeyStatus } from '../api.js';
import { PlatformError } from '../errors.js';
import type { PlatformLogger } from '../logger.js';
import type { RequestPolicy } from '../request-policy.js';
import { HelperLink } from './helper-link.js';
import { listenTokenSocket } from './token-socket.js';

export interface LocalToken {
  readonly view: TokenView | null;
  request(request: TokenRequest, onActivity: (text: string | undefined) => void): Promise<TokenReply>;
  close(): Promise<void>;
}

export interface YubikeyBrokerOptions {
  policy: Pick<RequestPolicy, 'hostAllowed'>;
  logger: PlatformLogger;
  /** The origin the helper is told to connect to, in the command shown on the page. */
  publicOrigin: string;
  /** The learner's name shown to the helper once paired. */
  usernameOf(learnerId: string): Promise<string | undefined>;
  /** Local mode: the server's own token; then nothing is paired. */
  local?: LocalToken;
  codeLifetimeMs?: number;
  helloTimeoutMs?: number;
  /** How long a request may wait for the helper (a PIN, a touch). */
  requestTimeoutMs?: number;
  /** Wrong codes allowed per address per window before refusing for the rest of it. */
  failedCodesPerWindow?: number;
  failureWindowMs?: number;
  now?: () => number;
}

interface LearnerToken {
  code?: { digest: Buffer; expiresAt: number };
  secret?: Buffer;
  helper?: HelperLink;
  keys: Set<string>;
  /** Requests of this learner's sessions waiting for the token now. */
  inFlight: number;
}

/**
 * Requests one learner may have waiting at once: a command makes one at a time, and a
 * sandbox that opens connection after connection must not pile up requests (and their
 * bytes) on the server while the helper waits for a touch.
 */
const MAX_IN_FLIGHT = 4;
/** Key IDs remembered per learner: a YubiKey holds 4 root keys; a helper can say no more. */
const MAX_KEYS = 16;
/** Connections that may be waiting for their hello at once, across all peers. */
const MAX_GREETING = 64;
/** Status notifications per learner are sent at most this often (ms); the last one always goes. */
const STATUS_INTERVAL_MS = 100;

type StatusListener = (status: YubikeyStatus) => void;

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Adds `listener` to the learner's set in `map`; returns its removal, which drops an empty set. */
function listen<L>(map: Map<string, Set<L>>, learnerId: string, listener: L): () => void {
  let set = map.get(learnerId);
  if (set === undefined) {
    set = new Set();
    map.set(learnerId, set);
  }
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0) map.delete(learnerId);
  };
}

export class YubikeyBroker {
  readonly #options: YubikeyBrokerOptions;
  readonly #learners = new Map<string, LearnerToken>();
  readonly #byCode = new Map<string, string>();
  readonly #bySecret = new Map<string, string>();
  readonly #listeners = new Map<string, Set<StatusListener>>();
  readonly #keyListeners = new Map<string, Set<() => void>>();
  readonly #failures = new Map<string, { count: number; since: number }>();
  readonly #pendingStatus = new Map<string, NodeJS.Timeout>();
  readonly #lastStatus = new Map<string, number>();
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  /** Connections that have not said hello yet. */
  readonly #greeting = new Set<WebSocket>();
  #localActivity: string | undefined;
  #closing = false;

  constructor(options: YubikeyBrokerOptions) {
    this.#options = options;
  }

  get #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #learner(learnerId: string): LearnerToken {
    let entry = this.#learners.get(learnerId);
    if (entry === undefined) {
      entry = { keys: new Set(), inFlight: 0 };
      this.#learners.set(learnerId, entry);
    }
    return entry;
  }

  status(learnerId: string): YubikeyStatus {
    const local = this.#options.local;
    if (local !== undefined) {
      return {
        state: 'connected',
        local: true,
        token: local.view,
        ...(this.#localActivity ? { activity: this.#localActivity } : {}),
      };
    }
    const helper = this.#learners.get(learnerId)?.helper;
    if (helper === undefined || helper.closed) return { state: 'not-connected', local: false, token: null };
    return {
      state: 'connected',
      local: false,
      token: helper.token,
      ...(helper.activity ? { activity: helper.activity } : {}),
    };
  }

  /** Every change of the learner's status (the page's panel); returns the way to stop. */
  watch(learnerId: string, listener: StatusListener): () => void {
    return listen(this.#listeners, learnerId, listener);
  }

  /**
   * Only changes of what the learner's token holds (the lab's checks): a
   * helper's status frames, several per signature, run no check.
   */
  watchKeys(learnerId: string, listener: () => void): () => void {
    return listen(this.#keyListeners, learnerId, listener);
  }

  /**
   * A status frame from a helper. Coalesced: a helper sending them as fast as it can costs
   * each page one update per interval, not one per frame; the last one always goes out.
   */
  #statusFrame(learnerId: string): void {
    if (this.#pendingStatus.has(learnerId)) return;
    const last = this.#lastStatus.get(learnerId) ?? -Infinity;
    const wait = Math.max(0, last + STATUS_INTERVAL_MS - Date.now());
    if (wait === 0) return this.#notify(learnerId);
    const timer = setTimeout(() => this.#notify(learnerId), wait);
    timer.unref();
    this.#pendingStatus.set(learnerId, timer);
  }

  #notify(learnerId: string): void {
    clearTimeout(this.#pendingStatus.get(learnerId));
    this.#pendingStatus.delete(learnerId);
    this.#lastStatus.set(learnerId, Date.now());
    const status = this.status(learnerId);
    for (const listener of this.#listeners.get(learnerId) ?? []) listener(status);
  }

  /** Key IDs the learner's token said it holds (list and import replies), for the lab's check. */
  keysOnToken(learnerId: string): readonly string[] {
    return [...(this.#learners.get(learnerId)?.keys ?? [])];
  }

  /** A new pairing code for the learner; their previous code, secret and helper stop working. */
  pair(learnerId: string): YubikeyPairing {
    if (this.#options.local !== undefined) {
      throw new PlatformError(
        'LOCAL_TOKEN',
        'this lab server uses the token directly: there is nothing to pair',
        {
          suggestion: 'Plug the YubiKey into this computer; no helper is needed.',
        },
      );
    }
    if (this.#closing) throw new PlatformError('CLOSED', 'the lab server is stopping');
    const entry = this.#learner(learnerId);
    this.#unpair(learnerId, entry, 'a new pairing code was made on the lab page');
    this.#pruneExpiredCodes();
    let code: string;
    // Two live codes must never be the same: one learner's helper would pair with the other.
    do {
      code = '';
      for (let i = 0; i < PAIRING_CODE_LENGTH; i++)
        code += PAIRING_ALPHABET[randomInt(PAIRING_ALPHABET.length)];
    } while (this.#byCode.has(digest(code).toString('hex')));
    const expiresAt = this.#now + (this.#options.codeLifetimeMs ?? 10 * 60_000);
    entry.code = { digest: digest(code), expiresAt };
    this.#byCode.set(digest(code).toString('hex'), learnerId);
    const shown = formatPairingCode(code);
    return {
      code: shown,
      expiresAt,
      command: `npm run yubikey-helper -- --server ${this.#options.publicOrigin} --code ${shown}`,
      status: this.status(learnerId),
    };
  }

  /** Codes nobody redeemed in time are forgotten, so the map holds live codes only. */
  #pruneExpiredCodes(): void {
    for (const [key, learnerId] of this.#byCode) {
      const entry = this.#learners.get(learnerId);
      if (entry?.code === undefined || entry.code.expiresAt <= this.#now) {
        this.#byCode.delete(key);
        if (entry?.code?.digest.toString('hex') === key) delete entry.code;
      }
    }
  }

  #unpair(learnerId: string, entry: LearnerToken, why: string): void {
    if (entry.code) this.#byCode.delete(entry.code.digest.toString('hex'));
    if (entry.secret) this.#bySecret.delete(entry.secret.toString('hex'));
    delete entry.code;
    delete entry.secret;
    const helper = entry.helper;
    delete entry.helper;
    if (helper && !helper.closed) {
      helper.close(4001, 'unpaired', { code: 'UNPAIRED', message: `This pairing has ended: ${why}.` });
      this.#notify(learnerId);
    }
  }

  /** The provider the terminal server binds into each sandbox as `TRUSTLAB_TOKEN`. */
  readonly tokenSocketProvider: TokenSocketProvider = {
    open: (session, socketPath, owner) =>
      listenTokenSocket({
        path: socketPath,
        owner,
        answer: (request) => this.request(session.attendee, request),
      }),
  };

  /** One request of the learner's client, to their token. Never rejects. */
  async request(learnerId: string, request: TokenRequest): Promise<TokenReply> {
    const local = this.#options.local;
    if (local !== undefined) {
      const reply = await local.request(request, (activity) => {
        this.#localActivity = activity;
        this.#notify(learnerId);
      });
      this.#remember(learnerId, reply, request);
      return reply;
    }
    const entry = this.#learners.get(learnerId);
    const helper = entry?.helper;
    if (entry === undefined || helper === undefined || helper.closed) {
      return failure(
        'NO_HELPER',
        'no YubiKey helper is paired with this terminal',
        'Start the YubiKey helper with the command shown on the lab page, on the computer where the YubiKey is plugged in.',
      );
    }
    if (entry.inFlight >= MAX_IN_FLIGHT) {
      return failure(
        'BUSY',
        'the YubiKey helper is still busy with earlier requests',
        'Look at the helper’s window (it may wait for the PIN or a touch), then run the command again.',
      );
    }
    entry.inFlight++;
    try {
      // What the token holds is remembered by the link's reply event, for every request.
      return await helper.request(request);
    } finally {
      entry.inFlight--;
    }
  }

  #remember(learnerId: string, reply: TokenReply, request: TokenRequest): void {
    if (!reply.ok) return;
    const entry = this.#learner(learnerId);
    const before = [...entry.keys].join();
    // A listing says what the token holds now; an import adds one key to it.
    if (request.op === 'list') entry.keys = new Set((reply.keys ?? []).map((key) => key.keyId));
    if (reply.key) entry.keys.add(reply.key.keyId);
    while (entry.keys.size > MAX_KEYS) entry.keys.delete(entry.keys.values().next().value!);
    // Watchers (the page, the lab's checks) hear when what the token holds changed.
    if ([...entry.keys].join() === before) return;
    this.#notify(learnerId);
    for (const listener of this.#keyListeners.get(learnerId) ?? []) listener();
  }

  /** Takes the upgrade when it is for the helper's path; false leaves it to others. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = req.url ?? '/';
    if (url !== HELPER_PATH) return false;
    socket.on('error', () => socket.destroy());
    if (this.#closing) return refuseUpgrade(socket, 503, 'the lab server is stopping');
    if (!this.#options.policy.hostAllowed(req.headers.host)) return refuseUpgrade(socket, 403, 'forbidden');
    if (req.headers.origin !== undefined) {
      return refuseUpgrade(socket, 403, 'the YubiKey helper endpoint does not serve web pages');
    }
    if (this.#greeting.size >= MAX_GREETING) {
      return refuseUpgrade(socket, 503, 'too many helpers are connecting; retry shortly');
    }
    const address = req.socket.remoteAddress ?? 'unknown';
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      // Before anything else: an oversized or invalid frame is an 'error' event, which unheard
      // would take the whole server down. HelperLink takes over once the helper is paired.
      ws.on('error', () => ws.terminate());
      this.#greeting.add(ws);
      const deadline = setTimeout(() => ws.close(4000, 'no hello'), this.#options.helloTimeoutMs ?? 10_000);
      ws.once('close', () => {
        clearTimeout(deadline);
        this.#greeting.delete(ws);
      });
      const refuse = (code: string, message: string) => {
        clearTimeout(deadline);
        this.#greeting.delete(ws);
        ws.send(JSON.stringify({ type: 'refused', code, message }));
        ws.close(4003, code);
      };
      ws.once('message', (data, isBinary) => {
        clearTimeout(deadline);
        if (this.#closing) return refuse('SHUTDOWN', 'the lab server is stopping');
        const hello = isBinary ? undefined : parseMessage(helperMessageSchema, data.toString('utf8'));
        if (hello?.type !== 'hello' || (hello.code === undefined) === (hello.resume === undefined)) {
          return refuse(
            'BAD_HELLO',
            'the first message must be a hello with a pairing code or a resume secret',
          );
        }
        // Only codes are guessable (a secret has 256 bits): only codes are counted and held back,
        // so that helpers coming back after a restart, all behind one address, lock nobody out.
        const byCode = hello.code !== undefined;
        if (byCode && this.#throttled(address)) {
          return refuse('TOO_MANY', 'too many wrong pairing codes from this address: wait a few minutes');
        }
        const found = byCode ? this.#redeemCode(hello.code!) : this.#redeemSecret(hello.resume!);
        if ('refusal' in found) {
          if (byCode) this.#failed(address);
          return refuse(found.refusal.code, found.refusal.message);
        }
        this.#greeting.delete(ws);
        this.#paired(found.learnerId, ws, found.secret).catch((error: unknown) => {
          this.#options.logger.warn(`pairing a YubiKey helper with learner ${found.learnerId} failed`, error);
          ws.terminate();
        });
      });
    });
    return true;
  }

  #redeemCode(
    typed: string,
  ): { learnerId: string; secret: string } | { refusal: { code: string; message: string } } {
    const code = normalisePairingCode(typed);
    const learnerId = code === undefined ? undefined : this.#byCode.get(digest(code).toString('hex'));
    const entry = learnerId === undefined ? undefined : this.#learners.get(learnerId);
    if (learnerId === undefined || entry?.code === undefined || code === undefined) {
      return {
        refusal: { code: 'BAD_CODE', message: 'this pairing code is not valid: check it on the lab page' },
      };
    }
    // Single use: the code is gone whether it pairs or has expired.
    this.#byCode.delete(entry.code.digest.toString('hex'));
    const expired = entry.code.expiresAt <= this.#now;
    delete entry.code;
    if (expired) {
      return {
        refusal: {
          code: 'EXPIRED',
          message: 'this pairing code has expired: make a new one on the lab page',
        },
      };
    }
    // A new pairing: a fresh secret, and any helper of the learner's still connected is replaced.
    if (entry.secret) this.#bySecret.delete(entry.secret.toString('hex'));
    const secret = randomBytes(32).toString('base64url');
    entry.secret = digest(secret);
    this.#bySecret.set(entry.secret.toString('hex'), learnerId);
    return { learnerId, secret };
  }

  #redeemSecret(
    secret: string,
  ): { learnerId: string; secret: string } | { refusal: { code: string; message: string } } {
    const wanted = digest(secret);
    const learnerId = this.#bySecret.get(wanted.toString('hex'));
    const stored = learnerId === undefined ? undefined : this.#learners.get(learnerId)?.secret;
    if (learnerId === undefined || stored === undefined || !timingSafeEqual(stored, wanted)) {
      return {
        refusal: {
          code: 'UNPAIRED',
          message:
            'this pairing has ended: make a new pairing code on the lab page and start the helper with it',
        },
      };
    }
    return { learnerId, secret };
  }

  #throttled(address: string): boolean {
    const entry = this.#failures.get(address);
    if (entry === undefined) return false;
    if (this.#now - entry.since > (this.#options.failureWindowMs ?? 5 * 60_000)) {
      this.#failures.delete(address);
      return false;
    }
    return entry.count >= (this.#options.failedCodesPerWindow ?? 10);
  }

  #failed(address: string): void {
    // Old entries go, so the map holds only addresses that failed recently.
    for (const [other, seen] of this.#failures) {
      if (this.#now - seen.since > (this.#options.failureWindowMs ?? 5 * 60_000))
        this.#failures.delete(other);
    }
    const entry = this.#failures.get(address);
    if (entry === undefined || this.#now - entry.since > (this.#options.failureWindowMs ?? 5 * 60_000)) {
      this.#failures.set(address, { count: 1, since: this.#now });
    } else entry.count++;
  }

  async #paired(learnerId: string, ws: WebSocket, secret: string): Promise<void> {
    const entry = this.#learner(learnerId);
    const previous = entry.helper;
    if (previous && !previous.closed) {
      previous.close(4002, 'replaced', {
        code: 'REPLACED',
        message: 'another helper paired with this session; this one stops',
      });
    }
    const link: HelperLink = new HelperLink(
      ws,
      {
        status: () => this.#statusFrame(learnerId),
        reply: (request, reply) => this.#remember(learnerId, reply, request),
        closed: () => {
          if (entry.helper === link) this.#notify(learnerId);
        },
      },
      this.#options.requestTimeoutMs ?? 120_000,
    );
    entry.helper = link;
    // Only for the helper's greeting line: a failed lookup must not fail the pairing.
    const username = (await this.#options.usernameOf(learnerId).catch(() => undefined)) ?? '';
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ type: 'paired', secret, username }));
    this.#options.logger.info(`a YubiKey helper paired with learner ${learnerId}`);
    this.#notify(learnerId);
    // Learn what the token holds now, for the check and the page.
    void link.request({ op: 'list' });
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const [learnerId, entry] of this.#learners) {
      if (entry.helper && !entry.helper.closed) {
        entry.helper.close(1001, 'shutdown', { code: 'SHUTDOWN', message: 'the lab server is stopping' });
        this.#notify(learnerId);
      }
    }
    // Connections that have not said hello yet are told too, and pair nothing.
    // The pages hear the last word now, not after the interval.
    for (const learnerId of [...this.#pendingStatus.keys()]) this.#notify(learnerId);
    for (const ws of this.#greeting) {
      ws.send(JSON.stringify({ type: 'refused', code: 'SHUTDOWN', message: 'the lab server is stopping' }));
      ws.close(1001, 'shutdown');
    }
    this.#greeting.clear();
    this.#wss.close();
    await this.#options.local?.close();
  }
}
