/**
 * Once per `playwright test`: build the web app if it needs it, start the
 * real server, and hand its address to the tests (TRUSTLAB_E2E_URL, which
 * the workers inherit). The returned function stops it again.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromiumAvailable } from './support/chromium.js';
import { prepareWebApp } from '../../bin/build.js';
import { PROJECT_ROOT, startServer } from './support/server.js';

export default async function globalSetup(): Promise<(() => Promise<void>) | undefined> {
  // Nothing to serve when the tests will skip (or, on CI, when the run must fail).
  if (!chromiumAvailable()) return undefined;
  await prepareWebApp();
  const logDir = path.join(PROJECT_ROOT, 'test-results');
  mkdirSync(logDir, { recursive: true });
  const server = await startServer(path.join(logDir, 'e2e-server.log'));
  console.log(`[e2e] TrustLab at ${server.url} (sandbox: ${server.sandbox}); server log: ${server.logFile}`);
  process.env.TRUSTLAB_E2E_URL = server.url;
  return () => server.stop();
}
