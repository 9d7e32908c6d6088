/**
 * A newcomer opens the Content Trust lab and does the workshop in the page's
 * terminal, typing what the steps say. Tasks 1 to 4 tick in order, each
 * only once its work is really done: before that, a fresh run of every
 * check (Check my work) still leaves it pending.
 */
import path from 'node:path';
import { expect, expectCheckedDone, expectDone, skipWithoutChromium, task, test } from './fixtures.js';
import { unwrapped } from './support/lab-terminal.js';
import { LAB_PATH, shownLogin, Workshop } from './support/workshop.js';

skipWithoutChromium();

test('a newcomer types the workshop into the terminal and tasks 1-4 tick in order', async ({
  page,
}, testInfo) => {
  await page.goto(LAB_PATH);
  const login = await shownLogin(page);
  const workshop = new Workshop(page, login);
  const { repository } = workshop;
  await workshop.terminal.waitForShell();
  await expectDone(page, []);

  // Task 1: log in with the login the page shows, pull, tag, push without trust.
  expect(unwrapped(await workshop.dockerLogin())).toContain('Login Succeeded');
  expect(unwrapped(await workshop.pullBusybox())).toContain(
    'Status: Downloaded newer image for busybox:latest',
  );
  await workshop.tag('latest');
  await expectCheckedDone(page, []);
  expect(unwrapped(await workshop.pushUnsigned())).toMatch(/latest: digest: sha256:[0-9a-f]{64} size: \d+/);
  await expect(task(page, 'create-repo')).toHaveAttribute('data-task-status', 'done');
  await expectDone(page, ['create-repo']);

  // Task 2: content trust on, then the pull it refuses.
  await workshop.enableTrust();
  await expectCheckedDone(page, ['create-repo']);
  expect(unwrapped(await workshop.pull('latest'))).toContain(
    `does not have trust data for docker.io/${repository}`,
  );
  await expect(task(page, 'enable-trust')).toHaveAttribute('data-task-status', 'done');
  await expectDone(page, ['create-repo', 'enable-trust']);

  // Task 3: the signed push, answering the four passphrase questions.
  await workshop.tag('signed');
  await expectCheckedDone(page, ['create-repo', 'enable-trust']);
  const pushed = unwrapped(
    await workshop.pushSigned({ root: 'correct horse root 1', repository: 'battery staple repo 2' }),
  );
  expect(pushed).toContain(`Finished initializing "docker.io/${repository}"`);
  expect(pushed).toContain(`Successfully signed docker.io/${repository}:signed`);
  await expect(task(page, 'push-signed')).toHaveAttribute('data-task-status', 'done');
  await expectDone(page, ['create-repo', 'enable-trust', 'push-signed']);

  // Task 4: the four pulls; three of them are not enough.
  expect(unwrapped(await workshop.pull('latest'))).toContain('No valid trust data for latest');
  expect(unwrapped(await workshop.pull('signed'))).toMatch(
    new RegExp(`Tagging ${repository}@sha256:[0-9a-f]{64} as ${repository}:signed`),
  );
  expect(unwrapped(await workshop.pull('latest', { disableTrust: true }))).toMatch(
    new RegExp(`Status: (Image is up to date|Downloaded newer image) for ${repository}:latest`),
  );
  await expectCheckedDone(page, ['create-repo', 'enable-trust', 'push-signed']);
  expect(unwrapped(await workshop.pull('signed', { disableTrust: true }))).toMatch(
    new RegExp(`Status: (Image is up to date|Downloaded newer image) for ${repository}:signed`),
  );
  await expect(task(page, 'pull-images')).toHaveAttribute('data-task-status', 'done');
  await expectDone(page, ['create-repo', 'enable-trust', 'push-signed', 'pull-images']);
  await expect(page.getByText('4 of 5 tasks done')).toBeVisible();

  const screenshot = testInfo.outputPath('finished-lab.png');
  await page.screenshot({ path: screenshot });
  await testInfo.attach('the finished lab page', { path: screenshot, contentType: 'image/png' });
  console.log(`[e2e] screenshot of the finished lab page: ${path.relative(process.cwd(), screenshot)}`);

  // The hub shows what was done: one tag signed by the repository's targets key, one not.
  await page.goto(`/hub/${repository}`);
  await expect(page.getByText(`docker.io/${repository}`, { exact: true })).toBeVisible();
  await expect(page.locator('li[data-tag="latest"]')).toHaveAttribute('data-signed', 'false');
  await expect(page.locator('li[data-tag="latest"]')).toContainText('Not signed');
  await expect(page.locator('li[data-tag="signed"]')).toHaveAttribute('data-signed', 'true');
  await expect(page.locator('li[data-tag="signed"]')).toContainText('signed by targets');
  await expect(page.locator('tr[data-role="targets"]')).toContainText('1 of 1');
});
