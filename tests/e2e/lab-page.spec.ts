/**
 * The lab page itself: the security headers every page carries, the
 * terminal working under that policy, and what makes the terminal
 * comfortable (running and copying the steps' commands, copy and paste,
 * the right-click menu, font size, screen-reader mode, the divider),
 * remembered across a reload; and the stacked layout on a narrow screen.
 */
import { expect, skipWithoutChromium, task, test } from './fixtures.js';
import { LabTerminal } from './support/lab-terminal.js';
import { LAB_PATH } from './support/workshop.js';

skipWithoutChromium();

const NONCE = /script-src 'self' 'nonce-([A-Za-z0-9+/=]+)' 'strict-dynamic'/;

test('every page carries a strict Content-Security-Policy with a fresh nonce', async ({ request }) => {
  for (const path of ['/', '/hub', '/hub/library/busybox', LAB_PATH]) {
    const [first, second] = [await request.get(path), await request.get(path)];
    expect(first.status(), path).toBe(200);
    const policy = first.headers()['content-security-policy'] ?? '';
    const nonce = NONCE.exec(policy)?.[1];
    expect(nonce, `${path}: ${policy}`).toBeDefined();
    expect(NONCE.exec(second.headers()['content-security-policy'] ?? '')?.[1]).not.toBe(nonce);
    for (const directive of [
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
      "default-src 'self'",
    ]) {
      expect(policy, path).toContain(directive);
    }
    expect(policy).toContain(`style-src 'self' 'nonce-${nonce}';`);
    expect(policy).not.toContain('unsafe-eval');
    expect(first.headers()['x-content-type-options']).toBe('nosniff');
    expect(first.headers()['referrer-policy']).toBe('no-referrer');
    // Every script of the page is one the policy names.
    const scripts = (await first.text()).match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length, path).toBeGreaterThan(0);
    for (const script of scripts) expect(script, path).toContain(`nonce="${nonce}"`);
  }
  const api = await request.get('/api/health');
  expect(api.headers()['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
});

test('the terminal works under the policy: nothing refused, its own styles applied', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.emulateMedia({ colorScheme: 'light' });
  const response = await page.goto(LAB_PATH);
  const nonce = NONCE.exec(response?.headers()['content-security-policy'] ?? '')?.[1];
  const terminal = new LabTerminal(page);
  await terminal.waitForShell();
  expect(await terminal.run('echo "styled-$((40+2))"')).toBe('styled-42');

  // xterm.js's <style> elements got the nonce, so its theme took effect (the light theme's text colour).
  const styles = terminal.container.locator('style');
  expect(await styles.count()).toBeGreaterThanOrEqual(2);
  for (const style of await styles.all()) await expect(style).toHaveJSProperty('nonce', nonce);
  await expect(terminal.container.locator('.xterm-rows')).toHaveCSS('color', 'rgb(31, 35, 40)');
  expect(errors).toEqual([]);
});

test('commands in the steps run in the terminal, and copy', async ({ page, context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto(LAB_PATH);
  const terminal = new LabTerminal(page);
  await terminal.waitForShell();
  await terminal.clear();

  const block = task(page, 'enable-trust')
    .locator('[data-code-block]')
    .filter({ hasText: 'export DOCKER_CONTENT_TRUST=1' });
  await block.getByRole('button', { name: 'Run in the terminal: export DOCKER_CONTENT_TRUST=1' }).click();
  await terminal.waitForScreen('the command from the steps', (lines) =>
    lines.some((line) => line.endsWith('$ export DOCKER_CONTENT_TRUST=1')),
  );
  expect(await terminal.run('echo "trust=$DOCKER_CONTENT_TRUST"')).toBe('trust=1');

  await block.getByRole('button', { name: 'Copy: export DOCKER_CONTENT_TRUST=1' }).click();
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe('export DOCKER_CONTENT_TRUST=1');
});

test('copy and paste, the right-click menu, font size, screen reader mode, divider and theme', async ({
  page,
  context,
}) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto(LAB_PATH);
  const terminal = new LabTerminal(page);
  await terminal.waitForShell();
  await terminal.clear();

  // Ctrl+Shift+V pastes (the browser's own paste, which xterm.js takes in).
  await page.evaluate('navigator.clipboard.writeText("echo pasted-$((1+1))")');
  await terminal.focus();
  await page.keyboard.press('Control+Shift+V');
  await page.keyboard.press('Enter');
  await terminal.waitForScreen('the pasted command to run', (lines) => lines.includes('pasted-2'));

  // The right-click menu, from the keyboard: focus inside, arrows move, Escape closes.
  await terminal.container.click({ button: 'right' });
  const menu = page.getByRole('menu', { name: 'Terminal' });
  await expect(menu).toBeVisible();
  await expect(menu.getByRole('menuitem', { name: /^Copy/ })).toBeDisabled(); // nothing selected yet
  await expect(menu.getByRole('menuitem', { name: /^Paste/ })).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect(menu.getByRole('menuitem', { name: 'Select all' })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(menu).toHaveCount(0);
  // Ctrl+Shift+C copies the selection.
  await page.keyboard.press('Control+Shift+C');
  await expect.poll(() => page.evaluate('navigator.clipboard.readText()')).toContain('pasted-2');

  // Font size, screen reader mode and the divider's position (from the keyboard).
  await page.getByRole('button', { name: 'Larger text' }).click();
  await expect(page.getByRole('status', { name: 'Font size' })).toHaveText('16px');
  await page.getByRole('switch', { name: 'Screen reader mode' }).check();
  await expect(terminal.container.locator('.xterm-accessibility-tree')).toBeAttached();
  const divider = page.getByRole('separator', { name: 'Width of the steps' });
  const start = Number(await divider.getAttribute('aria-valuenow'));
  await divider.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(divider).toHaveAttribute('aria-valuenow', String(start + 4));
  // The dark theme, for the page and the terminal alike.
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('dark');
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(terminal.container.locator('.xterm-rows')).toHaveCSS('color', 'rgb(227, 232, 238)');

  await page.reload();
  await terminal.waitForShell();
  await expect(page.getByRole('status', { name: 'Font size' })).toHaveText('16px');
  await expect(page.getByRole('switch', { name: 'Screen reader mode' })).toBeChecked();
  await expect(terminal.container.locator('.xterm-accessibility-tree')).toBeAttached();
  await expect(divider).toHaveAttribute('aria-valuenow', String(start + 4));
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(terminal.container.locator('.xterm-rows')).toHaveCSS('color', 'rgb(227, 232, 238)');
});

test('on a narrow screen the steps and the terminal are stacked', async ({ page }) => {
  await page.setViewportSize({ width: 700, height: 900 });
  await page.goto(LAB_PATH);
  const terminal = new LabTerminal(page);
  await terminal.waitForShell();
  await expect(page.getByRole('separator', { name: 'Width of the steps' })).toBeHidden();
  const steps = await page.locator('#lab-steps').boundingBox();
  const screen = await terminal.container.boundingBox();
  expect(steps && screen && screen.y >= steps.y + steps.height).toBe(true);
  expect(screen!.width).toBeGreaterThan(600);
});
