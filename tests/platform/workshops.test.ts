/**
 * Workshops end to end, without the pages: the instructor's sign-in (a
 * generated password, the throttle), CSRF and who may call what, creating
 * and joining workshops, the dashboard's snapshot and live stream ticking
 * from a real push in an attendee's terminal (whose page is never opened),
 * the CSV, broadcasts reaching an attendee's status stream, resets, and all
 * of it surviving a restart. The local sandbox driver.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AttendeeView,
  JoinResult,
  ResetResult,
  WorkshopChange,
  WorkshopPublicInfo,
  WorkshopSnapshot,
  WorkshopView,
} from '../../platform/api.js';
import { CSRF_HEADER, INSTRUCTOR_COOKIE, LEARNER_COOKIE } from '../../platform/api.js';
import {
  dockerLogin,
  EventStream,
  LAB,
  removeDataDir,
  Screen,
  startTestPlatform,
  waitUntil,
  type TestPlatform,
} from './support.js';

interface Instructor {
  cookie: string;
  csrf: string;
}

interface Attendee {
  cookie: string;
  learnerId: string;
  username: string;
  password: string;
}

const HOUR = 60 * 60 * 1000;

function cookiePair(setCookie: string | undefined): string {
  return setCookie!.split(';')[0]!;
}

describe('workshops (local driver)', () => {
  let test: TestPlatform;
  let password: string;
  let instructor: Instructor;
  let workshop: WorkshopView;
  let alice: Attendee;
  let bob: Attendee;
  let screen: Screen | undefined;

  const url = (pathname: string) => `${test.origin}${pathname}`;

  /** A same-origin request as the page's fetch makes it. */
  function call(
    pathname: string,
    options: {
      method?: string;
      cookie?: string;
      csrf?: string;
      body?: unknown;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Response> {
    const method = options.method ?? 'GET';
    const headers: Record<string, string> = { 'Sec-Fetch-Site': 'same-origin', ...options.headers };
    if (method !== 'GET') headers.Origin ??= test.origin;
    if (options.cookie) headers.Cookie = options.cookie;
    if (options.csrf) headers[CSRF_HEADER] = options.csrf;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(url(pathname), {
      method,
      headers,
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
  }

  /** The instructor's own requests: their cookie, and the CSRF token on writes. */
  function asInstructor(
    pathname: string,
    options: { method?: string; body?: unknown } = {},
  ): Promise<Response> {
    return call(pathname, {
      ...options,
      cookie: instructor.cookie,
      ...(options.method && options.method !== 'GET' ? { csrf: instructor.csrf } : {}),
    });
  }

  async function signIn(secret: string): Promise<Response> {
    return call('/api/instructor/session', { method: 'POST', body: { password: secret } });
  }

  async function createWorkshop(body: Record<string, unknown>): Promise<Response> {
    return asInstructor('/api/instructor/workshops', {
      method: 'POST',
      body: {
        lab: LAB,
        title: 'Content trust, morning group',
        capacity: 30,
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        endsAt: new Date(Date.now() + 2 * HOUR).toISOString(),
        ...body,
      },
    });
  }

  async function join(code: string, displayName: string, cookie?: string) {
    const response = await call('/api/workshops/join', {
      method: 'POST',
      body: { code, displayName },
      ...(cookie ? { cookie } : {}),
    });
    const setCookie = response.headers.getSetCookie()[0];
    return { response, body: (await response.json()) as unknown, cookie: setCookie && cookiePair(setCookie) };
  }

  /** A learner as a first visit to the lab page makes them. */
  async function labVisitor(): Promise<Attendee> {
    const visit = await fetch(url(`/labs/${LAB}`));
    await visit.arrayBuffer();
    const cookie = cookiePair(visit.headers.getSetCookie()[0]);
    const { learner } = await test.platform.api.learner(cookie.split('=')[1]);
    return { cookie, learnerId: learner.id, username: learner.username, password: learner.password };
  }

  async function snapshot(id = workshop.id): Promise<WorkshopSnapshot> {
    const response = await asInstructor(`/api/instructor/workshops/${id}`);
    expect(response.status).toBe(200);
    return (await response.json()) as WorkshopSnapshot;
  }

  beforeAll(async () => {
    test = await startTestPlatform();
    const printed = test.infos.join('\n');
    password = /Instructor password[^:]*: (\S+)/.exec(printed)?.[1] ?? '';
    alice = await labVisitor();
  });

  afterAll(async () => {
    screen?.close();
    await test?.platform.close();
    if (test) await removeDataDir(test.dataDir);
  });

  it('prints a generated instructor password once, and stores only its scrypt hash', async () => {
    expect(password).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){4}$/);
    expect(test.infos.filter((line) => line.includes('Instructor password'))).toHaveLength(1);
    const database = await readFile(path.join(test.dataDir, 'app', 'progress.db'));
    expect(database.includes(Buffer.from(password))).toBe(false);
  });

  it('signs the instructor in with an HttpOnly, SameSite=Strict cookie and a CSRF token', async () => {
    const response = await signIn(password);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const setCookie = response.headers.getSetCookie()[0]!;
    const attributes = setCookie.split(';').map((part) => part.trim());
    expect(attributes[0]).toMatch(new RegExp(`^${INSTRUCTOR_COOKIE}=[0-9a-f]{32}$`));
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Strict']));
    const maxAge = Number(attributes.find((part) => part.startsWith('Max-Age='))!.slice('Max-Age='.length));
    expect(maxAge).toBeGreaterThan(11 * 3600);
    expect(maxAge).toBeLessThanOrEqual(12 * 3600);
    const body = (await response.json()) as { signedIn: boolean; csrfToken: string; expiresAt: string };
    expect(body.signedIn).toBe(true);
    instructor = { cookie: attributes[0]!, csrf: body.csrfToken };

    const session = await call('/api/instructor/session', { cookie: instructor.cookie });
    expect(session.status).toBe(200);
    expect(((await session.json()) as { csrfToken: string }).csrfToken).toBe(instructor.csrf);
  });

  it('refuses wrong passwords, then throttles them with a growing wait', async () => {
    for (let i = 0; i < 5; i++) {
      const wrong = await signIn(`not-the-password-${i}`);
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({ error: { code: 'WRONG_PASSWORD' } });
    }
    // The fifth failure started a wait: even the right password is refused until it is over.
    const throttled = await signIn(password);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const { error } = (await throttled.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('TOO_MANY_ATTEMPTS');
    expect(error.message).toMatch(/Too many wrong passwords: wait \d+ seconds?/);

    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await signIn(password)).status).toBe(200);
  });

  it('refuses state-changing instructor requests without the CSRF token or from another origin', async () => {
    const body = { lab: LAB, title: 'x', capacity: 1, startsAt: new Date().toISOString() };
    const create = (headers: Record<string, string>, csrf?: string) =>
      call('/api/instructor/workshops', {
        method: 'POST',
        cookie: instructor.cookie,
        body: { ...body, endsAt: new Date(Date.now() + HOUR).toISOString() },
        headers,
        ...(csrf !== undefined ? { csrf } : {}),
      });
    const missing = await create({});
    expect(missing.status).toBe(403);
    expect(await missing.json()).toMatchObject({ error: { code: 'CSRF_TOKEN' } });
    const wrong = await create({}, `${instructor.csrf.slice(0, -2)}xx`);
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ error: { code: 'CSRF_TOKEN' } });
    const crossSite = await create({ Origin: 'https://evil.example' }, instructor.csrf);
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toMatchObject({ error: { code: 'CROSS_ORIGIN' } });
    // A cross-site read of the token is refused too.
    const read = await call('/api/instructor/session', {
      cookie: instructor.cookie,
      headers: { 'Sec-Fetch-Site': 'cross-site' },
    });
    expect(read.status).toBe(403);
    // A plain form cannot send JSON: the type is required.
    const form = await fetch(url('/api/instructor/workshops'), {
      method: 'POST',
      headers: {
        Origin: test.origin,
        Cookie: instructor.cookie,
        [CSRF_HEADER]: instructor.csrf,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: 'title=x',
    });
    expect(form.status).toBe(415);
  });

  it('validates a new workshop and gives it a join code and link', async () => {
    const zero = await createWorkshop({ capacity: 0 });
    expect(zero.status).toBe(400);
    expect(await zero.json()).toMatchObject({ error: { code: 'INVALID_INPUT' } });
    expect((await createWorkshop({ capacity: 1001 })).status).toBe(400);
    const unknownLab = await createWorkshop({ lab: 'no-such-lab' });
    expect(await unknownLab.json()).toMatchObject({ error: { code: 'UNKNOWN_LAB' } });
    const backwards = await createWorkshop({
      startsAt: new Date(Date.now() + HOUR).toISOString(),
      endsAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect(backwards.status).toBe(400);
    expect(((await backwards.json()) as { error: { message: string } }).error.message).toContain('end after');
    expect((await createWorkshop({ title: 'line\nbreak' })).status).toBe(400);
    expect((await createWorkshop({ startsAt: 'tomorrow' })).status).toBe(400);

    const created = await createWorkshop({ capacity: 3 });
    expect(created.status).toBe(201);
    workshop = ((await created.json()) as { workshop: WorkshopView }).workshop;
    expect(workshop).toMatchObject({
      labId: LAB,
      labTitle: 'Docker Content Trust',
      capacity: 3,
      state: 'open',
      attendeeCount: 0,
    });
    expect(workshop.id).toMatch(/^[0-9a-f]{16}$/);
    expect(workshop.code).toMatch(/^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/);
    expect(workshop.joinPath).toBe(`/join/${workshop.code}`);

    const list = await asInstructor('/api/instructor/workshops');
    const { workshops } = (await list.json()) as { workshops: WorkshopView[] };
    expect(workshops.map((w) => w.id)).toContain(workshop.id);
  });

  it('lets a browser join with or without the learner cookie, and again as the same attendee', async () => {
    const info = await call(`/api/workshops/${workshop.code.toLowerCase()}`);
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({
      code: workshop.code,
      title: workshop.title,
      lab: { id: LAB, title: 'Docker Content Trust' },
      startsAt: workshop.startsAt,
      endsAt: workshop.endsAt,
      state: 'open',
      full: false,
      open: true,
    } satisfies WorkshopPublicInfo);

    // Alice has the cookie of the lab page: no new learner.
    const first = await join(workshop.code, '  Alice  ', alice.cookie);
    expect(first.response.status).toBe(201);
    expect(first.cookie).toBeUndefined();
    expect(first.body).toMatchObject({
      workshop: { id: workshop.id, title: workshop.title, labId: LAB, displayName: 'Alice', state: 'open' },
      labPath: `/labs/${LAB}`,
      rejoined: false,
    });

    // Bob comes with no cookie: the join makes his learner and sets the cookie.
    const fresh = await join(workshop.code, 'Bob', undefined);
    expect(fresh.response.status).toBe(201);
    expect(fresh.cookie).toMatch(new RegExp(`^${LEARNER_COOKIE}=[0-9a-f]{32}$`));
    const setCookie = fresh.response.headers.getSetCookie()[0]!;
    expect(setCookie).toContain('HttpOnly');
    const { learner } = await test.platform.api.learner(fresh.cookie!.split('=')[1]);
    bob = {
      cookie: fresh.cookie!,
      learnerId: learner.id,
      username: learner.username,
      password: learner.password,
    };

    // Joining again from the same browser: the same attendee, with the name given now.
    const again = await join(workshop.code, 'Alice Liddell', alice.cookie);
    expect(again.response.status).toBe(200);
    expect((again.body as JoinResult).rejoined).toBe(true);
    expect((again.body as JoinResult).workshop.displayName).toBe('Alice Liddell');

    const session = await call('/api/session', { cookie: alice.cookie });
    expect(await session.json()).toMatchObject({
      username: alice.username,
      password: alice.password,
      workshop: { id: workshop.id, title: workshop.title },
    });
    const current = await snapshot();
    expect(current.attendees.map((a) => a.displayName)).toEqual(['Alice Liddell', 'Bob']);
    expect(current.workshop.attendeeCount).toBe(2);
  });

  it('refuses bad names, unknown codes, full, closed and not yet started workshops with typed errors', async () => {
    for (const name of ['', '   ', 'a'.repeat(41), 'tab\there', 'bell\u0007', 'rtl\u202eevil']) {
      const refused = await join(workshop.code, name, undefined);
      expect(refused.response.status, JSON.stringify(name)).toBe(400);
      expect(refused.body).toMatchObject({ error: { code: 'INVALID_INPUT' } });
      expect(refused.cookie).toBeUndefined();
    }
    const unknown = await join('ZZZZZZ', 'Eve', undefined);
    expect(unknown.response.status).toBe(404);
    expect(unknown.body).toMatchObject({
      error: { code: 'UNKNOWN_WORKSHOP', suggestion: expect.any(String) },
    });
    expect(unknown.cookie).toBeUndefined();
    expect((await call('/api/workshops/ZZZZZZ')).status).toBe(404);

    const small = (
      (await (await createWorkshop({ capacity: 1, title: 'Tiny' })).json()) as { workshop: WorkshopView }
    ).workshop;
    expect((await join(small.code, 'First', undefined)).response.status).toBe(201);
    const full = await join(small.code, 'Second', undefined);
    expect(full.response.status).toBe(409);
    expect(full.body).toMatchObject({ error: { code: 'WORKSHOP_FULL' } });
    expect((full.body as { error: { message: string } }).error.message).toContain('full');
    // Refused before a learner (and a hub account) was made for the browser.
    expect(full.cookie).toBeUndefined();
    expect(await (await call(`/api/workshops/${small.code}`)).json()).toMatchObject({
      full: true,
      open: false,
    });

    const closing = await asInstructor(`/api/instructor/workshops/${small.id}/close`, { method: 'POST' });
    expect(closing.status).toBe(200);
    expect(((await closing.json()) as { workshop: WorkshopView }).workshop.state).toBe('closed');
    const closed = await join(small.code, 'Late', undefined);
    expect(closed.response.status).toBe(409);
    expect(closed.body).toMatchObject({ error: { code: 'WORKSHOP_CLOSED' } });

    const later = (
      (await (
        await createWorkshop({
          title: 'Tomorrow',
          startsAt: new Date(Date.now() + 24 * HOUR).toISOString(),
          endsAt: new Date(Date.now() + 26 * HOUR).toISOString(),
        })
      ).json()) as { workshop: WorkshopView }
    ).workshop;
    expect(later.state).toBe('scheduled');
    const early = await join(later.code, 'Early', undefined);
    expect(early.response.status).toBe(409);
    expect(early.body).toMatchObject({ error: { code: 'WORKSHOP_NOT_STARTED' } });
  });

  it('refuses a learner’s cookie on every instructor route, and shows no attendee anything of another', async () => {
    const id = workshop.id;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/instructor/session'],
      ['DELETE', '/api/instructor/session'],
      ['POST', '/api/instructor/session/signout'],
      ['GET', '/api/instructor/workshops'],
      ['POST', '/api/instructor/workshops', { lab: LAB }],
      ['GET', `/api/instructor/workshops/${id}`],
      ['POST', `/api/instructor/workshops/${id}/close`],
      ['GET', `/api/instructor/workshops/${id}/events`],
      ['GET', `/api/instructor/workshops/${id}/progress.csv`],
      ['POST', `/api/instructor/workshops/${id}/broadcast`, { message: 'hi' }],
      ['POST', `/api/instructor/workshops/${id}/attendees/${bob.learnerId}/reset`, { clearProgress: true }],
    ];
    // A learner token in the instructor cookie's name is no instructor session either.
    const forged = `${INSTRUCTOR_COOKIE}=${alice.cookie.split('=')[1]}`;
    for (const cookie of [alice.cookie, forged, `${alice.cookie}; ${forged}`]) {
      for (const [method, pathname, body] of routes) {
        const response = await call(pathname, { method, cookie, ...(body !== undefined ? { body } : {}) });
        expect([401, 403], `${method} ${pathname} with ${cookie}`).toContain(response.status);
        await response.arrayBuffer();
      }
    }
    // Signing in with a learner's cookie and their hub password gets nothing.
    expect(
      (
        await call('/api/instructor/session', {
          method: 'POST',
          cookie: alice.cookie,
          body: { password: alice.password },
        })
      ).status,
    ).toBe(401);

    // The join page's data names no attendee.
    const info = JSON.stringify(await (await call(`/api/workshops/${workshop.code}`)).json());
    for (const secret of [bob.learnerId, bob.username, 'Bob', alice.learnerId, 'Alice'])
      expect(info).not.toContain(secret);
    // Each learner's session answer is their own.
    const mine = (await (await call('/api/session', { cookie: alice.cookie })).json()) as {
      username: string;
    };
    expect(mine.username).toBe(alice.username);
    expect(JSON.stringify(mine)).not.toContain(bob.username);
    // A self-paced learner's answer is as before.
    const loner = await labVisitor();
    expect(await (await call('/api/session', { cookie: loner.cookie })).json()).toEqual({
      username: loner.username,
      password: loner.password,
    });
  });

  it('streams the dashboard: a snapshot, then the tick of a task an attendee passes in their terminal', async () => {
    const controller = new AbortController();
    const response = await fetch(url(`/api/instructor/workshops/${workshop.id}/events`), {
      headers: { Cookie: instructor.cookie, 'Sec-Fetch-Site': 'same-origin', Accept: 'text/event-stream' },
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('cache-control')).toContain('no-transform');
    const stream = new EventStream(response, controller);
    try {
      await waitUntil(
        () => stream.data('snapshot').length > 0,
        10_000,
        () => 'no snapshot',
      );
      const first = stream.data<WorkshopSnapshot>('snapshot')[0]!;
      expect(first.tasks.map((task) => task.id)).toEqual([
        'create-repo',
        'enable-trust',
        'push-signed',
        'pull-images',
        'yubikey',
      ]);
      expect(first.attendees.find((a) => a.learnerId === alice.learnerId)?.tasks['create-repo']?.status).toBe(
        'pending',
      );

      // Alice works in her terminal; her lab page (its status stream) is never opened.
      screen = await Screen.open(test, alice.cookie);
      await dockerLogin(screen, alice.username, alice.password);
      expect(await screen.run('docker pull busybox')).toMatch(/end-\d+-0/);
      await screen.run(`docker tag busybox ${alice.username}/dctrust:latest`);
      // A failing command, three times: the same one, so a repeated failure.
      for (let i = 0; i < 3; i++)
        await screen.run(`DOCKER_CONTENT_TRUST=1 docker pull ${alice.username}/nothing:here`);
      expect(await screen.run(`docker push ${alice.username}/dctrust:latest`)).toMatch(/end-\d+-0/);
      // The push's end marker shows once the command has exited; its tick is on the dashboard soon after.
      const pushedAt = Date.now();

      const ticked = () =>
        stream
          .data<WorkshopChange & { kind: 'attendee' }>('attendee')
          .find(
            (change) =>
              change.attendee.learnerId === alice.learnerId &&
              change.attendee.tasks['create-repo']?.status === 'done',
          );
      await waitUntil(
        () => ticked() !== undefined,
        15_000,
        () => JSON.stringify(stream.data('attendee').at(-1)),
      );
      expect(Date.now() - pushedAt).toBeLessThan(1500);
      const change = ticked()!;
      expect(change.totals.find((total) => total.taskId === 'create-repo')?.done).toBe(1);
      expect(change.attendee.tasks['create-repo']?.passedAt).toEqual(expect.any(String));
    } finally {
      stream.close();
    }

    const current = await snapshot();
    const entry = current.attendees.find((a) => a.learnerId === alice.learnerId)! satisfies AttendeeView;
    expect(entry).toMatchObject({
      displayName: 'Alice Liddell',
      hubUsername: alice.username,
      online: true,
      doneCount: 1,
    });
    expect(entry.recentCommands).toHaveLength(5);
    expect(entry.recentCommands[0]).toMatchObject({
      command: 'push',
      outcome: 'PUSHED',
      reference: expect.stringContaining(`${alice.username}/dctrust`),
      failed: false,
    });
    for (const command of entry.recentCommands)
      expect(Object.keys(command).sort()).toEqual(
        expect.arrayContaining(['at', 'command', 'failed', 'outcome']),
      );
    // The failures came before the tick, which is progress: the flag is for failures since then.
    expect(entry.stuck.repeatedFailures).toBe(false);
    expect(entry.stuck.longOnTask).toBe(false);
    expect(current.totals).toContainEqual({ taskId: 'create-repo', done: 1 });
    expect(current.attendees.find((a) => a.learnerId === bob.learnerId)?.doneCount).toBe(0);

    // Three failures of the same command after the last progress raise the flag.
    for (let i = 0; i < 3; i++)
      await screen!.run(`DOCKER_CONTENT_TRUST=1 docker pull ${alice.username}/nothing:here`);
    await waitUntil(
      async () =>
        (await snapshot()).attendees.find((a) => a.learnerId === alice.learnerId)!.stuck.repeatedFailures,
      10_000,
      () => 'repeatedFailures never set',
    );
    const stuck = (await snapshot()).attendees.find((a) => a.learnerId === alice.learnerId)!.stuck;
    expect(stuck.failing).toMatchObject({ command: 'pull', count: 3 });
  });

  it('exports the progress as CSV, with cells that could be formulas neutralised', async () => {
    const mallory = await join(workshop.code, '=HYPERLINK("http://evil.example","x")', undefined);
    expect(mallory.response.status).toBe(201);
    const response = await asInstructor(`/api/instructor/workshops/${workshop.id}/progress.csv`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toBe(
      `attachment; filename="workshop-${workshop.code}-progress.csv"`,
    );
    const csv = await response.text();
    const lines = csv.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(
      'display_name,learner_id,hub_username,joined_at,online,done,' +
        'create-repo,create-repo_passed_at,enable-trust,enable-trust_passed_at,push-signed,push-signed_passed_at,' +
        'pull-images,pull-images_passed_at,yubikey,yubikey_passed_at,long_on_task,repeated_failures,last_progress_at',
    );
    const aliceRow = lines.find((line) => line.startsWith('Alice Liddell,'))!;
    expect(aliceRow).toContain(`,${alice.learnerId},${alice.username},`);
    expect(aliceRow).toMatch(/,1,done,\d{4}-\d\d-\d\dT[^,]+,pending,,/);
    // Quoted (it has a comma and quotes), quotes doubled, and an apostrophe in front of the `=`.
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")",`);
    expect(csv).not.toMatch(/(^|\r\n)=/);
  });

  it('sends a broadcast to the attendees’ status streams, and the latest one to a page opened later', async () => {
    const live = await EventStream.open(test, bob.cookie);
    const loner = await labVisitor();
    const outsider = await EventStream.open(test, loner.cookie);
    try {
      await waitUntil(() => live.states.length > 0 && outsider.states.length > 0);
      expect(live.data('broadcast')).toEqual([]);
      expect(
        (
          await asInstructor(`/api/instructor/workshops/${workshop.id}/broadcast`, {
            method: 'POST',
            body: { message: '' },
          })
        ).status,
      ).toBe(400);
      expect(
        (
          await asInstructor(`/api/instructor/workshops/${workshop.id}/broadcast`, {
            method: 'POST',
            body: { message: 'x'.repeat(501) },
          })
        ).status,
      ).toBe(400);
      const sent = await asInstructor(`/api/instructor/workshops/${workshop.id}/broadcast`, {
        method: 'POST',
        body: { message: 'Break until 10:30. Then task 3.' },
      });
      expect(sent.status).toBe(200);
      await waitUntil(
        () => live.data('broadcast').length > 0,
        5000,
        () => JSON.stringify(live.events),
      );
      expect(live.data('broadcast')[0]).toEqual({
        message: 'Break until 10:30. Then task 3.',
        at: expect.any(String),
      });
    } finally {
      live.close();
      outsider.close();
    }
    expect(outsider.data('broadcast')).toEqual([]);

    const later = await EventStream.open(test, bob.cookie);
    try {
      await waitUntil(
        () => later.data('broadcast').length > 0,
        5000,
        () => JSON.stringify(later.events),
      );
      expect(later.events.filter((event) => event !== 'other').slice(0, 2)).toEqual(['tasks', 'broadcast']);
      expect(later.data<{ message: string }>('broadcast')[0]!.message).toBe(
        'Break until 10:30. Then task 3.',
      );
    } finally {
      later.close();
    }
    expect((await snapshot()).broadcasts[0]).toMatchObject({ message: 'Break until 10:30. Then task 3.' });
  });

  it('keeps workshops, attendees, progress and the instructor’s session across a restart, and prints no password', async () => {
    screen?.close();
    screen = undefined;
    const { dataDir, hubPort } = test;
    await test.platform.close();
    test = await startTestPlatform({ dataDir, hubPort });
    expect(test.infos.join('\n')).not.toContain('Instructor password');

    // The same cookie is still a session, with the same CSRF token.
    const session = await call('/api/instructor/session', { cookie: instructor.cookie });
    expect(session.status).toBe(200);
    expect(((await session.json()) as { csrfToken: string }).csrfToken).toBe(instructor.csrf);
    expect((await signIn(password)).status).toBe(200);

    // A fresh process has no lab run for Alice: the dashboard evaluates her tasks from the facts.
    const current = await snapshot();
    expect(current.workshop).toMatchObject({ id: workshop.id, code: workshop.code, attendeeCount: 3 });
    const entry = current.attendees.find((a) => a.learnerId === alice.learnerId)!;
    expect(entry.displayName).toBe('Alice Liddell');
    expect(entry.tasks['create-repo']).toMatchObject({ status: 'done', passedAt: expect.any(String) });
    expect(entry.recentCommands[0]?.command).toBe('pull');
    expect(current.broadcasts).toHaveLength(1);
    expect(await (await call('/api/session', { cookie: bob.cookie })).json()).toMatchObject({
      workshop: { id: workshop.id },
    });
  });

  it('resets an attendee: ends their terminal, empties their home, and clears their progress when asked', async () => {
    screen = await Screen.open(test, alice.cookie);
    await screen.run('echo mine > ~/note.txt');
    const home = test.platform.terminal.session(alice.learnerId)!.homeDir!;
    expect(home).toBe(path.join(test.dataDir, 'homes', alice.learnerId));
    await access(path.join(home, '.docker', 'config.json'));

    const unknown = await asInstructor(
      `/api/instructor/workshops/${workshop.id}/attendees/${'0'.repeat(16)}/reset`,
      {
        method: 'POST',
        body: { clearProgress: true },
      },
    );
    expect(unknown.status).toBe(404);

    const kept = await asInstructor(
      `/api/instructor/workshops/${workshop.id}/attendees/${bob.learnerId}/reset`,
      {
        method: 'POST',
        body: { clearProgress: false },
      },
    );
    expect(kept.status).toBe(200);
    expect(await kept.json()).toEqual({ sessionEnded: false, progressCleared: false, home: { reset: true } });

    const ended = new Promise<void>((resolve) =>
      test.platform.terminal.once('sessionEnded', () => resolve()),
    );
    const response = await asInstructor(
      `/api/instructor/workshops/${workshop.id}/attendees/${alice.learnerId}/reset`,
      {
        method: 'POST',
        body: { clearProgress: true },
      },
    );
    expect(response.status).toBe(200);
    expect((await response.json()) as ResetResult).toEqual({
      sessionEnded: true,
      progressCleared: true,
      home: { reset: true },
    });
    await ended;
    expect(test.platform.terminal.session(alice.learnerId)).toBeUndefined();
    // Emptied, and the lab's files written again.
    await expect(access(path.join(home, 'note.txt'))).rejects.toThrow();
    await expect(access(path.join(home, '.docker', 'config.json'))).rejects.toThrow();
    expect(JSON.parse(await readFile(path.join(home, '.notary', 'config.json'), 'utf8'))).toMatchObject({
      trust_dir: '~/.docker/trust',
    });

    const learner = (await test.platform.api.learner(alice.cookie.split('=')[1])).learner;
    const states = await test.platform.api.taskStates(LAB, learner);
    expect(states.find((state) => state.taskId === 'create-repo')?.status).toBe('pending');
    const entry = (await snapshot()).attendees.find((a) => a.learnerId === alice.learnerId)!;
    expect(entry.tasks['create-repo']).toEqual({ status: 'pending' });
    expect(entry.recentCommands).toEqual([]);

    // Her next terminal starts in the emptied home, and her old push no longer counts: she does it again.
    screen.close();
    screen = await Screen.open(test, alice.cookie);
    expect(await screen.run('ls ~/note.txt')).toMatch(/end-\d+-2/);
    await dockerLogin(screen, alice.username, alice.password);
    await screen.run('docker pull busybox');
    await screen.run(`docker tag busybox ${alice.username}/dctrust:latest`);
    await screen.run(`docker push ${alice.username}/dctrust:latest`);
    await waitUntil(
      async () =>
        (await test.platform.api.taskStates(LAB, learner)).find((s) => s.taskId === 'create-repo')?.status ===
        'done',
      15_000,
      () => 'create-repo did not tick again',
    );
  });

  it('signs the instructor out', async () => {
    expect(
      (await call('/api/instructor/session/signout', { method: 'POST', cookie: instructor.cookie })).status,
    ).toBe(403);
    const out = await call('/api/instructor/session/signout', {
      method: 'POST',
      cookie: instructor.cookie,
      csrf: instructor.csrf,
    });
    expect(out.status).toBe(200);
    expect(out.headers.getSetCookie()[0]).toMatch(new RegExp(`^${INSTRUCTOR_COOKIE}=; .*Max-Age=0`));
    expect((await call('/api/instructor/session', { cookie: instructor.cookie })).status).toBe(401);
  });
});
