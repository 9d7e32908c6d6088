/**
 * Shared set-up for the terminal server's integration tests: a server on
 * 127.0.0.1 with a temporary data directory, and a `Screen` that records
 * what a reference client receives.
 *
 * The local driver is the default; a driver's own tests can pass another
 * (e.g. bwrap) to run the same scenarios against it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createLocalDriver,
  createTerminalServer,
  TerminalClient,
  type ClientEvent,
  type CloseEvent,
  type ReplayEvent,
  type SandboxDriver,
  type StatusEvent,
  type TerminalClientOptions,
  type TerminalServer,
  type TerminalServerConfig,
} from '../../terminal-server/src/index.js';

export const ORIGIN = 'http://127.0.0.1:3000';

export interface TestTerminalServer {
  readonly server: TerminalServer;
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly events: ClientEvent[];
  readonly warnings: string[];
  /** Moves the server's clock (tickets) forward. */
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

export async function startTestServer(
  options: {
    driver?: (dataDir: string) => SandboxDriver;
    config?: Partial<Omit<TerminalServerConfig, 'driver'>>;
  } = {},
): Promise<TestTerminalServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'trustlab-terminal-'));
  const warnings: string[] = [];
  const events: ClientEvent[] = [];
  let skew = 0;
  const driver =
    options.driver?.(dataDir) ?? createLocalDriver({ dataDir, warn: (message) => warnings.push(message) });
  const server = createTerminalServer({
    mode: 'self-paced',
    allowedHosts: ['127.0.0.1'],
    allowedOrigins: [ORIGIN],
    now: () => Date.now() + skew,
    logger: { warn: (message) => warnings.push(message), error: (message) => warnings.push(message) },
    ...options.config,
    limits: { helloTimeoutMs: 2000, ...options.config?.limits },
    driver,
  });
  server.on('clientEvent', (event) => events.push(event));
  const { url, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    server,
    url,
    port,
    dataDir,
    events,
    warnings,
    advanceClock: (ms) => {
      skew += ms;
    },
    close: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `condition` until it holds; fails with `describe()` after `timeout`.
 * (expect.poll cannot run in beforeAll; this can.)
 */
export async function waitUntil(
  condition: () => boolean,
  timeout = 15_000,
  describe = () => 'condition not met',
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What one client connection received, decoded as text, in order. */
export class Screen {
  readonly replays: ReplayEvent[] = [];
  readonly statuses: StatusEvent[] = [];
  closeEvent: CloseEvent | undefined;
  #text = '';
  readonly #decoder = new TextDecoder();
  client!: TerminalClient;

  /** Everything shown: the replay, then the output. */
  get text(): string {
    return this.#text;
  }

  options(): Pick<TerminalClientOptions, 'onReplay' | 'onOutput' | 'onStatus' | 'onClose'> {
    return {
      onReplay: (replay) => {
        this.replays.push(replay);
        this.#text += this.#decoder.decode(replay.data, { stream: true });
      },
      onOutput: (data) => {
        this.#text += this.#decoder.decode(data, { stream: true });
      },
      onStatus: (status) => this.statuses.push(status),
      onClose: (event) => {
        this.closeEvent = event;
      },
    };
  }

  /** Occurrences of `needle` in the text. */
  count(needle: string): number {
    return this.#text.split(needle).length - 1;
  }

  async waitFor(needle: string | RegExp, timeout = 15_000): Promise<void> {
    const found = () => (typeof needle === 'string' ? this.#text.includes(needle) : needle.test(this.#text));
    await waitUntil(
      found,
      timeout,
      () => `${String(needle)} never appeared; the screen holds:\n${this.#text.slice(-2000)}`,
    );
  }

  /** Waits for a STATUS with `code` (and `reason`, if given) beyond the first `after` statuses. */
  async waitForStatus(code: number, options: { reason?: string; after?: number; timeout?: number } = {}) {
    const found = () =>
      this.statuses
        .slice(options.after ?? 0)
        .some(
          (status) =>
            status.code === code && (options.reason === undefined || status.reason === options.reason),
        );
    await waitUntil(
      found,
      options.timeout ?? 15_000,
      () => `no STATUS ${code}; received ${JSON.stringify(this.statuses)}`,
    );
  }

  async waitForClose(timeout = 15_000): Promise<CloseEvent> {
    await waitUntil(
      () => this.closeEvent !== undefined,
      timeout,
      () => 'the connection was not closed',
    );
    return this.closeEvent!;
  }
}

/** Issues a ticket for `attendee` and connects a client that records into a new Screen. */
export async function openTerminal(
  harness: TestTerminalServer,
  attendee: string,
  options: Partial<TerminalClientOptions> = {},
): Promise<Screen> {
  const screen = new Screen();
  screen.client = await TerminalClient.connect({
    url: harness.url,
    ticket: harness.server.issueTicket({ attendee }).ticket,
    origin: ORIGIN,
    ...screen.options(),
    ...options,
  });
  return screen;
}

/** Issues a watch ticket for `attendee`'s session and connects a watcher that records into a new Screen. */
export async function openWatcher(
  harness: TestTerminalServer,
  attendee: string,
  watcher: string,
  options: Partial<TerminalClientOptions> = {},
): Promise<Screen> {
  const screen = new Screen();
  screen.client = await TerminalClient.connect({
    url: harness.url,
    ticket: harness.server.issueWatchTicket(attendee, { watcher }).ticket,
    origin: ORIGIN,
    ...screen.options(),
    ...options,
  });
  return screen;
}

/** Runs `command` and waits for its marker: `echo` of an arithmetic result, which the echoed command line cannot contain. */
export async function run(screen: Screen, command: string, marker: number): Promise<void> {
  screen.client.input(`${command}; echo "done-$((${marker} + 1))"\r`);
  await screen.waitFor(`done-${marker + 1}`);
}
