/**
 * Starts the real notary-server on 127.0.0.1 with TLS from a test CA, an in-memory store and the
 * local trust service (server-held timestamp/snapshot keys are ed25519, as on a real deployment
 * with this trust service). No notary-signer is needed in this mode.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import { requireBinary } from './binaries.js';
import { httpsGet } from './https.js';
import type { Daemon } from './process.js';
import { baseEnv, getFreePort, makeTempDir, removeTempDir, spawnDaemon, tail, waitFor } from './process.js';
import type { TestCa } from './tls.js';
import { makeTestCa } from './tls.js';

export interface NotaryServerOptions {
  /** Reuse a CA (e.g. shared with the registry); by default a new one is made for this server. */
  ca?: TestCa;
  /** notary-server log level; `debug` is handy when a test fails. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  startupTimeoutMs?: number;
  /** The server is killed after this long even if stop() is never called. */
  maxLifetimeMs?: number;
}

export interface NotaryServer {
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  port: number;
  caCertPath: string;
  caPem: string;
  /** The config file notary-server was started with (JSON). */
  configPath: string;
  stop(): Promise<void>;
  logs(): string;
}

const PORT_ATTEMPTS = 3;

/** The notary-server configuration the harness uses; exported so the report and tests can show it. */
export function notaryServerConfig(port: number, ca: Pick<TestCa, 'certPath' | 'keyPath'>, logLevel: string) {
  return {
    server: { http_addr: `127.0.0.1:${port}`, tls_cert_file: ca.certPath, tls_key_file: ca.keyPath },
    trust_service: { type: 'local' },
    storage: { backend: 'memory' },
    logging: { level: logLevel },
  };
}

export async function startNotaryServer(options: NotaryServerOptions = {}): Promise<NotaryServer> {
  const binary = requireBinary('notary-server');
  const dir = await makeTempDir('notary-server');
  try {
    const ca = options.ca ?? (await makeTestCa(dir));
    const configPath = path.join(dir, 'server.json');
    const startupTimeoutMs = options.startupTimeoutMs ?? 15_000;

    // notary-server does not report the port it got for ":0", so pick a free one and retry if
    // another process takes it in between.
    for (let attempt = 1; ; attempt++) {
      const port = await getFreePort();
      await writeFile(
        configPath,
        JSON.stringify(notaryServerConfig(port, ca, options.logLevel ?? 'info'), null, 2),
      );
      const daemon = await spawnDaemon(binary, ['-config', configPath], {
        env: baseEnv(dir),
        cwd: dir,
        maxLifetimeMs: options.maxLifetimeMs ?? 10 * 60_000,
      });
      const url = `https://127.0.0.1:${port}`;
      try {
        await waitUntilHealthy(daemon, url, ca.caPem, startupTimeoutMs);
      } catch (error) {
        await daemon.stop();
        if (attempt < PORT_ATTEMPTS && /address already in use/i.test(daemon.logs())) continue;
        throw new Error(
          `${error instanceof Error ? error.message : String(error)}\nnotary-server log:\n${tail(daemon.logs())}`,
          { cause: error },
        );
      }
      return {
        url,
        host: `127.0.0.1:${port}`,
        port,
        caCertPath: ca.caCertPath,
        caPem: ca.caPem,
        configPath,
        logs: () => daemon.logs(),
        stop: async () => {
          try {
            await daemon.stop();
          } finally {
            await removeTempDir(dir);
          }
        },
      };
    }
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

async function waitUntilHealthy(
  daemon: Daemon,
  url: string,
  caPem: string,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    `notary-server health at ${url}/_notary_server/health`,
    async () => {
      const response = await httpsGet(`${url}/_notary_server/health`, { caPem, timeoutMs: 1_000 });
      return response.status === 200 ? true : undefined;
    },
    { timeoutMs, abort: () => (daemon.hasExited() ? 'notary-server exited' : undefined) },
  );
}
