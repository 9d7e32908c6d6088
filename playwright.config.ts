/**
 * End-to-end tests: Chromium (Debian's, at /usr/bin/chromium) against the
 * real server, started once by tests/e2e/global-setup.ts. Specs are
 * tests/e2e/*.spec.ts, so vitest (which runs *.test.ts) leaves them alone.
 *
 * One worker: every test creates a learner with a sandbox of their own,
 * and the machines this runs on have two cores for everything.
 */
import { defineConfig } from '@playwright/test';
import { CHROMIUM_PATH, chromiumAvailable } from './tests/e2e/support/chromium.js';

// On CI a missing Chromium fails the run here; elsewhere the specs skip themselves.
chromiumAvailable();

export default defineConfig({
  testDir: 'tests/e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/e2e',
  globalSetup: './tests/e2e/global-setup.ts',
  workers: 1,
  fullyParallel: false,
  forbidOnly: process.env.CI === 'true',
  retries: 0,
  timeout: 300_000,
  expect: { timeout: 30_000 },
  reporter: [['list']],
  use: {
    browserName: 'chromium',
    launchOptions: { executablePath: CHROMIUM_PATH },
    viewport: { width: 1400, height: 900 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
});
