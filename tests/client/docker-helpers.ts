/**
 * Running the lab's `bin/docker` (the real entry point) as a child process
 * against an in-process hub: with pipes, or on a pseudo-terminal (node-pty)
 * answering prompts as a learner would. Also, for the tests against the real
 * programs: docker-registry with a login (htpasswd), and readers of the
 * tables `notary list` and `notary key list` print.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pty from 'node-pty';
import {
  baseEnv,
  httpsGet,
  makeTempDir,
  registryConfig,
  removeTempDir,
  requireBinary,
  spawnDaemon,
  tail,
  waitFor,
  type TestCa,
} from '../support/index.js';

export const DOCKER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/docker');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerHome {
  home: string;
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

/** A fresh home for one learner: config, trust dir and image store inside it. */
export async function dockerHome(hubUrl: string, ca: string): Promise<DockerHome> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'trustlab-docker-home-'));
  const caFile = path.join(home, 'lab-ca.crt');
  await writeFile(caFile, ca);
  return {
    home,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      TRUSTLAB_HUB: hubUrl,
      TRUSTLAB_HUB_CA: caFile,
    },
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

export function runDocker(args: readonly string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(DOCKER, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

/**
 * Run on a pseudo-terminal; each answer is typed once its prompt has appeared
 * (after the previous prompt). Returns everything shown and the exit code.
 */
export function runDockerPty(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  answers: ReadonlyArray<readonly [prompt: string, answer: string]>,
): Promise<{ code: number; output: string; answered: number }> {
  return new Promise((resolve) => {
    const term = pty.spawn(DOCKER, [...args], {
      name: 'xterm',
      cols: 200,
      rows: 60,
      env: env as Record<string, string>,
    });
    let output = '';
    let next = 0;
    let from = 0;
    term.onData((data) => {
      output += data;
      while (next < answers.length) {
        const [prompt, answer] = answers[next]!;
        const at = output.indexOf(prompt, from);
        if (at < 0) break;
        from = at + prompt.length;
        next++;
        term.write(`${answer}\r`);
      }
    });
    term.onExit(({ exitCode }) => resolve({ code: exitCode, output, answered: next }));
  });
}

/**
 * `alice:alice-password` for an htpasswd file. docker-registry accepts only bcrypt entries; this
 * one was made once with a bcrypt implementation at the lowest cost (4), so the test does not need
 * one at run time. docker-registry checks it with Go's x/crypto/bcrypt, which takes `$2b$`.
 */
export const ALICE_HTPASSWD = 'alice:$2b$04$3btLYfGKyWwFPjysbFhyPO8gFKy6auMcswFdCokF5j5nA1XNn1fF6';

export interface LoginRegistry {
  /** `https://127.0.0.1:PORT` */
  url: string;
  /** `127.0.0.1:PORT` */
  host: string;
  caPem: string;
  logs(): string;
  stop(): Promise<void>;
}

// distribution logs: level=info msg="listening on 127.0.0.1:34059, tls"
const LISTENING = /listening on 127\.0\.0\.1:(\d+)/;

/**
 * Debian's docker-registry with htpasswd (HTTP Basic) auth, the scheme the registry offers on its
 * own: the harness configuration (tests/support/registry.ts) plus an `auth.htpasswd` section. Ready
 * once `GET /v2/` answers 401 with a Basic challenge.
 */
export async function startRegistryWithLogin(options: {
  ca: TestCa;
  htpasswd: string;
}): Promise<LoginRegistry> {
  const binary = requireBinary('docker-registry');
  const dir = await makeTempDir('registry-login');
  try {
    const storageDir = path.join(dir, 'storage');
    await mkdir(storageDir);
    const htpasswdPath = path.join(dir, 'htpasswd');
    await writeFile(htpasswdPath, `${options.htpasswd}\n`, { mode: 0o600 });
    const configPath = path.join(dir, 'config.yml');
    const config = {
      ...registryConfig(storageDir, options.ca),
      auth: { htpasswd: { realm: 'trustlab-test-registry', path: htpasswdPath } },
    };
    await writeFile(configPath, JSON.stringify(config, null, 2));
    const daemon = await spawnDaemon(binary, ['serve', configPath], {
      env: baseEnv(dir),
      cwd: dir,
      maxLifetimeMs: 10 * 60_000,
    });
    const abort = () => (daemon.hasExited() ? 'docker-registry exited' : undefined);
    let port: number;
    try {
      port = await waitFor(
        'docker-registry to report its port',
        async () => {
          const match = LISTENING.exec(daemon.logs());
          return match?.[1] === undefined ? undefined : Number(match[1]);
        },
        { timeoutMs: 15_000, abort },
      );
      await waitFor(
        `GET https://127.0.0.1:${port}/v2/ to ask for Basic auth`,
        async () => {
          const response = await httpsGet(`https://127.0.0.1:${port}/v2/`, {
            caPem: options.ca.caPem,
            timeoutMs: 1_000,
          });
          const challenge = String(response.headers['www-authenticate'] ?? '');
          return response.status === 401 && challenge.startsWith('Basic ') ? true : undefined;
        },
        { timeoutMs: 15_000, abort },
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
      caPem: options.ca.caPem,
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

/** Rows of `notary list <gun>`: NAME, DIGEST (hex sha256), SIZE (BYTES), ROLE. */
export function parseNotaryList(
  stdout: string,
): Array<{ name: string; digest: string; size: number; role: string }> {
  return stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 4 && /^[0-9a-f]{64}$/.test(cols[1]!))
    .map(([name, digest, size, role]) => ({ name: name!, digest: digest!, size: Number(size), role: role! }));
}

/** Rows of `notary key list`: ROLE, GUN (empty for root and delegation keys), KEY ID; sorted by ID. */
export function parseNotaryKeyList(stdout: string): Array<{ role: string; gun?: string; id: string }> {
  const out: Array<{ role: string; gun?: string; id: string }> = [];
  for (const line of stdout.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const at = cols.findIndex((c) => /^[0-9a-f]{64}$/.test(c));
    if (at < 1) continue;
    out.push(at === 2 ? { role: cols[0]!, gun: cols[1]!, id: cols[at]! } : { role: cols[0]!, id: cols[at]! });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}
