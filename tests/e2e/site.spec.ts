/**
 * The pages around the lab: the catalog, and the hub browser with the
 * official images the hub starts with (signed, with their trust data).
 */
import { expect, skipWithoutChromium, test } from './fixtures.js';

skipWithoutChromium();

test('the catalog lists the Content Trust lab and leads to it', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Labs' })).toBeVisible();
  await page.getByRole('link', { name: 'Docker Content Trust' }).click();
  await expect(page).toHaveURL(/\/labs\/content-trust$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Docker Content Trust' })).toBeVisible();
  await expect(page.locator('[data-task-id]')).toHaveCount(5);
});

test('the hub shows the official images as signed, and their trust data', async ({ page }) => {
  await page.goto('/hub');
  const busybox = page.getByRole('region', { name: 'library/busybox' });
  const latest = busybox.locator('tr[data-tag="latest"]');
  await expect(latest).toHaveAttribute('data-signed', 'true');
  await expect(latest).toContainText('Signed');
  await expect(latest).toContainText('targets');
  await expect(latest).toContainText(/sha256:[0-9a-f]{12}…/);

  await busybox.getByRole('link', { name: 'library/busybox' }).click();
  await expect(page).toHaveURL(/\/hub\/library\/busybox$/);
  await expect(page.getByText('docker.io/library/busybox', { exact: true })).toBeVisible();
  for (const role of ['root', 'targets', 'snapshot', 'timestamp']) {
    await expect(page.locator(`tr[data-role="${role}"]`)).toContainText(/1 of 1/);
  }
});
