/**
 * Task 5's YubiKey panel on the lab page: pairing a helper (the code and
 * the command to run, the status before and after a real helper pairs, with
 * SoftHSM2 standing in for the YubiKey), and "Detect my YubiKey" where the
 * browser has no WebUSB, where the chooser is cancelled, and where it
 * returns a YubiKey 5. Chromium's real chooser cannot be driven, so those
 * stub `navigator.usb` before the page's scripts run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { requireBinariesForSuite } from '../support/binaries.js';
import { createSoftToken } from '../support/softhsm.js';
import { expect, skipWithoutChromium, task, test } from './fixtures.js';
import { PROJECT_ROOT } from './support/server.js';
import { LAB_PATH } from './support/workshop.js';

skipWithoutChromium();

const TOKEN_LABEL = 'e2e-yubikey';

function panel(page: Page) {
  return task(page, 'yubikey').locator('[data-yubikey-panel]');
}

/** Opens the lab, presses "Pair a helper", and reads the code and command the page shows. */
async function pairFromPage(page: Page): Promise<{ code: string; command: string }> {
  await page.goto(LAB_PATH);
  const yubikey = panel(page);
  await expect(yubikey).toBeVisible();
  await expect(yubikey.locator('[data-yubikey-status]')).toHaveAttribute(
    'data-yubikey-status',
    'not-connected',
  );
  const answered = page.waitForResponse(
    (response) => response.url().endsWith('/api/session/yubikey') && response.request().method() === 'POST',
  );
  await yubikey.getByRole('button', { name: 'Pair a helper' }).click();
  expect((await answered).status()).toBe(200);
  const code = (await yubikey.locator('[data-yubikey-code]').textContent())?.trim() ?? '';
  const command = (await yubikey.locator('[data-yubikey-command]').textContent())?.trim() ?? '';
  expect(code).toMatch(/^[A-Z0-9-]{4,}$/);
  expect(command).toContain(code);
  await expect(yubikey.getByRole('button', { name: 'New pairing code' })).toBeVisible();
  return { code, command };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited(child);
  clearTimeout(timer);
}

test('pairing shows a code and the command to run; the status starts not connected', async ({ page }) => {
  const { command } = await pairFromPage(page);
  expect(command).toMatch(/yubikey-helper/);
  await expect(panel(page).locator('[data-yubikey-status]')).toHaveAttribute(
    'data-yubikey-status',
    'not-connected',
  );
  await expect(panel(page).locator('[data-yubikey-token]')).toHaveCount(0);
});

test('a helper pairs with the code: the page shows it connected with its token, then gone', async ({
  page,
}, testInfo) => {
  test.skip(!requireBinariesForSuite(['softhsm2-util']), 'softhsm2-util is missing');
  const { code } = await pairFromPage(page);
  const status = panel(page).locator('[data-yubikey-status]');
  await expect(status).toHaveAttribute('data-yubikey-status', 'not-connected');

  const token = await createSoftToken({ label: TOKEN_LABEL });
  let helper: ChildProcess | undefined;
  let output = '';
  try {
    helper = spawn(
      path.join(PROJECT_ROOT, 'bin', 'yubikey-helper'),
      ['--server', new URL(page.url()).origin, '--code', code, '--module', token.module],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...token.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    helper.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    helper.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

    await expect(status, 'the helper did not connect; see the attached helper output').toHaveAttribute(
      'data-yubikey-status',
      'connected',
      { timeout: 60_000 },
    );
    await expect(panel(page).locator('[data-yubikey-token]')).toHaveText(TOKEN_LABEL);
    // The code did its job: it is no longer shown, and nothing offers to pair again.
    await expect(panel(page).locator('[data-yubikey-code]')).toHaveCount(0);
    await expect(panel(page).getByRole('button', { name: /Pair a helper|New pairing code/ })).toHaveCount(0);

    await stop(helper);
    await expect(status).toHaveAttribute('data-yubikey-status', 'not-connected', { timeout: 30_000 });
    await expect(panel(page).getByRole('button', { name: 'Pair a helper' })).toBeVisible();
  } finally {
    if (helper) await stop(helper);
    await token.cleanup();
    await testInfo.attach('yubikey-helper output', { body: output, contentType: 'text/plain' });
  }
});

test('without WebUSB (as in Firefox and Safari) Detect says so, and points to the helper', async ({
  page,
}) => {
  await page.addInitScript('delete Navigator.prototype.usb;');
  await page.goto(LAB_PATH);
  const yubikey = panel(page);
  await yubikey.getByRole('button', { name: 'Detect my YubiKey' }).click();
  const result = yubikey.locator('[data-yubikey-usb]');
  await expect(result).toHaveAttribute('data-yubikey-usb', 'unsupported');
  await expect(result).toContainText('This browser cannot see USB devices');
  await expect(result).toContainText('Firefox and Safari do not have WebUSB');
});

test('a cancelled chooser is no failure: Detect says no YubiKey was chosen', async ({ page }) => {
  await page.addInitScript(`
    if (navigator.usb) {
      navigator.usb.requestDevice = async () => {
        throw new DOMException('No device selected.', 'NotFoundError');
      };
    }
  `);
  await page.goto(LAB_PATH);
  const yubikey = panel(page);
  await yubikey.getByRole('button', { name: 'Detect my YubiKey' }).click();
  const result = yubikey.locator('[data-yubikey-usb]');
  await expect(result).toHaveAttribute('data-yubikey-usb', 'none');
  await expect(result).toContainText('No YubiKey was chosen');
  await expect(result.locator('.notice-problem')).toHaveCount(0);
});

test('Detect shows the YubiKey the browser returns as lsusb names it', async ({ page }) => {
  await page.addInitScript(`
    if (navigator.usb) {
      const key = {
        vendorId: 0x1050,
        productId: 0x0407,
        manufacturerName: 'Yubico',
        productName: 'YubiKey OTP+FIDO+CCID',
        serialNumber: '23456789',
        open: () => Promise.reject(new Error('the page must not open the device')),
        claimInterface: () => Promise.reject(new Error('the page must not claim the device')),
      };
      navigator.usb.requestDevice = async (options) => {
        const filters = (options && options.filters) || [];
        if (!filters.some((filter) => filter.vendorId === 0x1050)) {
          throw new DOMException('No device selected.', 'NotFoundError');
        }
        return key;
      };
    }
  `);
  // Nothing the panel does is refused by the page's Content-Security-Policy, nor throws.
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(LAB_PATH);
  const yubikey = panel(page);
  await yubikey.getByRole('button', { name: 'Detect my YubiKey' }).click();
  const result = yubikey.locator('[data-yubikey-usb]');
  await expect(result).toHaveAttribute('data-yubikey-usb', 'found');
  await expect(result.locator('[data-yubikey-lsusb]')).toHaveText(
    'ID 1050:0407 Yubico.com Yubikey 4/5 OTP+U2F+CCID',
  );
  await expect(result).toContainText('Yubikey 4/5 OTP+U2F+CCID');
  await expect(result).toContainText('can hold the root key');
  expect(errors).toEqual([]);
});

test('the panel fits a narrow screen', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await pairFromPage(page);
  const yubikey = panel(page);
  await yubikey.scrollIntoViewIfNeeded();
  const box = await yubikey.boundingBox();
  expect(box).not.toBeNull();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(390);
  for (const hook of ['[data-yubikey-code]', '[data-yubikey-command]']) {
    const part = await yubikey.locator(hook).boundingBox();
    expect(part, hook).not.toBeNull();
    expect(part!.x + part!.width, hook).toBeLessThanOrEqual(390);
  }
  // Nothing in the panel reaches past the screen's edge (the command wraps rather than scrolls).
  const overflowing = await page.evaluate(`[...document.querySelectorAll('[data-yubikey-panel] *')]
    .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((element) => element.outerHTML.slice(0, 80))`);
  expect(overflowing).toEqual([]);
});
