/**
 * Leaving and coming back: a reloaded page reattaches to the same shell and
 * shows its screen again (the server replays it once), and the progress is
 * still there; a dropped connection shows the reconnecting banner, then
 * continues the screen from where it was, without repeating anything.
 */
import type { WebSocketRoute } from '@playwright/test';
import { expect, expectDone, skipWithoutChromium, test } from './fixtures.js';
import { LAB_PATH, shownLogin, Workshop } from './support/workshop.js';

skipWithoutChromium();

const HELLO = 0x01;
const REPLAY = 0x81;

function bytesOf(message: string | Buffer): Buffer {
  return typeof message === 'string' ? Buffer.from(message) : message;
}

test('a reload reattaches the terminal with its screen, and the progress stays', async ({ page }) => {
  await page.goto(LAB_PATH);
  const login = await shownLogin(page);
  const workshop = new Workshop(page, login);
  const { terminal } = workshop;
  await terminal.waitForShell();

  await workshop.dockerLogin();
  await workshop.pullBusybox();
  await workshop.tag('latest');
  await workshop.pushUnsigned();
  await expectDone(page, ['create-repo']);
  await terminal.run('export PROBE=kept-$((6*7))');
  expect(await terminal.run('echo "marker-$((6*7))-$PROBE"')).toBe('marker-42-kept-42');
  const before = await terminal.lines();

  await page.reload();
  await terminal.waitForShell();
  // The same screen, each line once: the replay was written into a cleared terminal exactly once.
  expect(await terminal.lines()).toEqual(before);
  expect((await terminal.lines()).filter((line) => line === 'marker-42-kept-42')).toHaveLength(1);
  // The same shell, not a new one: it still has the variable.
  expect(await terminal.run('echo "$PROBE"')).toBe('kept-42');
  // The same learner and progress.
  expect(await shownLogin(page)).toEqual(login);
  await expectDone(page, ['create-repo']);
  await expect(page.getByText('1 of 5 tasks done')).toBeVisible();
});

test('a dropped connection shows the banner, then resumes the same screen', async ({ page }) => {
  const sockets: WebSocketRoute[] = [];
  const hellos: Buffer[] = [];
  const replayModes: number[] = [];
  // Between the page and the server, to drop the connection and watch what goes over it.
  await page.routeWebSocket(/\/terminal$/, (socket) => {
    const server = socket.connectToServer();
    sockets.push(socket);
    socket.onMessage((message) => {
      const bytes = bytesOf(message);
      if (bytes[0] === HELLO) hellos.push(bytes);
      server.send(message);
    });
    server.onMessage((message) => {
      const bytes = bytesOf(message);
      if (bytes[0] === REPLAY) replayModes.push(bytes[1]!);
      socket.send(message);
    });
  });

  await page.goto(LAB_PATH);
  const { terminal } = new Workshop(page, await shownLogin(page));
  await terminal.waitForShell();
  expect(await terminal.run('echo "before-$((2+3))"')).toBe('before-5');
  const before = await terminal.lines();
  expect(hellos).toHaveLength(1);
  expect(hellos[0]![2]! & 1).toBe(0); // a fresh page: no resume point

  await sockets.at(-1)!.close({ code: 4000, reason: 'dropped by the test' });
  await expect(page.locator('[data-reconnecting]')).toBeVisible();
  await expect(page.locator('[data-reconnecting]')).toContainText('Reconnecting');
  await terminal.waitForShell();
  await expect(page.locator('[data-reconnecting]')).toHaveCount(0);

  expect(hellos).toHaveLength(2);
  expect(hellos[1]![2]! & 1).toBe(1); // RESUME: the page still shows the screen
  expect(replayModes).toEqual([0, 1]); // reset for the new page, continue after the drop
  expect(await terminal.lines()).toEqual(before);
  expect(await terminal.run('echo "after-$((3+4))"')).toBe('after-7');
});
