/**
 * `npm run build`: builds what TrustLab serves when it is missing or older
 * than its sources — the client bundles the sandbox runs (dist/client) and
 * the web app's production build (app/.next). `npm start` does the same
 * before it starts; `npm test` runs it first so the suites that serve the
 * real web app never find a stale build.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle, ENTRIES } from '../client/build.js';
import { PROJECT_ROOT } from '../platform/index.js';
import { buildNext, nextBuildState } from '../platform/next-app.js';

export const APP_DIR = path.join(PROJECT_ROOT, 'app');

/** A client bundle is stale when missing or older than a file it was built from (its `.inputs` list). */
export function clientBundleStale(name: string, root = PROJECT_ROOT): boolean {
  const dir = path.join(root, 'dist', 'client');
  const inputs = path.join(dir, `${name}.inputs`);
  if (!existsSync(path.join(dir, `${name}.cjs`)) || !existsSync(inputs)) return true;
  const builtAt = statSync(inputs).mtimeMs;
  // The list's entries are the lines that start with a quoted path (the comment above them
  // has apostrophes of its own).
  for (const [, file] of readFileSync(inputs, 'utf8').matchAll(/^\s*'([^']+)'/gm)) {
    const source = path.join(root, file!);
    if (!existsSync(source) || statSync(source).mtimeMs > builtAt) return true;
  }
  return false;
}

/**
 * Bundles the lab's `docker` and `notary` when stale. With `strict` false a
 * failure is only a warning: the local sandbox can run the sources instead.
 */
export async function prepareClient(strict = false): Promise<void> {
  for (const name of Object.keys(ENTRIES)) {
    if (!clientBundleStale(name)) continue;
    console.log(`Building the lab's ${name} command (dist/client/${name}.cjs)...`);
    try {
      await bundle(name);
    } catch (error) {
      if (strict) throw error;
      console.warn(`  could not build it: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** `next build` of app/ when there is no build or a source is newer than it. */
export async function prepareWebApp(): Promise<void> {
  const state = nextBuildState(APP_DIR, [path.join(PROJECT_ROOT, 'platform', 'api.ts')]);
  if (!state.needed) return;
  console.log(`Building the web app (next build in app/): ${state.reason}...`);
  await buildNext(APP_DIR, PROJECT_ROOT);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await prepareClient(true);
    await prepareWebApp();
    console.log('TrustLab is built.');
  } catch (error) {
    console.error(`trustlab build: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
