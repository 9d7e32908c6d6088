/**
 * `npm start`: TrustLab in one process. Builds what is missing first (the
 * client bundles the sandbox runs, the web app's production build when it
 * is missing or older than its sources), then starts the platform (hub,
 * terminal server, lab engine, web app) and prints where everything is.
 * SIGINT/SIGTERM stop it cleanly: terminal sessions destroyed, hub closed.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { bundle, ENTRIES } from '../client/build.js';
import { createPlatform, PROJECT_ROOT, readSettings, type Platform } from '../platform/index.js';
import { buildNext, nextBuildState, nextWebApp } from '../platform/next-app.js';

const APP_DIR = path.join(PROJECT_ROOT, 'app');

/** A client bundle is stale when missing or older than a file it was built from (its `.inputs` list). */
function clientBundleStale(name: string): boolean {
  const dir = path.join(PROJECT_ROOT, 'dist', 'client');
  const inputs = path.join(dir, `${name}.inputs`);
  if (!existsSync(path.join(dir, `${name}.cjs`)) || !existsSync(inputs)) return true;
  const builtAt = statSync(inputs).mtimeMs;
  for (const [, file] of readFileSync(inputs, 'utf8').matchAll(/'([^']+)'/g)) {
    const source = path.join(PROJECT_ROOT, file!);
    if (!existsSync(source) || statSync(source).mtimeMs > builtAt) return true;
  }
  return false;
}

async function prepareClient(): Promise<void> {
  for (const name of Object.keys(ENTRIES)) {
    if (!clientBundleStale(name)) continue;
    console.log(`Building the lab's ${name} command (dist/client/${name}.cjs)...`);
    try {
      await bundle(name);
    } catch (error) {
      // The local sandbox falls back to running the sources (bin/docker); bwrap will say what it lacks.
      console.warn(`  could not build it: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

async function prepareWebApp(): Promise<void> {
  const state = nextBuildState(APP_DIR, [path.join(PROJECT_ROOT, 'platform', 'api.ts')]);
  if (!state.needed) return;
  console.log(`Building the web app (next build in app/): ${state.reason}...`);
  await buildNext(APP_DIR, PROJECT_ROOT);
}

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
