/**
 * Runs the real docker CLI with no daemon: `DOCKER_CONFIG` is the caller's dir (its `trust/`
 * subdirectory is docker's notary trust dir) and `DOCKER_HOST` names a unix socket that does not
 * exist. Content-trust work (trust inspect, the notary lookup of a trusted pull) happens in the
 * CLI before any daemon call, so it can be tested here.
 *
 * How docker finds our notary-server (established by experiment with docker 28.2.2 and notary-server
 * 0.7.0 on loopback):
 * - The trust server is `DOCKER_CONTENT_TRUST_SERVER` if set (it must be https: with http docker
 *   says `valid https URL required for trust server, got http://…`), else `https://<registry
 *   host:port>` taken from the image name. The GUN is always the full name, e.g.
 *   `127.0.0.1:PORT/harness/repo`.
 * - TLS: docker reads CA files (`*.crt`) from `$DOCKER_CONFIG/tls/<trust server host:port>/`
 *   (the trust server's host, not the registry's). When the registry in the image name is a
 *   loopback address (127.0.0.1:PORT, localhost:PORT) docker treats it as an insecure registry and
 *   skips certificate verification of the trust server, so no CA needs installing. For any other
 *   registry name (e.g. `example.com/harness/repo` with DOCKER_CONTENT_TRUST_SERVER) verification
 *   is on and the CA must be installed with installDockerTrustCa(); without it the debug log shows
 *   `x509: certificate signed by unknown authority` and the command says
 *   `no signatures or cannot access example.com/harness/repo`.
 * - So for `127.0.0.1:REGPORT/test/repo` set `DOCKER_CONTENT_TRUST_SERVER=https://127.0.0.1:NOTARYPORT`
 *   (dockerTrustEnv()). Without it docker asks the registry itself, which has no trust data:
 *   `Error: remote trust data does not exist for 127.0.0.1:REGPORT/x: 127.0.0.1:REGPORT does not
 *   have trust data for 127.0.0.1:REGPORT/x`. A GUN named after the notary-server's own host:port
 *   also works with no variable at all.
 * - Neither `docker trust inspect` nor the trust step of `docker pull` contacts the registry; only
 *   the notary server. The pull prints `Pull (1 of 1): <name>:<tag>@sha256:<hex>` on stdout, then
 *   fails with `Cannot connect to the Docker daemon at unix://… Is the docker daemon running?`.
 * - docker caches trust metadata in `$DOCKER_CONFIG/trust`; with the server down it falls back to the
 *   cached timestamp (warning only), so give each scenario a fresh DOCKER_CONFIG.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

import { requireBinary } from './binaries.js';
import { TEST_PASSPHRASE } from './notary-cli.js';
import type { RunResult } from './process.js';
import { baseEnv, makeTempDir, removeTempDir, runCommand } from './process.js';

export interface DockerRunOptions {
  /** Becomes DOCKER_CONFIG; create one per scenario (see makeTempDir). */
  dockerConfig: string;
  /** Added on top of (and overriding) the defaults, e.g. dockerTrustEnv(server.url). */
  env?: NodeJS.ProcessEnv;
  stdin?: string | Buffer;
  cwd?: string;
  /** Default 30 s; a command that runs longer is killed and the call throws CommandTimeoutError. */
  timeoutMs?: number;
}

/** Env for content trust against a harness notary-server (`serverUrl` = `https://127.0.0.1:PORT`). */
export function dockerTrustEnv(serverUrl: string): NodeJS.ProcessEnv {
  return { DOCKER_CONTENT_TRUST: '1', DOCKER_CONTENT_TRUST_SERVER: serverUrl };
}

/**
 * Makes docker trust our test CA for `serverUrl` by copying it to
 * `$DOCKER_CONFIG/tls/<host:port>/ca.crt`. Needed only for non-loopback image names.
 */
export async function installDockerTrustCa(dockerConfig: string, serverUrl: string, caCertPath: string) {
  const dir = path.join(dockerConfig, 'tls', new URL(serverUrl).host);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await copyFile(caCertPath, path.join(dir, 'ca.crt'));
}

/** Runs `docker ...args`; a non-zero exit is returned, not thrown. */
export async function runDocker(args: readonly string[], options: DockerRunOptions): Promise<RunResult> {
  const binary = requireBinary('docker');
  const home = await makeTempDir('docker-home');
  try {
    return await runCommand(binary, args, {
      env: {
        ...baseEnv(home),
        DOCKER_CONFIG: options.dockerConfig,
        // A socket path that never exists: any daemon call fails fast instead of reaching a real daemon.
        DOCKER_HOST: `unix://${path.join(home, 'no-daemon.sock')}`,
        DOCKER_CLI_HINTS: 'false',
        // Used only when docker signs (trust sign / signer add / push).
        DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: TEST_PASSPHRASE,
        DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE: TEST_PASSPHRASE,
        ...options.env,
      },
      cwd: options.cwd,
      stdin: options.stdin,
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  } finally {
    await removeTempDir(home);
  }
}
