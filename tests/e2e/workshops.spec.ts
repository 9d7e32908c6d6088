/**
 * Workshops end to end, each person in a browser context of their own: an
 * instructor signs in, creates a workshop and follows attendees who joined
 * by its link; watches one of them and types with their consent; resets
 * one; and finds everything again after the server restarts. An attendee's
 * browser gets nothing of the dashboard.
 */
import { mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Locator, Page, TestInfo } from '@playwright/test';
import { expect, skipWithoutChromium, test } from './fixtures.js';
import { LabTerminal, unwrapped } from './support/lab-terminal.js';
import { INSTRUCTOR_PASSWORD, PROJECT_ROOT, startServer } from './support/server.js';
import { LAB_PATH, shownLogin, Workshop } from './support/workshop.js';

skipWithoutChromium();

interface CreatedWorkshop {
  readonly id: string;
  readonly code: string;
  readonly joinUrl: string;
}

async function newPage(browser: Browser, baseURL: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1400, height: 900 } });
  return context.newPage();
}

async function signIn(page: Page): Promise<void> {
  await page.goto('/instructor');
  await page.getByLabel('Instructor password').fill(INSTRUCTOR_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Your workshops' })).toBeVisible({ timeout: 15_000 });
}

async function createWorkshop(page: Page, title: string): Promise<CreatedWorkshop> {
  await page.getByLabel('Title').fill(title);
  await page.getByRole('button', { name: 'Create the workshop' }).click();
  const card = page.locator('li[data-workshop-id]', { hasText: title });
  await expect(card).toBeVisible({ timeout: 15_000 });
  const link = card.locator('[data-join-link]');
  await expect(link).toHaveText(/^https?:\/\/[^/]+\/join\/[A-Z0-9]{6}$/);
  return {
    id: (await card.getAttribute('data-workshop-id'))!,
    code: (await card.getAttribute('data-workshop-code'))!,
    joinUrl: (await link.textContent())!.trim(),
  };
}

/** Opens the join link, gives a name, lands on the lab with the shell up; the attendee's workshop helper. */
async function join(page: Page, joinUrl: string, name: string): Promise<Workshop> {
  await page.goto(joinUrl);
  await expect(page.locator('[data-join-state="open"]')).toBeVisible();
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join the workshop' }).click();
  await page.waitForURL(/\/labs\/content-trust$/, { timeout: 30_000 });
  const workshop = new Workshop(page, await shownLogin(page));
  await workshop.terminal.waitForShell();
  return workshop;
}

async function openDashboard(page: Page, workshopId: string): Promise<void> {
  await page.goto(`/instructor/workshops/${workshopId}`);
  await expect(page.locator(`.dashboard-page[data-workshop-id="${workshopId}"]`)).toBeVisible({
    timeout: 30_000,
  });
}

async function learnerIdOf(dashboard: Page, name: string): Promise<string> {
  const row = dashboard.locator('tr[data-attendee-row]', { hasText: name });
  await expect(row).toBeVisible({ timeout: 30_000 });
  return (await row.getAttribute('data-attendee-row'))!;
}

function cell(dashboard: Page, learnerId: string, taskId: string): Locator {
  return dashboard.locator(`[data-attendee="${learnerId}"][data-task-id="${taskId}"]`);
}

/** Polls the page every 20 ms until `selector` matches; resolves to the page's clock at that moment. */
async function seenAt(page: Page, selector: string, timeoutMs = 120_000): Promise<number> {
  const handle = await page.waitForFunction(
    // Runs in the page, where `document` exists (this file is compiled without the DOM's types).
    (wanted) =>
      (
        globalThis as unknown as { document: { querySelector(selector: string): unknown } }
      ).document.querySelector(wanted)
        ? Date.now()
        : 0,
    selector,
    { polling: 20, timeout: timeoutMs },
  );
  return (await handle.jsonValue()) as number;
}

async function attachScreenshot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await testInfo.attach(name, { path: file, contentType: 'image/png' });
}

/** Task 1: log in, pull, tag, push without trust. */
async function createRepo(workshop: Workshop): Promise<void> {
  expect(unwrapped(await workshop.dockerLogin())).toContain('Login Succeeded');
  await workshop.pullBusybox();
  await workshop.tag('latest');
  expect(unwrapped(await workshop.pushUnsigned())).toMatch(/latest: digest: sha256:[0-9a-f]{64}/);
}

test('attendees join by the link, and the dashboard shows each tick as their own page does', async ({
  browser,
  baseURL,
}, testInfo) => {
  const instructor = await newPage(browser, baseURL!);
  await signIn(instructor);
  const created = await createWorkshop(instructor, 'Live grid');
  await openDashboard(instructor, created.id);

  const ada = await join(await newPage(browser, baseURL!), created.joinUrl, 'Ada');
  const bob = await join(await newPage(browser, baseURL!), created.joinUrl, 'Bob');
  const adaId = await learnerIdOf(instructor, 'Ada');
  const bobId = await learnerIdOf(instructor, 'Bob');
  expect(adaId).not.toBe(bobId);
  await expect(cell(instructor, adaId, 'create-repo')).toHaveAttribute('data-task-status', 'pending');

  const delays: number[] = [];
  const tick = async (
    workshop: Workshop,
    learnerId: string,
    taskId: string,
    work: () => Promise<unknown>,
  ) => {
    const own = seenAt(workshop.page, `section[data-task-id="${taskId}"][data-task-status="done"]`);
    const dashboard = seenAt(
      instructor,
      `[data-attendee="${learnerId}"][data-task-id="${taskId}"][data-task-status="done"]`,
    );
    await work();
    const [ownAt, dashboardAt] = await Promise.all([own, dashboard]);
    const delay = dashboardAt - ownAt;
    delays.push(delay);
    console.log(
      `[e2e] ${taskId} of ${learnerId}: the dashboard showed it ${delay} ms after the attendee's page`,
    );
    expect(delay).toBeLessThan(1000);
  };

  await tick(ada, adaId, 'create-repo', () => createRepo(ada));
  await tick(bob, bobId, 'create-repo', () => createRepo(bob));
  await bob.enableTrust();
  await tick(bob, bobId, 'enable-trust', async () => {
    expect(unwrapped(await bob.pull('latest'))).toContain('does not have trust data');
  });

  await expect(instructor.locator('[data-task-total="create-repo"]')).toHaveText('2 of 2');
  await expect(instructor.locator('[data-task-total="enable-trust"]')).toHaveText('1 of 2');
  await expect(cell(instructor, adaId, 'enable-trust')).toHaveAttribute('data-task-status', 'pending');
  // Their last commands are listed, without anything secret.
  await expect(instructor.locator(`tr[data-attendee-row="${bobId}"] .command-list`)).toContainText('pull');
  console.log(`[e2e] dashboard delays: ${delays.join(', ')} ms`);
  await attachScreenshot(instructor, testInfo, 'dashboard');

  // Joining again from the same browser: the same attendee, welcomed back.
  await ada.page.goto(created.joinUrl);
  await expect(ada.page.getByText('Welcome back')).toBeVisible();
  await ada.page.getByRole('button', { name: 'Join the workshop' }).click();
  await expect(ada.page.locator('[data-join-welcome]')).toContainText('Welcome back');
  await ada.page.waitForURL(/\/labs\/content-trust$/);
  await expect(instructor.locator('tr[data-attendee-row]')).toHaveCount(2);
});

test('the instructor watches an attendee and types only once the attendee allows it', async ({
  browser,
  baseURL,
}, testInfo) => {
  const instructor = await newPage(browser, baseURL!);
  await signIn(instructor);
  const created = await createWorkshop(instructor, 'Shadowing');
  const cleo = await join(await newPage(browser, baseURL!), created.joinUrl, 'Cleo');
  await openDashboard(instructor, created.id);
  await learnerIdOf(instructor, 'Cleo');

  await instructor.getByRole('button', { name: 'Watch Cleo' }).click();
  const watched = new LabTerminal(instructor);
  await expect(instructor.locator('[data-terminal-role="watcher"]')).toHaveAttribute(
    'data-terminal-state',
    'ready',
    { timeout: 30_000 },
  );
  await expect(instructor.locator('[data-control]')).toHaveText('Read only');
  await expect(cleo.page.locator('[data-watched]')).toContainText(/Instructor \w+ is watching your terminal/);

  // The attendee types; the instructor sees it.
  await cleo.terminal.run('echo seen-by-$((40+2))');
  await watched.waitForScreen('the attendee’s output', (lines) => lines.join('').includes('seen-by-42'), {
    timeoutMs: 15_000,
  });

  // The instructor's typing is refused.
  await watched.container.click();
  await instructor.keyboard.type('echo refused-$((1+1))');
  await instructor.keyboard.press('Enter');
  await expect(instructor.locator('[data-watch-note]')).toContainText('has not let you type');
  await instructor.waitForTimeout(500);
  expect(unwrapped(await cleo.terminal.screen())).not.toContain('refused-');

  // Asked and allowed: now it reaches the shell.
  await instructor.getByRole('button', { name: 'Request control' }).click();
  const prompt = cleo.page.locator('[data-control-request]');
  await expect(prompt).toContainText('asks to type in your terminal');
  await prompt.getByRole('button', { name: 'Allow' }).click();
  await expect(instructor.locator('[data-control]')).toHaveText('You can type', { timeout: 15_000 });
  await expect(cleo.page.locator('[data-watched]')).toContainText('can type in it');
  await attachScreenshot(cleo.page, testInfo, 'attendee-sharing-control');

  await watched.container.click();
  await instructor.keyboard.type('echo typed-by-$((6*7))-instructor');
  await instructor.keyboard.press('Enter');
  await cleo.terminal.waitForScreen(
    'the instructor’s command to run',
    (lines) => lines.some((line) => line.trim() === 'typed-by-42-instructor'),
    { timeoutMs: 15_000 },
  );

  // The attendee takes it back.
  await cleo.page.getByRole('button', { name: 'Stop sharing control' }).click();
  await expect(instructor.locator('[data-control]')).toHaveText('Read only', { timeout: 15_000 });
  await expect(instructor.locator('[data-watch-note]')).toContainText('Control ended');
  await attachScreenshot(instructor, testInfo, 'instructor-watching');
});

test('a reset with cleared progress restarts the attendee in a fresh home', async ({ browser, baseURL }) => {
  const instructor = await newPage(browser, baseURL!);
  await signIn(instructor);
  const created = await createWorkshop(instructor, 'Resets');
  const dan = await join(await newPage(browser, baseURL!), created.joinUrl, 'Dan');
  const fresh = await dan.terminal.run('ls -A ~');

  await createRepo(dan);
  await expect(dan.page.locator('section[data-task-id="create-repo"]')).toHaveAttribute(
    'data-task-status',
    'done',
  );
  await dan.terminal.run('touch ~/made-before-reset');
  expect(await dan.terminal.run('ls -A ~')).toContain('made-before-reset');

  await openDashboard(instructor, created.id);
  const danId = await learnerIdOf(instructor, 'Dan');
  await expect(cell(instructor, danId, 'create-repo')).toHaveAttribute('data-task-status', 'done');
  await instructor.getByRole('button', { name: 'Reset Dan' }).click();
  const confirm = instructor.locator(`[data-reset-confirm="${danId}"]`);
  await confirm.getByLabel('Clear progress').check();
  await confirm.getByRole('button', { name: 'Confirm reset' }).click();

  await expect(dan.page.locator('[data-terminal-reset]')).toContainText('reset this terminal', {
    timeout: 30_000,
  });
  await dan.terminal.waitForShell();
  expect(await dan.terminal.run('ls -A ~')).toBe(fresh);
  expect(unwrapped(await dan.terminal.run('ls ~/made-before-reset'))).toContain('No such file');
  await expect(dan.page.locator('section[data-task-id="create-repo"]')).toHaveAttribute(
    'data-task-status',
    'pending',
  );
  await expect(cell(instructor, danId, 'create-repo')).toHaveAttribute('data-task-status', 'pending');
});

test('after a restart on the same data, the dashboard and the attendee still see the progress', async ({
  browser,
}) => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'trustlab-e2e-restart-'));
  chmodSync(scratch, 0o711);
  const dataDir = path.join(scratch, 'data');
  const log = (n: number) => path.join(PROJECT_ROOT, 'test-results', `e2e-restart-server-${n}.log`);
  let server = await startServer(log(1), { dataDir });
  try {
    const instructor = await newPage(browser, server.url);
    await signIn(instructor);
    const created = await createWorkshop(instructor, 'Survives restarts');
    const eve = await join(await newPage(browser, server.url), created.joinUrl, 'Eve');
    await createRepo(eve);
    await expect(eve.page.locator('section[data-task-id="create-repo"]')).toHaveAttribute(
      'data-task-status',
      'done',
    );

    await server.stop();
    server = await startServer(log(2), { dataDir });

    // Cookies belong to the host, not the port: both still hold their sessions.
    await instructor.goto(`${server.url}/instructor/workshops/${created.id}`);
    const eveId = await learnerIdOf(instructor, 'Eve');
    await expect(cell(instructor, eveId, 'create-repo')).toHaveAttribute('data-task-status', 'done');
    await eve.page.goto(`${server.url}${LAB_PATH}`);
    await expect(eve.page.locator('section[data-task-id="create-repo"]')).toHaveAttribute(
      'data-task-status',
      'done',
    );
    await expect(eve.page.getByText('1 of 5 tasks done')).toBeVisible();
  } finally {
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
});

test('an attendee’s browser gets nothing of the dashboard', async ({ browser, baseURL }) => {
  const instructor = await newPage(browser, baseURL!);
  await signIn(instructor);
  const created = await createWorkshop(instructor, 'Private dashboard');
  const attendee = await newPage(browser, baseURL!);
  await attendee.goto(created.joinUrl);
  await attendee.getByLabel('Your name').fill('Fay');
  await attendee.getByRole('button', { name: 'Join the workshop' }).click();
  await attendee.waitForURL(/\/labs\/content-trust$/, { timeout: 30_000 });

  await attendee.goto(`/instructor/workshops/${created.id}`);
  await expect(attendee).toHaveURL(/\/instructor$/);
  await expect(attendee.getByRole('heading', { name: 'Instructor sign-in' })).toBeVisible();
  const html = await attendee.content();
  expect(html).not.toContain('Private dashboard');
  expect(html).not.toContain('Fay');
  expect(html).not.toContain('data-attendee=');
  const api = await attendee.request.get(`/api/instructor/workshops/${created.id}`);
  expect(api.status()).toBe(401);
  const events = await attendee.request.get(`/api/instructor/workshops/${created.id}/events`);
  expect(events.status()).toBe(401);
});
