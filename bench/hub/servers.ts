/**
 * The servers the hub benchmark drives, each as its own process on 127.0.0.1 over TLS:
 *
 * - the hub, as a child (`node --import tsx hub/src/main.ts --data-dir <tmp> --port 0`), never in
 *   the benchmark's own event loop, with one account (`bench`) made beforehand so it can push;
 * - the real docker-registry and notary-server, started by the interop harness (tests/support).
 *
 * It measures nothing itself. For fairness it also documents what differs by design and cannot be
 * configured away: the hub requires Docker token auth for registry requests (the benchmark fetches
 * tokens outside the timed sections; verifying them is part of the hub's cost), docker-registry runs
 * without auth; the hub fsyncs blobs and commits SQLite with synchronous=FULL (plus one request
 * record per request), docker-registry's filesystem driver does not fsync and notary-server keeps
 * its metadata in memory (the harness's configuration).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { userAdd } from '../../hub/src/cli/user-add.js';
import type { Daemon } from '../../tests/support/index.js';
import {
  baseEnv,
  makeTempDir,
  removeTempDir,
  spawnDaemon,
  tail,
  waitFor,
} from '../../tests/support/index.js';
import type { LoadClient } from './load.js';

/** The project root (bench/hub/../..): the hub child runs from here so tsx resolves like `npm start`. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const BENCH_ACCOUNT = 'bench';
export const BENCH_PASSWORD = 'bench-password-not-secret';

export interface HubChild {
  url: string;
  caPem: string;
  dataDir: string;
  daemon: Daemon;
  stop(): Promise<void>;
}

export interface HubChildOptions {
  /** Run the child under `--cpu-prof`, writing the profile into this directory when it exits. */
  cpuProfileDir?: string;
  startupTimeoutMs?: number;
}

export async function startHubChild(options: HubChildOptions = {}): Promise<HubChild> {
  const dataDir = await makeTempDir('bench-hub');
  try {
    await userAdd(dataDir, BENCH_ACCOUNT, BENCH_PASSWORD);
    const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
    const daemon = await spawnDaemon(
      process.execPath,
      [...nodeArgs, '--import', 'tsx', 'hub/src/main.ts', '--data-dir', dataDir, '--port', '0'],
      { env: baseEnv(dataDir), cwd: PROJECT_ROOT, maxLifetimeMs: 30 * 60_000 },
    );
    let started: { url: string; caCertificatePath: string };
    try {
      started = await waitFor(
        'the hub to print its URL',
        async () => {
          const line = daemon
            .logs()
            .split('\n')
            .find((l) => l.startsWith('{') && l.includes('"url"'));
          return line === undefined
            ? undefined
            : (JSON.parse(line) as { url: string; caCertificatePath: string });
        },
        {
          timeoutMs: options.startupTimeoutMs ?? 60_000,
          abort: () => (daemon.hasExited() ? 'the hub exited' : undefined),
        },
      );
    } catch (error) {
      await daemon.stop();
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\nhub log:\n${tail(daemon.logs())}`,
        {
          cause: error,
        },
      );
    }
    const caPem = await readFile(started.caCertificatePath, 'utf8');
    return {
      url: started.url,
      caPem,
      dataDir,
      daemon,
      stop: async () => {
        try {
          await daemon.stop();
        } finally {
          await removeTempDir(dataDir);
        }
      },
    };
  } catch (error) {
    await removeTempDir(dataDir);
    throw error;
  }
}

/**
 * A bearer token from the hub's token endpoint for `scope`, signed in as the bench account. Called
 * outside timed sections only; docker does the same (one token per scope, reused until it expires).
 */
export async function fetchHubToken(client: LoadClient, scope: string): Promise<string> {
  const query = new URLSearchParams({ service: 'trustlab-hub', scope });
  const basic = Buffer.from(`${BENCH_ACCOUNT}:${BENCH_PASSWORD}`).toString('base64');
  const response = await client.request({
    method: 'GET',
    path: `/token?${query.toString()}`,
    headers: { Authorization: `Basic ${basic}` },
    expect: [200],
    collect: true,
  });
  const parsed = JSON.parse(response.body!.toString('utf8')) as { token?: string };
  if (typeof parsed.token !== 'string') throw new Error('the hub token endpoint returned no token');
  return parsed.token;
}
