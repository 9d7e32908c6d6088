/**
 * An instructor watches an attendee's terminal and types in it only with
 * the attendee's consent, end to end through the HTTP routes and the real
 * terminal WebSocket: the watch ticket, refused input, the request on the
 * attendee's status stream, accepting, revoking, declining, the dashboard's
 * `control` events, and who may call what. The local sandbox driver.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlChange, ControlRequest, WatchTicket, WorkshopView } from '../../platform/api.js';
import { CSRF_HEADER, INSTRUCTOR_COOKIE } from '../../platform/api.js';
import { TerminalClient, WATCH_STATUS, type StatusEvent } from '../../terminal-server/src/index.js';
import {
  EventStream,
  LAB,
  removeDataDir,
  Screen,
  startTestPlatform,
  waitUntil,
  type TestPlatform,
} from './support.js';

const HOUR = 60 * 60 * 1000;

interface Attendee {
  cookie: string;
  learnerId: string;
}

/** The instructor's side of the WebSocket: what it saw, and its STATUS codes. */
class WatcherScreen {
  text = '';
  statuses: StatusEvent[] = [];
  client!: TerminalClient;
  readonly #decoder = new TextDecoder();

  static async open(test: TestPlatform, ticket: string): Promise<WatcherScreen> {
    const screen = new WatcherScreen();
    screen.client = await TerminalClient.connect({
      url: `ws://127.0.0.1:${test.platform.port}/terminal`,
      ticket,
      origin: test.origin,
      cols: 120,
      rows: 40,
      onReplay: (replay) => void (screen.text += screen.#decoder.decode(replay.data, { stream: true })),
      onOutput: (data) => void (screen.text += screen.#decoder.decode(data, { stream: true })),
      onStatus: (status) => void screen.statuses.push(status),
    });
    return screen;
  }

  count(code: number): number {
    return this.statuses.filter((status) => status.code === code).length;
  }

  async waitForStatus(code: number, atLeast = 1): Promise<void> {
    await waitUntil(
      () => this.count(code) >= atLeast,
      10_000,
      () => `STATUS ${code} never arrived (${atLeast}); got ${JSON.stringify(this.statuses)}`,
    );
  }

  close(): void {
    this.client.close();
  }
}

describe('watching an attendee’s terminal (local driver)', () => {
  let test: TestPlatform;
  let instructor: { cookie: string; csrf: string };
  let workshop: WorkshopView;
  let alice: Attendee;
  let bob: Attendee;
  let screen: Screen | undefined;
  let watcher: WatcherScreen | undefined;
  let dashboard: EventStream | undefined;
  let status: EventStream | undefined;
  let label: string;

  const url = (pathname: string) => `${test.origin}${pathname}`;
  const attendeePath = (who: Attendee, action: string) =>
    `/api/instructor/workshops/${workshop.id}/attendees/${who.learnerId}/${action}`;

  function call(
    pathname: string,
    options: { method?: string; cookie?: string; csrf?: string; body?: unknown; origin?: string } = {},
  ): Promise<Response> {
    const method = options.method ?? 'POST';
    const headers: Record<string, string> = { 'Sec-Fetch-Site': 'same-origin' };
    if (method !== 'GET') headers.Origin = options.origin ?? test.origin;
    if (options.cookie) headers.Cookie = options.cookie;
    if (options.csrf) headers[CSRF_HEADER] = options.csrf;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(url(pathname), {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  }

  const asInstructor = (pathname: string, body: unknown = {}) =>
    call(pathname, { cookie: instructor.cookie, csrf: instructor.csrf, body });

  async function labVisitor(): Promise<Attendee> {
    const visit = await fetch(url(`/labs/${LAB}`));
    await visit.arrayBuffer();
    const cookie = visit.headers.getSetCookie()[0]!.split(';')[0]!;
    const { learner } = await test.platform.api.learner(cookie.split('=')[1]);
    return { cookie, learnerId: learner.id };
  }

  async function joined(name: string): Promise<Attendee> {
    const visitor = await labVisitor();
    const response = await call('/api/workshops/join', {
      cookie: visitor.cookie,
      body: { code: workshop.code, displayName: name },
    });
    expect(response.status).toBe(201);
    return visitor;
  }

  async function errorCode(response: Response): Promise<string> {
    return ((await response.json()) as { error: { code: string } }).error.code;
  }

  /** Types on the watcher's side, then lets Alice run a command: what the watcher typed never ran. */
  async function expectRefused(marker: number): Promise<void> {
    const refusedBefore = watcher!.count(WATCH_STATUS.inputRefused);
    watcher!.client.input(`echo typed-by-$((${marker} * 2))\r`);
    await watcher!.waitForStatus(WATCH_STATUS.inputRefused, refusedBefore + 1);
    await screen!.run('true');
    expect(screen!.text).not.toContain(`typed-by-${marker * 2}`);
    expect(screen!.text).not.toContain(`typed-by-$((${marker}`);
  }

  const controls = () => dashboard!.data<ControlChange>('control');

  beforeAll(async () => {
    test = await startTestPlatform();
    const password = /Instructor password[^:]*: (\S+)/.exec(test.infos.join('\n'))?.[1] ?? '';
    const signIn = await call('/api/instructor/session', { body: { password } });
    expect(signIn.status).toBe(200);
    instructor = {
      cookie: signIn.headers.getSetCookie()[0]!.split(';')[0]!,
      csrf: ((await signIn.json()) as { csrfToken: string }).csrfToken,
    };
    const created = await asInstructor('/api/instructor/workshops', {
      lab: LAB,
      title: 'Watching',
      capacity: 10,
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      endsAt: new Date(Date.now() + HOUR).toISOString(),
    });
    expect(created.status).toBe(201);
    workshop = ((await created.json()) as { workshop: WorkshopView }).workshop;
    alice = await joined('Alice');
    bob = await joined('Bob');
  }, 60_000);

  afterAll(async () => {
    watcher?.close();
    screen?.close();
    dashboard?.close();
    status?.close();
    await test?.platform.close();
    if (test) await removeDataDir(test.dataDir);
  }, 30_000);

  it('refuses learners, foreign origins and missing CSRF tokens on the instructor’s watch routes', async () => {
    for (const action of ['watch', 'control']) {
      const forged = `${INSTRUCTOR_COOKIE}=${alice.cookie.split('=')[1]}`;
      for (const cookie of [alice.cookie, forged]) {
        const response = await call(attendeePath(bob, action), { cookie, body: {} });
        expect([401, 403], `${action} with ${cookie}`).toContain(response.status);
        await response.arrayBuffer();
      }
      const noToken = await call(attendeePath(bob, action), { cookie: instructor.cookie, body: {} });
      expect(noToken.status).toBe(403);
      expect(await errorCode(noToken)).toBe('CSRF_TOKEN');
      const crossSite = await call(attendeePath(bob, action), {
        cookie: instructor.cookie,
        csrf: instructor.csrf,
        origin: 'https://evil.example',
        body: {},
      });
      expect(crossSite.status).toBe(403);
      expect(await errorCode(crossSite)).toBe('CROSS_ORIGIN');
      // A learner who is not in this workshop is nobody to watch.
      const outsider = await labVisitor();
      const unknown = await asInstructor(attendeePath(outsider, action));
      expect(unknown.status).toBe(404);
      expect(await errorCode(unknown)).toBe('UNKNOWN_ATTENDEE');
      expect((await asInstructor(attendeePath(bob, action), { extra: 1 })).status).toBe(400);
    }
  });

  it('answers 409 NO_TERMINAL for an attendee with no terminal open', async () => {
    for (const action of ['watch', 'control']) {
      const response = await asInstructor(attendeePath(bob, action));
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({
        error: { code: 'NO_TERMINAL', suggestion: expect.stringContaining('open the lab page') },
      });
    }
  });

  it('gives the instructor a watch ticket: they see what the attendee types, and cannot type', async () => {
    screen = await Screen.open(test, alice.cookie);
    await screen.run('echo ready');
    const response = await asInstructor(attendeePath(alice, 'watch'));
    expect(response.status).toBe(200);
    const ticket = (await response.json()) as WatchTicket;
    expect(ticket.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(ticket.expiresAt)).toBeGreaterThan(Date.now());
    expect(ticket.watcher).toMatch(/^Instructor [0-9a-f]{4}$/);
    label = ticket.watcher;

    watcher = await WatcherScreen.open(test, ticket.ticket);
    await watcher.waitForStatus(WATCH_STATUS.watching);
    expect(watcher.text).toContain('ready');
    await screen.run('echo "from-alice-$((40 + 2))"');
    await waitUntil(
      () => watcher!.text.includes('from-alice-42'),
      10_000,
      () => watcher!.text.slice(-500),
    );
    expect(test.platform.terminal.session(alice.learnerId)?.watchers).toEqual([{ label, control: false }]);

    await expectRefused(10);
  });

  it('asks the attendee on their status stream, also when their page opens later', async () => {
    const controller = new AbortController();
    const events = await fetch(url(`/api/instructor/workshops/${workshop.id}/events`), {
      headers: { Cookie: instructor.cookie, 'Sec-Fetch-Site': 'same-origin' },
      signal: controller.signal,
    });
    expect(events.status).toBe(200);
    dashboard = new EventStream(events, controller);
    await waitUntil(() => dashboard!.data('snapshot').length > 0, 10_000);
    status = await EventStream.open(test, alice.cookie);
    await waitUntil(() => status!.states.length > 0, 10_000);
    const bobStream = await EventStream.open(test, bob.cookie);
    try {
      const asked = await asInstructor(attendeePath(alice, 'control'));
      expect(asked.status).toBe(202);
      const { requestId, watcher: who } = (await asked.json()) as { requestId: string; watcher: string };
      expect(who).toBe(label);
      expect(requestId.length).toBeGreaterThanOrEqual(16);
      await waitUntil(
        () => status!.data('control-request').length > 0,
        5000,
        () => JSON.stringify(status!.events),
      );
      expect(status.data<ControlRequest>('control-request')[0]).toEqual({
        requestId,
        watcher: label,
        at: expect.any(String),
      });

      const later = await EventStream.open(test, alice.cookie);
      try {
        await waitUntil(() => later.data('control-request').length > 0, 5000);
        expect(later.data<ControlRequest>('control-request')[0]!.requestId).toBe(requestId);
      } finally {
        later.close();
      }
    } finally {
      bobStream.close();
    }
    expect(bobStream.data('control-request')).toEqual([]);
  });

  it('lets only the attendee answer, from their own page', async () => {
    const { requestId } = status!.data<ControlRequest>('control-request').at(-1)!;
    const answer = { requestId, accept: true };
    const byBob = await call('/api/session/control', { cookie: bob.cookie, body: answer });
    expect(byBob.status).toBe(404);
    expect(await errorCode(byBob)).toBe('UNKNOWN_REQUEST');
    const noCookie = await call('/api/session/control', { body: answer });
    expect(noCookie.status).toBe(401);
    const crossSite = await call('/api/session/control', {
      cookie: alice.cookie,
      origin: 'https://evil.example',
      body: answer,
    });
    expect(crossSite.status).toBe(403);
    expect(await errorCode(crossSite)).toBe('CROSS_ORIGIN');
    const wrongId = await call('/api/session/control', {
      cookie: alice.cookie,
      body: { requestId: 'not-it', accept: true },
    });
    expect(wrongId.status).toBe(404);
    const revokeCrossSite = await call('/api/session/control/revoke', {
      cookie: alice.cookie,
      origin: 'https://evil.example',
      body: {},
    });
    expect(revokeCrossSite.status).toBe(403);
    // None of it handed anything over.
    expect(test.platform.terminal.session(alice.learnerId)?.watchers).toEqual([{ label, control: false }]);
    expect(controls()).toEqual([]);
  });

  it('lets the watcher type once the attendee accepts, and not after they take it back', async () => {
    const { requestId } = status!.data<ControlRequest>('control-request').at(-1)!;
    const accepted = await call('/api/session/control', {
      cookie: alice.cookie,
      body: { requestId, accept: true },
    });
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ granted: true });
    await watcher!.waitForStatus(WATCH_STATUS.controlGranted);
    await waitUntil(() => controls().length > 0, 5000);
    expect(controls()).toEqual([{ learnerId: alice.learnerId, watcher: label, granted: true }]);

    watcher!.client.input('echo "typed-by-$((21 * 2))" > ~/from-watcher.txt; cat ~/from-watcher.txt\r');
    await screen!.waitFor('typed-by-42', 10_000);
    const home = test.platform.terminal.session(alice.learnerId)!.homeDir!;
    await access(path.join(home, 'from-watcher.txt'));
    // Answered once.
    const again = await call('/api/session/control', {
      cookie: alice.cookie,
      body: { requestId, accept: true },
    });
    expect(again.status).toBe(404);

    const revoked = await call('/api/session/control/revoke', { cookie: alice.cookie, body: {} });
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ revoked: 1 });
    await watcher!.waitForStatus(WATCH_STATUS.controlRevoked);
    await waitUntil(() => controls().length > 1, 5000);
    expect(controls()[1]).toEqual({ learnerId: alice.learnerId, watcher: null, granted: false });
    await expectRefused(20);
  });

  it('keeps the watcher read only when the attendee declines', async () => {
    const asked = await asInstructor(attendeePath(alice, 'control'));
    expect(asked.status).toBe(202);
    const { requestId } = (await asked.json()) as { requestId: string };
    const declined = await call('/api/session/control', {
      cookie: alice.cookie,
      body: { requestId, accept: false },
    });
    expect(declined.status).toBe(200);
    expect(await declined.json()).toEqual({ granted: false });
    await waitUntil(() => controls().length > 2, 5000);
    expect(controls()[2]).toEqual({ learnerId: alice.learnerId, watcher: label, granted: false });
    expect(watcher!.count(WATCH_STATUS.controlGranted)).toBe(1);
    await expectRefused(30);
  });

  it('tells the attendee when the instructor who asked no longer watches', async () => {
    const asked = await asInstructor(attendeePath(alice, 'control'));
    const { requestId } = (await asked.json()) as { requestId: string };
    // The newest request replaces the one before.
    const newer = await asInstructor(attendeePath(alice, 'control'));
    const { requestId: newest } = (await newer.json()) as { requestId: string };
    const stale = await call('/api/session/control', {
      cookie: alice.cookie,
      body: { requestId, accept: true },
    });
    expect(stale.status).toBe(404);

    watcher!.close();
    await watcher!.client.closed;
    watcher = undefined;
    await waitUntil(() => test.platform.terminal.session(alice.learnerId)?.watchers.length === 0, 5000);
    const gone = await call('/api/session/control', {
      cookie: alice.cookie,
      body: { requestId: newest, accept: true },
    });
    expect(gone.status).toBe(409);
    expect(await gone.json()).toMatchObject({
      error: { code: 'WATCHER_GONE', message: expect.stringContaining(label) },
    });
    await waitUntil(() => controls().length > 3, 5000);
    expect(controls()[3]).toEqual({ learnerId: alice.learnerId, watcher: label, granted: false });
  });
});
