/**
 * The platform end to end, without the pages: health, the learner cookie,
 * the API's same-origin rules, a real shell over the terminal WebSocket
 * whose docker reaches the hub through the session's socket, the lab engine
 * ticking a task from what the hub saw, and progress surviving a restart.
 * The local sandbox driver (tests/platform/bwrap.test.ts runs bwrap).
 */
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEARNER_COOKIE } from '../../platform/api.js';
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

/** The learner cookie a first visit to the lab page sets, as `name=value`. */
async function visitLabPage(
  test: TestPlatform,
  cookie?: string,
): Promise<{ status: number; setCookie: string[] }> {
  const response = await fetch(`${test.origin}/labs/${LAB}`, { headers: cookie ? { Cookie: cookie } : {} });
  await response.arrayBuffer();
  return { status: response.status, setCookie: response.headers.getSetCookie() };
}

function post(test: TestPlatform, path: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${test.origin}${path}`, { method: 'POST', headers });
}

describe('platform (local driver)', () => {
  let test: TestPlatform;
  let cookie: string;
  let learner: { id: string; username: string; password: string };
  let screen: Screen | undefined;

  beforeAll(async () => {
    test = await startTestPlatform();
    const visit = await visitLabPage(test);
    cookie = visit.setCookie[0]!.split(';')[0]!;
    learner = (await test.platform.api.learner(cookie.split('=')[1])).learner;
  });

  afterAll(async () => {
    screen?.close();
    await test?.platform.close();
    if (test) await removeDataDir(test.dataDir);
  });

  it('answers /api/health with 200 and the sandbox driver once everything is up', async () => {
    const response = await fetch(`${test.origin}/api/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      ok: true,
      app: 'up',
      terminal: { up: true, driver: 'local', isolated: false, sessions: 0 },
      hub: { up: true, url: `https://localhost:${test.hubPort}` },
    });
    expect(test.warnings.some((message) => message.includes('no isolation'))).toBe(true);
  });

  it('refuses a Host that is not one of the app’s own names, on every path', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: test.platform.port,
          path: '/api/health',
          headers: { Host: `evil.example:${test.platform.port}` },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });

  it('gives a first visit to a lab page an HttpOnly, SameSite=Lax learner cookie, and keeps it after', async () => {
    expect(cookie).toMatch(new RegExp(`^${LEARNER_COOKIE}=[0-9a-f]{32}$`));
    const fresh = await visitLabPage(test);
    const attributes = fresh.setCookie[0]!.split(';').map((part) => part.trim());
    expect(attributes).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'SameSite=Lax']));
    expect((await visitLabPage(test, cookie)).setCookie).toEqual([]);
    // A made-up lab makes no learner (each one is a hub account).
    const madeUp = await fetch(`${test.origin}/labs/no-such-lab`);
    expect(madeUp.headers.getSetCookie()).toEqual([]);
    expect(learner.username).toMatch(/^learner-[0-9a-f]{4,}$/);
    expect(learner.password).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}$/);
    // The page's login is a real hub account.
    expect(await test.platform.hub.accounts.verifyPassword(learner.username, learner.password)).toBe(true);
  });

  it('refuses a ticket to a cross-origin POST, a POST without Origin, and a missing or unknown cookie', async () => {
    const ticket = '/api/terminal/ticket';
    expect((await post(test, ticket, { Cookie: cookie, Origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(test, ticket, { Cookie: cookie })).status).toBe(403);
    expect(
      (await post(test, ticket, { Cookie: cookie, Origin: test.origin, 'Sec-Fetch-Site': 'cross-site' }))
        .status,
    ).toBe(403);
    expect((await post(test, ticket, { Origin: test.origin })).status).toBe(401);
    expect(
      (await post(test, ticket, { Origin: test.origin, Cookie: `${LEARNER_COOKIE}=${'0'.repeat(32)}` }))
        .status,
    ).toBe(401);
    expect(
      (await fetch(`${test.origin}${ticket}`, { headers: { Cookie: cookie, Origin: test.origin } })).status,
    ).toBe(405);

    const granted = await post(test, ticket, {
      Cookie: cookie,
      Origin: test.origin,
      'Sec-Fetch-Site': 'same-origin',
    });
    expect(granted.status).toBe(200);
    expect(granted.headers.get('cache-control')).toBe('no-store');
    const body = (await granted.json()) as { ticket: string; expiresAt: string };
    expect(body.ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
  });

  it('shows the learner their login only to same-origin requests that carry their cookie', async () => {
    const mine = await fetch(`${test.origin}/api/session`, {
      headers: { Cookie: cookie, 'Sec-Fetch-Site': 'same-origin' },
    });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('cache-control')).toBe('no-store');
    expect(await mine.json()).toEqual({ username: learner.username, password: learner.password });
    expect(
      (
        await fetch(`${test.origin}/api/session`, {
          headers: { Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await fetch(`${test.origin}/api/session`, {
          headers: { Cookie: cookie, Origin: 'https://evil.example' },
        })
      ).status,
    ).toBe(403);
    expect((await fetch(`${test.origin}/api/session`)).status).toBe(401);
  });

  it('gives the learner a shell whose docker login and pull go through the hub socket, recorded with the session', async () => {
    screen = await Screen.open(test, cookie);
    await screen.run('true');
    const session = test.platform.terminal.session(learner.id);
    expect(session?.state).toBe('running');

    // The lab's notary shares docker's trust directory and talks to the hub.
    const notaryConfig = JSON.parse(
      await readFile(`${session!.homeDir}/.notary/config.json`, 'utf8'),
    ) as unknown;
    expect(notaryConfig).toEqual({
      trust_dir: '~/.docker/trust',
      remote_server: { url: `https://localhost:${test.hubPort}` },
    });

    await dockerLogin(screen, learner.username, learner.password);
    const pulled = await screen.run('docker pull busybox');
    expect(pulled).toMatch(/end-\d+-0/);

    const records = test.platform.hub.records.query({ session: session!.id, limit: 1000 });
    expect(records.some((r) => r.path === '/token' && r.account === learner.username)).toBe(true);
    expect(
      records.some((r) => r.repository === 'library/busybox' && r.method === 'GET' && r.status === 200),
    ).toBe(true);
    // Nothing of the learner went to the hub over TCP without its session.
    const unattributed = test.platform.hub.records
      .query({ account: learner.username })
      .filter((r) => r.session !== session!.id);
    expect(unattributed).toEqual([]);
  });

  it('ticks create-repo after the unsigned push, live on the status stream, and not before', async () => {
    const stream = await EventStream.open(test, cookie);
    try {
      await waitUntil(
        () => stream.states.length > 0,
        10_000,
        () => 'no initial snapshot',
      );
      expect(stream.latest('create-repo')).toBe('pending');
      const first = stream.states[0]!.find((state) => state.taskId === 'create-repo')!;
      expect(first.hintsHtml.join('')).toContain(
        `<span data-credential="username">${learner.username}</span>`,
      );

      await screen!.run(`docker tag busybox ${learner.username}/dctrust:latest`);
      expect(stream.latest('create-repo')).toBe('pending');
      const pushed = await screen!.run(`docker push ${learner.username}/dctrust:latest`);
      expect(pushed).toMatch(/end-\d+-0/);
      await waitUntil(
        () => stream.latest('create-repo') === 'done',
        15_000,
        () => JSON.stringify(stream.states.at(-1)),
      );
      expect(stream.latest('enable-trust')).toBe('pending');
    } finally {
      stream.close();
    }

    const recheck = await post(test, `/api/labs/${LAB}/check`, { Cookie: cookie, Origin: test.origin });
    expect(recheck.status).toBe(200);
    const { tasks } = (await recheck.json()) as { tasks: Array<{ taskId: string; status: string }> };
    expect(tasks.find((task) => task.taskId === 'create-repo')?.status).toBe('done');
    expect((await post(test, `/api/labs/${LAB}/check`, { Cookie: cookie })).status).toBe(403);
    expect(
      (await post(test, '/api/labs/no-such-lab/check', { Cookie: cookie, Origin: test.origin })).status,
    ).toBe(404);
  });

  it('lists the pushed repository in the hub browser, unsigned', async () => {
    const repositories = await test.platform.api.hubRepositories();
    const mine = repositories.find((repository) => repository.name === `${learner.username}/dctrust`);
    expect(mine?.tags).toEqual([expect.objectContaining({ tag: 'latest', signed: false, signers: [] })]);
    const busybox = repositories.find((repository) => repository.name === 'library/busybox');
    expect(busybox?.tags.find((tag) => tag.tag === 'latest')).toMatchObject({
      signed: true,
      signers: ['targets'],
    });
    const trust = await test.platform.api.hubTrust('library/busybox');
    expect(trust?.roles.map((role) => role.role)).toEqual(['root', 'targets', 'snapshot', 'timestamp']);
    expect(await test.platform.api.hubTrust(`${learner.username}/dctrust`)).toBeUndefined();
  });

  it('keeps passed tasks, the learner, their records and their home across a restart', async () => {
    await screen!.run('echo kept-across-restarts > ~/note.txt');
    screen!.close();
    screen = undefined;
    const { dataDir, hubPort } = test;
    await test.platform.close();
    expect((await fetch(`${test.origin}/api/health`).catch(() => undefined))?.status).toBeUndefined();

    test = await startTestPlatform({ dataDir, hubPort });
    expect((await visitLabPage(test, cookie)).setCookie).toEqual([]);
    const again = await test.platform.api.learner(cookie.split('=')[1]);
    expect(again.cookie).toBeUndefined();
    expect(again.learner).toEqual(learner);

    const states = await test.platform.api.taskStates(LAB, learner);
    expect(states.find((state) => state.taskId === 'create-repo')?.status).toBe('done');

    screen = await Screen.open(test, cookie);
    expect(await screen.run('cat ~/note.txt')).toContain('kept-across-restarts');
    // enable-trust needs the push of the previous run: records of earlier sessions still count.
    const refused = await screen.run(`DOCKER_CONTENT_TRUST=1 docker pull ${learner.username}/dctrust:latest`);
    expect(refused).toMatch(/end-\d+-1/);
    await waitUntil(
      async () =>
        (await test.platform.api.taskStates(LAB, learner)).find((s) => s.taskId === 'enable-trust')
          ?.status === 'done',
      15_000,
      () => 'enable-trust never ticked',
    );
  });

  it('stops cleanly: sessions destroyed, streams ended, health gone', async () => {
    const stream = await EventStream.open(test, cookie);
    await waitUntil(() => stream.states.length > 0);
    expect(test.platform.terminal.health().sessions.live).toBe(1);
    await test.platform.close();
    await stream.done;
    expect(stream.events).toContain('end');
    expect(test.platform.terminal.health().sessions.live).toBe(0);
    expect(test.platform.api.health().ok).toBe(false);
  });
});
