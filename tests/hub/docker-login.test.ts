/**
 * The real docker CLI against the hub's token auth. `docker login` needs no
 * daemon: when none answers, the CLI (since 26) performs the login itself
 * (`GET /v2/` → 401 challenge → token endpoint with Basic credentials), which
 * is exactly the flow under test. Skipped when no docker CLI is installed.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBinary, requireBinariesForSuite } from '../support/index.js';
import { startHub, type TestHub } from './helpers.js';

// Under CI=true a missing docker CLI fails the suite; elsewhere it is skipped with a note.
const hasDocker = requireBinariesForSuite(['docker']);
const DOCKER = findBinary('docker') ?? 'docker';

function dockerLogin(env: NodeJS.ProcessEnv, host: string, user: string, password: string) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile(
      DOCKER,
      ['login', host, '--username', user, '--password-stdin'],
      // No daemon socket: force the CLI's client-side login rather than a daemon round trip.
      { env: { ...env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
    child.stdin?.end(`${password}\n`);
  });
}

describe.skipIf(!hasDocker)('docker login (real docker CLI, no daemon)', () => {
  let t: TestHub;
  let configDir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    t = await startHub();
    await t.hub.accounts.createAccount('alice', 'alice-password');
    configDir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-docker-config-'));
    const caFile = path.join(configDir, 'lab-ca.crt');
    await writeFile(caFile, t.hub.caCertificate ?? '');
    // Go's TLS stack reads extra roots from SSL_CERT_FILE, so the lab CA is trusted without touching /etc.
    env = { PATH: process.env.PATH, HOME: configDir, DOCKER_CONFIG: configDir, SSL_CERT_FILE: caFile };
  });

  afterAll(async () => {
    await t?.close();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  it('logs in with the right password and stores the credentials', async () => {
    const host = new URL(t.hub.url).host;
    const result = await dockerLogin(env, host, 'alice', 'alice-password');
    expect(result.output).toContain('Login Succeeded');
    expect(result.code).toBe(0);
    const config = JSON.parse(await readFile(path.join(configDir, 'config.json'), 'utf8')) as {
      auths: Record<string, unknown>;
    };
    expect(Object.keys(config.auths)).toContain(host);
    const tokenRequests = t.hub.records.query({ account: 'alice' }).filter((r) => r.path === '/token');
    expect(tokenRequests.some((r) => r.status === 200)).toBe(true);
  });

  it('is refused with a wrong password', async () => {
    const host = new URL(t.hub.url).host;
    const result = await dockerLogin(env, host, 'alice', 'wrong-password');
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('incorrect username or password');
  });
});
