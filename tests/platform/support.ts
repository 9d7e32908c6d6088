/**
 * The platform as the tests run it: on 127.0.0.1 with ephemeral ports and a
 * temporary data directory, and, in place of Next, a router that hands the
 * API paths to the same functions app/app/api/** calls (platform/api.ts
 * `http`), through the Web Request/Response that Next would build. Pages
 * themselves are left to the browser tests.
 *
 * Also a terminal screen driven by the reference TerminalClient, and a
 * reader of Server-Sent Events.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getPlatform, type TaskState } from '../../platform/api.js';
import { createPlatform, type Platform, type PlatformOptions } from '../../platform/index.js';
import type { Settings } from '../../platform/settings.js';
import { TerminalClient } from '../../terminal-server/src/index.js';

export const LAB = 'content-trust';

/** A port free right now on 127.0.0.1 (the hub's must be known before it starts: it is in its URLs). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function toRequest(req: IncomingMessage, res: ServerResponse): Promise<Request> {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  let body: Buffer | undefined;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks);
  }
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`, {
    method: req.method ?? 'GET',
    headers,
    signal: controller.signal,
    ...(body !== undefined ? { body } : {}),
  });
}

async function send(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = name === 'set-cookie' ? response.headers.getSetCookie() : value;
  });
  res.writeHead(response.status, headers);
  if (response.body === null) return void res.end();
  const reader = response.body.getReader();
  res.once('close', () => void reader.cancel().catch(() => undefined));
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) break;
    res.write(value);
  }
  res.end();
}

/** What app/app/api/** routes to, without Next. */
export async function apiRouter(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { pathname } = new URL(req.url ?? '/', 'http://x');
  const http = getPlatform().http;
  const request = await toRequest(req, res);
  const lab = /^\/api\/labs\/([^/]+)\/(status|check)$/.exec(pathname);
  const workshop =
    /^\/api\/instructor\/workshops\/([^/]+)(?:\/(close|events|progress\.csv|broadcast))?$/.exec(pathname);
  const attendee = /^\/api\/instructor\/workshops\/([^/]+)\/attendees\/([^/]+)\/(reset|watch|control)$/.exec(
    pathname,
  );
  const publicWorkshop = /^\/api\/workshops\/([^/]+)$/.exec(pathname);
  const param = (value: string | undefined) => decodeURIComponent(value!);
  let response: Response;
  if (pathname === '/api/health') response = http.health(request);
  else if (pathname === '/api/terminal/ticket') response = await http.terminalTicket(request);
  else if (pathname === '/api/session') response = await http.session(request);
  else if (pathname === '/api/session/control') response = await http.sessionControl(request);
  else if (pathname === '/api/session/control/revoke') response = await http.sessionControlRevoke(request);
  else if (pathname === '/api/session/yubikey') response = await http.sessionYubikey(request);
  else if (lab?.[2] === 'status') response = await http.labStatus(request, param(lab[1]));
  else if (lab?.[2] === 'check') response = await http.labCheck(request, param(lab[1]));
  else if (pathname === '/api/instructor/session') response = await http.instructorSession(request);
  else if (pathname === '/api/instructor/session/signout') response = await http.instructorSignOut(request);
  else if (pathname === '/api/instructor/workshops') response = await http.instructorWorkshops(request);
  else if (workshop && workshop[2] === undefined)
    response = await http.instructorWorkshop(request, param(workshop[1]));
  else if (workshop?.[2] === 'close')
    response = await http.instructorCloseWorkshop(request, param(workshop[1]));
  else if (workshop?.[2] === 'events')
    response = await http.instructorWorkshopEvents(request, param(workshop[1]));
  else if (workshop?.[2] === 'progress.csv')
    response = await http.instructorWorkshopCsv(request, param(workshop[1]));
  else if (workshop?.[2] === 'broadcast')
    response = await http.instructorBroadcast(request, param(workshop[1]));
  else if (attendee?.[3] === 'reset')
    response = await http.instructorResetAttendee(request, param(attendee[1]), param(attendee[2]));
  else if (attendee?.[3] === 'watch')
    response = await http.instructorWatchAttendee(request, param(attendee[1]), param(attendee[2]));
  else if (attendee?.[3] === 'control')
    response = await http.instructorRequestControl(request, param(attendee[1]), param(attendee[2]));
  // As in Next, the static segment wins over the dynamic one beside it.
  else if (pathname === '/api/workshops/join') response = await http.workshopJoin(request);
  else if (publicWorkshop) response = await http.workshopInfo(request, param(publicWorkshop[1]));
  else response = new Response('not found\n', { status: 404 });
  await send(res, response);
}

export interface TestPlatform {
  platform: Platform;
  dataDir: string;
  hubPort: number;
  warnings: string[];
  /** What the platform logged at level info (a generated instructor password among them). */
  infos: string[];
  /** `http://127.0.0.1:<port>` */
  origin: string;
  settings: Settings;
}

export async function startTestPlatform(
  options: {
    dataDir?: string;
    hubPort?: number;
    sandbox?: 'local' | 'bwrap';
    platform?: PlatformOptions;
    /** Fields of Settings beyond the ones above (the instructor password, the stuck threshold). */
    settings?: Partial<Settings>;
  } = {},
): Promise<TestPlatform> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'trustlab-platform-')));
  const hubPort = options.hubPort ?? (await freePort());
  const warnings: string[] = [];
  const settings: Settings = {
    dataDir,
    hubPort,
    hubHost: '127.0.0.1',
    hubHostnames: [],
    webPort: 0,
    webHost: '127.0.0.1',
    publicOrigin: undefined,
    sandbox: options.sandbox ?? 'local',
    mode: 'self-paced',
    runtimeDir: undefined,
    ...options.settings,
  };
  const infos: string[] = [];
  const platform = await createPlatform(settings, {
    web: () => Promise.resolve({ handle: apiRouter }),
    logger: {
      info: (message) => infos.push(message),
      warn: (message) => warnings.push(message),
      error: (message, error) =>
        warnings.push(`${message}: ${error instanceof Error ? error.message : String(error)}`),
    },
    ...options.platform,
  });
  return {
    platform,
    dataDir,
    hubPort,
    warnings,
    infos,
    origin: `http://127.0.0.1:${platform.port}`,
    settings,
  };
}

export async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
}

/** Polls `condition` (which may be async) until it holds. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeout = 20_000,
  describe = () => 'condition not met',
): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A terminal opened the way the page opens it: ticket from the API, then the WebSocket. */
export class Screen {
  text = '';
  client!: TerminalClient;
  readonly #decoder = new TextDecoder();

  static async open(test: TestPlatform, cookie: string): Promise<Screen> {
    const answer = await fetch(`${test.origin}/api/terminal/ticket`, {
      method: 'POST',
      headers: { Origin: test.origin, Cookie: cookie },
    });
    if (answer.status !== 200) throw new Error(`ticket refused: ${answer.status} ${await answer.text()}`);
    const { ticket } = (await answer.json()) as { ticket: string };
    const screen = new Screen();
    screen.client = await TerminalClient.connect({
      url: `ws://127.0.0.1:${test.platform.port}/terminal`,
      ticket,
      origin: test.origin,
      cols: 200,
      rows: 50,
      onReplay: (replay) => {
        screen.text += screen.#decoder.decode(replay.data, { stream: true });
      },
      onOutput: (data) => {
        screen.text += screen.#decoder.decode(data, { stream: true });
      },
    });
    return screen;
  }

  async waitFor(needle: string | RegExp, timeout = 30_000): Promise<void> {
    const found = () => (typeof needle === 'string' ? this.text.includes(needle) : needle.test(this.text));
    await waitUntil(
      found,
      timeout,
      () => `${String(needle)} never appeared; the screen holds:\n${this.text.slice(-3000)}`,
    );
  }

  /** Runs `command`, waits for its end marker (an arithmetic result the echoed line cannot contain). */
  private marker = 100;
  async run(command: string, timeout = 60_000): Promise<string> {
    const marker = this.marker++;
    const start = this.text.length;
    this.client.input(`${command}; echo "end-$((${marker} + 1))-$?"\r`);
    await this.waitFor(new RegExp(`end-${marker + 1}-\\d+`), timeout);
    return this.text.slice(start);
  }

  close(): void {
    this.client.close();
  }
}

/** `docker login` as a learner types it: username, then the hidden password. */
export async function dockerLogin(screen: Screen, username: string, password: string): Promise<void> {
  screen.client.input('docker login\r');
  await screen.waitFor('Username: ');
  screen.client.input(`${username}\r`);
  await screen.waitFor('Password: ');
  screen.client.input(`${password}\r`);
  await screen.waitFor('Login Succeeded');
}

/** Reads an event stream; `tasks` events are kept in order, and every event's data in `received`. */
export class EventStream {
  readonly states: (readonly TaskState[])[] = [];
  readonly events: string[] = [];
  readonly received: Array<{ event: string; data: unknown }> = [];
  readonly done: Promise<void>;

  constructor(
    response: Response,
    private readonly controller: AbortController,
  ) {
    const reader = response.body!.getReader();
    this.done = (async () => {
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffered += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffered.indexOf('\n\n')) !== -1) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            this.events.push(event ?? (block.startsWith(':') ? 'comment' : 'other'));
            if (event !== undefined && data !== undefined)
              this.received.push({ event, data: JSON.parse(data) as unknown });
            if (event === 'tasks' && data !== undefined) this.states.push(JSON.parse(data) as TaskState[]);
          }
        }
      } catch {
        // Aborted by the test.
      }
    })();
  }

  /** Opens the stream as the page's EventSource does (same origin, with the cookie). */
  static async open(test: TestPlatform, cookie: string, lab = LAB): Promise<EventStream> {
    const controller = new AbortController();
    const response = await fetch(`${test.origin}/api/labs/${lab}/status`, {
      headers: { Cookie: cookie, 'Sec-Fetch-Site': 'same-origin', Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    if (response.status !== 200) throw new Error(`status stream refused: ${response.status}`);
    return new EventStream(response, controller);
  }

  /** The data of every `event` received so far, in order. */
  data<T>(event: string): T[] {
    return this.received.filter((entry) => entry.event === event).map((entry) => entry.data as T);
  }

  latest(taskId: string): string | undefined {
    return this.states.at(-1)?.find((state) => state.taskId === taskId)?.status;
  }

  close(): void {
    this.controller.abort();
  }
}
