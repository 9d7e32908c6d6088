/**
 * `npm start`: TrustLab in one process. Builds what is missing first (the
 * client bundles the sandbox runs, the web app's production build when it
 * is missing or older than its sources), then starts the platform (hub,
 * terminal server, lab engine, web app) and prints where everything is.
 * SIGINT/SIGTERM stop it cleanly: terminal sessions destroyed, hub closed.
 */
import { createPlatform, readSettings, type Platform } from '../platform/index.js';
import { nextWebApp } from '../platform/next-app.js';
import { APP_DIR, prepareClient, prepareWebApp } from './build.js';

async function main(): Promise<Platform> {
  const settings = readSettings();
  await prepareClient();
  await prepareWebApp();
  const platform = await createPlatform(settings, { web: nextWebApp(APP_DIR) });
  const { urls, driver } = platform;
  console.log('TrustLab is running');
  console.log(`  web app:  ${urls.web}`);
  console.log(`  hub:      ${urls.hub}  (CA certificate: ${urls.hubCa ?? 'none'})`);
  console.log(`  data:     ${platform.dataDir}`);
  console.log(
    `  sandbox:  ${driver.name}${driver.isolated ? ' (isolated)' : ' (no isolation: for one learner on their own machine)'}, ${platform.mode} mode`,
  );
  console.log('Stop with Ctrl-C.');
  return platform;
}

let stopping = false;
main().then(
  (platform) => {
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping TrustLab...`);
      platform.close().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error('trustlab: shutdown failed:', error);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`trustlab: ${message}`);
    const suggestion = (error as { suggestion?: unknown }).suggestion;
    if (typeof suggestion === 'string') console.error(`  ${suggestion}`);
    if (process.env.TRUSTLAB_DEBUG) console.error(error);
    process.exit(1);
  },
);
