/**
 * The protocol-level clients of the workshop simulation: what a browser
 * does for an attendee or an instructor, without the browser.
 *
 * - `call`: a same-origin request as the pages' fetch makes it, with the
 *   expected statuses checked (any other answer is an error, body quoted);
 * - `SseReader`: a Server-Sent Events stream, each event stamped with its
 *   arrival time; an `end` event or a stream the server closes is reported;
 * - `AttendeeTerminal`: the terminal page (ticket, WebSocket, the reference
 *   TerminalClient), typing commands with an end marker whose exit status
 *   is checked; waiting is event-driven (no polling), bounded, abortable;
 * - `Changes`: wake-ups for code waiting on a condition over such state.
 */
import { TerminalClient } from '../../terminal-server/src/index.js';

/** Why a wait gave up: its liveness bound passed, or the run was aborted. */
export class WaitError extends Error {
  override readonly name = 'WaitError';
}

/** Conditions re-checked whenever the state they read changes (`notify`). */
export class Changes {
  readonly #checks = new Set<() => void>();

  notify(): void {
    for (const check of [...this.#checks]) check();
  }

  /** Resolves with the first value `probe` gives; rejects after `timeoutMs` or on abort. */
  wait<T>(
    probe: () => T | undefined,
    timeoutMs: number,
    what: () => string,
    signal?: AbortSignal,
  ): Promise<T> {
    const first = probe();
    if (first !== undefined) return Promise.resolve(first);
    return new Promise<T>((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#checks.delete(check);
        signal?.removeEventListener('abort', aborted);
        settle();
      };
      const check = () => {
        let value: T | undefined;
        try {
          value = probe();
        } catch (error) {
          finish(() => reject(error instanceof Error ? error : new Error(String(error))));
          return;
        }
        if (value !== undefined) finish(() => resolve(value));
      };
      const aborted = () => finish(() => reject(new WaitError(`aborted while waiting: ${what()}`)));
      const timer = setTimeout(
        () => finish(() => reject(new WaitError(`no progress within ${timeoutMs} ms: ${what()}`))),
        timeoutMs,
      );
      this.#checks.add(check);
      if (signal?.aborted) aborted();
      else signal?.addEventListener('abort', aborted, { once: true });
    });
  }
}

export interface CallOptions {
  method?: string;
  cookie?: string;
  csrf?: string;
  body?: unknown;
  /** Statuses that count as the expected answer (default 200). */
  expect?: readonly number[];
}

/** A same-origin request; throws (with the answer's body) when the status is not an expected one. */
export async function call(origin: string, pathname: string, options: CallOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { 'Sec-Fetch-Site': 'same-origin' };
  if (method !== 'GET') headers.Origin = origin;
  if (options.cookie !== undefined) headers.Cookie = options.cookie;
  if (options.csrf !== undefined) headers['X-CSRF-Token'] = options.csrf;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${origin}${pathname}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const expected = options.expect ?? [200];
  if (!expected.includes(response.status)) {
    const text = await response.text().catch(() => '(no body)');
    throw new Error(
      `${method} ${pathname} answered ${response.status} (expected ${expected.join(' or ')}): ${text.slice(0, 500)}`,
    );
  }
  return response;
}

/** `name=value` of the first Set-Cookie of an answer. */
export function cookieOf(response: Response): string {
  const pair = response.headers.getSetCookie()[0]?.split(';')[0];
  if (pair === undefined || !pair.includes('=')) throw new Error(`no cookie set by ${response.url}`);
  return pair;
}

export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
  /** performance.now() when the chunk holding it arrived. */
  readonly at: number;
}

/** A Server-Sent Events stream; `problem` hears of an `end` event, a close by the server, a failure. */
export class SseReader {
  readonly #controller = new AbortController();
  #closing = false;
  /** Settles when the reading loop ends. */
  readonly done: Promise<void>;

  private constructor(
    response: Response,
    onEvent: (event: SseEvent) => void,
    problem: (message: string) => void,
    label: string,
  ) {
    const reader = response.body!.getReader();
    this.done = (async () => {
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) {
            if (!this.#closing) problem(`${label}: the server closed the stream`);
            return;
          }
          const at = performance.now();
          buffered += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffered.indexOf('\n\n')) !== -1) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data: '))
              .map((line) => line.slice('data: '.length))
              .join('\n');
            if (event === undefined) continue; // a comment (heartbeat) or the retry field
            if (event === 'end' && !this.#closing)
              problem(`${label}: the server ended the stream (event: end)`);
            onEvent({ event, data: data === '' ? undefined : (JSON.parse(data) as unknown), at });
          }
        }
      } catch (error) {
        if (!this.#closing) problem(`${label}: ${error instanceof Error ? error.message : String(error)}`);
      }
    })();
  }

  static async open(
    origin: string,
    pathname: string,
    cookie: string,
    onEvent: (event: SseEvent) => void,
    problem: (message: string) => void,
    label: string,
  ): Promise<SseReader> {
    const controller = new AbortController();
    const response = await fetch(`${origin}${pathname}`, {
      headers: { Cookie: cookie, 'Sec-Fetch-Site': 'same-origin', Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (response.status !== 200)
      throw new Error(
        `GET ${pathname} answered ${response.status}: ${(await response.text()).slice(0, 500)}`,
      );
    const reader = new SseReader(response, onEvent, problem, label);
    reader.#controller.signal.addEventListener('abort', () => controller.abort(), { once: true });
    return reader;
  }

  close(): Promise<void> {
    this.#closing = true;
    this.#controller.abort();
    return this.done;
  }
}

/** What a typed command is expected to do. */
export type Expectation = 'succeeds' | 'refused by content trust';

export interface CommandRun {
  readonly command: string;
  /** When it was typed and when its end marker arrived (performance.now()). */
  readonly typedAt: number;
  readonly endedAt: number;
  readonly code: number;
}

const MARKER = 'wl-end';
/** Screen text kept per attendee; older text is dropped (the markers are searched in what arrives). */
const KEEP_CHARS = 256 * 1024;

/** An attendee's terminal as the lab page opens it: a ticket, the WebSocket, the reference client. */
export class AttendeeTerminal {
  client!: TerminalClient;
  /** When the server said the shell runs (STATUS 200), performance.now(). */
  readyAt: number | undefined;
  readonly #changes = new Changes();
  readonly #decoder = new TextDecoder();
  #text = '';
  /** Characters dropped from the front of #text. */
  #dropped = 0;
  #next = 1;
  #closing = false;

  private constructor(
    private readonly label: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  static async open(options: {
    origin: string;
    port: number;
    cookie: string;
    label: string;
    problem: (message: string) => void;
    signal?: AbortSignal;
  }): Promise<AttendeeTerminal> {
    const asked = performance.now();
    const answer = await call(options.origin, '/api/terminal/ticket', {
      method: 'POST',
      cookie: options.cookie,
    });
    const { ticket } = (await answer.json()) as { ticket: string };
    const issued = performance.now();
    const seen: { opened?: number } = {};
    const terminal = new AttendeeTerminal(options.label, options.signal);
    // For a close by the server: how long the ticket and the connection took (a ticket lives 30 s).
    const timing = () =>
      `; the ticket took ${((issued - asked) / 1000).toFixed(1)} s to arrive, ` +
      (seen.opened === undefined
        ? 'the WebSocket was not open yet'
        : `the WebSocket opened ${((seen.opened - issued) / 1000).toFixed(1)} s after it, ` +
          `and was closed ${((performance.now() - seen.opened) / 1000).toFixed(1)} s after opening`);
    terminal.client = await TerminalClient.connect({
      url: `ws://127.0.0.1:${options.port}/terminal`,
      ticket,
      origin: options.origin,
      cols: 160,
      rows: 48,
      onReplay: (replay) => terminal.#take(replay.data),
      onOutput: (data) => terminal.#take(data),
      onStatus: (status) => {
        if (status.code === 200) terminal.readyAt ??= performance.now();
        if (status.code >= 1000)
          options.problem(`${options.label}: terminal STATUS ${status.code} ${status.reason}${timing()}`);
      },
      onClose: (close) => {
        if (!terminal.#closing)
          options.problem(
            `${options.label}: the server closed the terminal (${close.code} ${close.reason})${timing()}`,
          );
        terminal.#changes.notify();
      },
    });
    seen.opened = performance.now();
    return terminal;
  }

  get #end(): number {
    return this.#dropped + this.#text.length;
  }

  #take(data: Uint8Array): void {
    this.#text += this.#decoder.decode(data, { stream: true });
    if (this.#text.length > 2 * KEEP_CHARS) {
      const cut = this.#text.length - KEEP_CHARS;
      this.#text = this.#text.slice(cut);
      this.#dropped += cut;
    }
    this.#changes.notify();
  }

  #since(position: number): string {
    return this.#text.slice(Math.max(0, position - this.#dropped));
  }

  /** The last characters of the screen, for error messages. */
  tail(chars = 1200): string {
    return this.#text.slice(-chars);
  }

  /** Waits for `pattern` in what arrived since `from`; resolves with the match and its absolute end. */
  waitFor(pattern: RegExp, from: number, timeoutMs: number, what: string): Promise<RegExpExecArray> {
    return this.#changes.wait(
      () => {
        if (this.client.socket.readyState > 1) throw new Error(`${what}: the terminal is closed`);
        return pattern.exec(this.#since(from)) ?? undefined;
      },
      timeoutMs,
      () => `${what}; the screen ends:\n${this.tail()}`,
      this.signal,
    );
  }

  /** Types `command` and waits for its end marker; checks its exit status against `expectation`. */
  async run(command: string, expectation: Expectation, timeoutMs: number): Promise<CommandRun> {
    const id = this.#next++;
    const from = this.#end;
    const typedAt = performance.now();
    // The marker is computed by the shell, so an echoed command line never matches it.
    this.client.input(`${command}; echo "${MARKER}-$((${id} + 1))-$?"\r`);
    return this.#finish(command, id, from, typedAt, expectation, timeoutMs);
  }

  /**
   * `docker login` as a learner types it: the username at its prompt, then
   * the hidden password; the exit status and "Login Succeeded" are checked.
   */
  async login(username: string, password: string, timeoutMs: number): Promise<CommandRun> {
    const id = this.#next++;
    const from = this.#end;
    const typedAt = performance.now();
    this.client.input(`docker login; echo "${MARKER}-$((${id} + 1))-$?"\r`);
    await this.waitFor(/Username: ?$/, from, timeoutMs, `${this.label}: no Username prompt`);
    this.client.input(`${username}\r`);
    await this.waitFor(/Password: ?$/, from, timeoutMs, `${this.label}: no Password prompt`);
    this.client.input(`${password}\r`);
    const run = await this.#finish('docker login', id, from, typedAt, 'succeeds', timeoutMs);
    if (!this.#since(from).includes('Login Succeeded'))
      throw new Error(`${this.label}: docker login exited 0 without "Login Succeeded":\n${this.tail()}`);
    return run;
  }

  async #finish(
    command: string,
    id: number,
    from: number,
    typedAt: number,
    expectation: Expectation,
    timeoutMs: number,
  ): Promise<CommandRun> {
    const marker = await this.waitFor(
      new RegExp(`${MARKER}-${id + 1}-(\\d+)`),
      from,
      timeoutMs,
      `${this.label}: \`${command}\` did not finish`,
    );
    const endedAt = performance.now();
    const code = Number(marker[1]);
    const output = this.#since(from);
    const printed = output.slice(0, output.indexOf(`${MARKER}-${id + 1}-`));
    if (expectation === 'succeeds' && code !== 0)
      throw new Error(`${this.label}: \`${command}\` exited ${code}:\n${printed.slice(-1500)}`);
    if (expectation === 'refused by content trust' && (code === 0 || !/trust data/i.test(printed)))
      throw new Error(
        `${this.label}: \`${command}\` should have been refused by content trust, but exited ${code}:\n${printed.slice(-1500)}`,
      );
    return { command, typedAt, endedAt, code };
  }

  /** Closes the connection as a page does when it goes away. */
  async close(timeoutMs = 10_000): Promise<void> {
    this.#closing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      this.client.close(),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.client.terminate();
          resolve();
        }, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }
}
