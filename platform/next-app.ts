/**
 * The Next.js app (app/) as the platform runs it: a production build,
 * made when missing or older than the sources, then served in this process
 * by Next's request handler. The development server is never used: it
 * compiles on request, serves unminified code and watches files, none of
 * which a lab should pay for.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { PlatformError } from './errors.js';
import type { WebAppFactory } from './web-server.js';

/** Folders of app/ that are not sources. */
const NOT_SOURCES = new Set(['.next', 'node_modules', 'test-results', 'playwright-report', '.turbo']);

export interface BuildState {
  readonly needed: boolean;
  /** Why a build is (or is not) needed, for the start-up message. */
  readonly reason: string;
}

function newestFile(dir: string, skip: ReadonlySet<string>): { file: string; mtimeMs: number } | undefined {
  let newest: { file: string; mtimeMs: number } | undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const full = path.join(dir, entry.name);
    const found = entry.isDirectory()
      ? newestFile(full, NOT_SOURCES)
      : entry.isFile()
        ? { file: full, mtimeMs: statSync(full).mtimeMs }
        : undefined;
    if (found && (!newest || found.mtimeMs > newest.mtimeMs)) newest = found;
  }
  return newest;
}

/**
 * Whether app/ needs `next build`: no build yet, or a source newer than it.
 * Sources are everything under app/ but the build and dependencies, plus
 * what the app bundles from outside it (`extraSources`: platform/api.ts).
 */
export function nextBuildState(appDir: string, extraSources: readonly string[] = []): BuildState {
  if (!existsSync(appDir)) {
    throw new PlatformError('WEB_APP_MISSING', `the web app is missing: ${appDir} does not exist`, {
      suggestion: 'Run npm start from a complete checkout of TrustLab.',
    });
  }
  const buildId = path.join(appDir, '.next', 'BUILD_ID');
  if (!existsSync(buildId)) return { needed: true, reason: 'no production build yet' };
  const builtAt = statSync(buildId).mtimeMs;
  const candidates = [newestFile(appDir, NOT_SOURCES)];
  for (const file of extraSources) {
    if (existsSync(file)) candidates.push({ file, mtimeMs: statSync(file).mtimeMs });
  }
  const newest = candidates.reduce<{ file: string; mtimeMs: number } | undefined>(
    (best, candidate) => (candidate && (!best || candidate.mtimeMs > best.mtimeMs) ? candidate : best),
    undefined,
  );
  if (newest && newest.mtimeMs > builtAt) {
    return {
      needed: true,
      reason: `${path.relative(path.dirname(appDir), newest.file)} changed since the last build`,
    };
  }
  return { needed: false, reason: 'the production build is up to date' };
}

/** Runs `next build` in `appDir` with the project's own Next, output shown as it goes. */
export async function buildNext(appDir: string, projectRoot: string): Promise<void> {
  const bin = path.join(projectRoot, 'node_modules', '.bin', 'next');
  if (!existsSync(bin)) {
    throw new PlatformError(
      'WEB_APP_MISSING',
      'Next.js is not installed (node_modules/.bin/next is missing)',
      {
        suggestion: 'Run npm install first.',
      },
    );
  }
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(bin, ['build'], {
      cwd: appDir,
      stdio: 'inherit',
      // A lab may run offline: no telemetry call home during the build.
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
    });
    child.once('error', reject);
    child.once('exit', (status) => resolve(status));
  });
  if (code !== 0) {
    throw new PlatformError('WEB_APP_MISSING', `next build failed (exit ${code})`, {
      suggestion: 'Fix the errors above, then run npm start again.',
    });
  }
}

/** The part of Next's custom-server API used here (next/dist/server/next.d.ts). */
interface NextServerLike {
  prepare(): Promise<void>;
  getRequestHandler(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  close(): Promise<void>;
}
type CreateNextServer = (options: {
  dev: boolean;
  dir: string;
  hostname: string;
  port: number;
}) => NextServerLike;

/** Next's production server for `appDir`, in this process (the platform is found on globalThis). */
export function nextWebApp(appDir: string): WebAppFactory {
  return async ({ hostname, port }) => {
    process.env.NEXT_TELEMETRY_DISABLED ??= '1';
    // Loaded by name, and typed here: Next's type declarations change Node's globals
    // (`process.env.NODE_ENV` becomes required), which the rest of the project must not see.
    const specifier = 'next';
    const { default: next } = (await import(specifier)) as { default: CreateNextServer };
    const app = next({ dev: false, dir: appDir, hostname, port });
    await app.prepare();
    const handle = app.getRequestHandler();
    return {
      handle: (req, res) => handle(req, res),
      close: () => app.close(),
    };
  };
}
