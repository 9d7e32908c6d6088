/**
 * `test` for the end-to-end specs, pointed at the server global-setup.ts
 * started. Every test gets a fresh browser context, hence a fresh learner:
 * their own cookie, hub account, sandbox and progress.
 *
 * Each spec file starts with `skipWithoutChromium()`: where Chromium is
 * missing outside CI its tests are reported as skipped, with the reason
 * (playwright.config.ts has already failed the run if this is CI).
 */
import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { CHROMIUM_MISSING, chromiumInstalled } from './support/chromium.js';

export const test = base.extend({
  // Playwright reads a fixture's dependencies from this pattern; this one has none.
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => {
    const url = process.env.TRUSTLAB_E2E_URL;
    if (url === undefined)
      throw new Error('global-setup.ts did not start the server (TRUSTLAB_E2E_URL is unset)');
    await use(url);
  },
});

export function skipWithoutChromium(): void {
  test.skip(!chromiumInstalled(), CHROMIUM_MISSING);
}

export { expect };

export const TASKS = ['create-repo', 'enable-trust', 'push-signed', 'pull-images', 'yubikey'] as const;
export type TaskId = (typeof TASKS)[number];

export function task(page: Page, id: TaskId): Locator {
  return page.locator(`[data-task-id="${id}"]`);
}

/** The status each task shows right now, from the contract hooks. */
export async function statuses(page: Page): Promise<Record<TaskId, string | null>> {
  const entries = await Promise.all(
    TASKS.map(async (id) => [id, await task(page, id).getAttribute('data-task-status')] as const),
  );
  return Object.fromEntries(entries) as Record<TaskId, string | null>;
}

/**
 * Presses Check my work: the server runs every check again and answers the
 * states. Returns them as the server sent them (the authority, fresh), once
 * the page has taken them in.
 */
export async function recheck(page: Page): Promise<Record<string, string>> {
  const button = page.getByRole('button', { name: 'Check my work' });
  const answered = page.waitForResponse(
    (response) => response.url().endsWith('/check') && response.request().method() === 'POST',
  );
  await button.click();
  const response = await answered;
  expect(response.status()).toBe(200);
  const body = (await response.json()) as { tasks: Array<{ taskId: string; status: string }> };
  await expect(button).toBeEnabled();
  return Object.fromEntries(body.tasks.map((state) => [state.taskId, state.status]));
}

/** After a Check: the server's fresh answer and the page both say exactly `done` is done. */
export async function expectCheckedDone(page: Page, done: readonly TaskId[]): Promise<void> {
  const fresh = await recheck(page);
  expect(fresh).toEqual(Object.fromEntries(TASKS.map((id) => [id, done.includes(id) ? 'done' : 'pending'])));
  await expectDone(page, done);
}

/** Expects exactly `done` to be done and every other task pending. */
export async function expectDone(page: Page, done: readonly TaskId[]): Promise<void> {
  for (const id of TASKS) {
    await expect(task(page, id), `task ${id}`).toHaveAttribute(
      'data-task-status',
      done.includes(id) ? 'done' : 'pending',
    );
  }
}
