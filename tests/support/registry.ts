/**
 * Starts Debian's docker-registry (distribution v2) on 127.0.0.1 with filesystem storage in a temp
 * dir and TLS from a test CA. The docker CLI skips certificate checks for loopback registries, but
 * other clients (Node, curl, the lab's own code) verify, hence TLS with a CA they can trust.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { requireBinary } from './binaries.js';
import { httpsGet } from './https.js';
import { baseEnv, makeTempDir, removeTempDir, spawnDaemon, tail, waitFor } from './process.js';
import type { TestCa } from './tls.js';
import { makeTestCa } from './tls.js';

export interface RegistryOptions {
  ca?: TestCa;
  startupTimeoutMs?: number;
  maxLifetimeMs?: number;
}

export interface Registry {
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT`, the registry part of image names such as `127.0.0.1:PORT/test/repo`. */
  host: string;
  port: number;
  caCertPath: string;
  caPem: string;
  configPath: string;
  stop(): Promise<void>;
  logs(): string;
}

/** The registry configuration (JSON is valid YAML, which the registry reads). */
export function registryConfig(storageDir: string, ca: Pick<TestCa, 'certPath' | 'keyPath'>) {
  return {
    version: '0.1',
    log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: storageDir },
      delete: { enabled: true },
      // No background upload purging during a short test run.
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      // Port 0: the registry picks a free port and logs it, so there is no race to lose.
      addr: '127.0.0.1:0',
      secret: randomBytes(16).toString('hex'),
      tls: { certificate: ca.certPath, key: ca.keyPath },
    },
  };
}

// distribution logs: level=info msg="listening on 127.0.0.1:34059, tls"
const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const binary = requireBinary('docker-registry');
  const dir = await makeTempDir('registry');
  try {
    const ca = options.ca ?? (await makeTestCa(dir));
    const storageDir = path.join(dir, 'storage');
    await mkdir(storageDir);
    const configPath = path.join(dir, 'config.yml');
    await writeFile(configPath, JSON.stringify(registryConfig(storageDir, ca), null, 2));

    const daemon = await spawnDaemon(binary, ['serve', configPath], {
      env: baseEnv(dir),
      cwd: dir,
      maxLifetimeMs: options.maxLifetimeMs ?? 10 * 60_000,
    });
    const timeoutMs = options.startupTimeoutMs ?? 15_000;
    const abort = () => (daemon.hasExited() ? 'docker-registry exited' : undefined);
    let port: number;
    try {
      port = await waitFor(
        'docker-registry to report its port',
        async () => {
          const match = LISTENING.exec(daemon.logs());
          return match?.[1] === undefined ? undefined : Number(match[1]);
        },
        { timeoutMs, abort },
      );
      await waitFor(
        `GET https://127.0.0.1:${port}/v2/ to answer 200`,
        async () => {
          const response = await httpsGet(`https://127.0.0.1:${port}/v2/`, {
            caPem: ca.caPem,
            timeoutMs: 1_000,
          });
          return response.status === 200 ? true : undefined;
        },
        { timeoutMs, abort },
      );
    } catch (error) {
      await daemon.stop();
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\ndocker-registry log:\n${tail(daemon.logs())}`,
        { cause: error },
      );
    }

    return {
      url: `https://127.0.0.1:${port}`,
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
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}
