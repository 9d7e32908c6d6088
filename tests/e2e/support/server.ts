/**
 * The real TrustLab server for the end-to-end tests: `node --import tsx
 * bin/start.ts`, as `npm start` runs it, with its own data directory and
 * free ports, so a test run never touches ./data or a server already
 * running. The sandbox is bwrap when this runs as root with bubblewrap
 * installed (as on CI), the local driver otherwise.
 *
 * The instructor's password is INSTRUCTOR_PASSWORD, so tests can sign in.
 * A test may start a server of its own on a data directory it keeps
 * (`startServer(log, { dataDir })`), stop it and start it again there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasBinary } from '../../support/binaries.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** The instructor password every server started here has. */
export const INSTRUCTOR_PASSWORD = 'e2e instructor passphrase';

export interface ServerOptions {
  /**
   * A data directory the caller owns: used as is, and left in place on
   * stop (the caller removes it), so another server can start on it.
   */
  readonly dataDir?: string;
}

export interface RunningServer {
  readonly url: string;
  readonly dataDir: string;
  readonly sandbox: 'bwrap' | 'local';
  readonly logFile: string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the server binds it a moment later). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

export async function startServer(logFile: string, options: ServerOptions = {}): Promise<RunningServer> {
  const scratch = mkdtempSync(path.join(tmpdir(), 'trustlab-e2e-'));
  // Sandboxed shells run as other users and must traverse it to their sockets (search, not list).
  chmodSync(scratch, 0o711);
  const dataDir = options.dataDir ?? path.join(scratch, 'data');
  const [port, hubPort] = [await freePort(), await freePort()];
  const sandbox = process.getuid?.() === 0 && hasBinary('bwrap') ? 'bwrap' : 'local';
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, ['--import', 'tsx', 'bin/start.ts'], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      TRUSTLAB_HUB_PORT: String(hubPort),
      TRUSTLAB_DATA_DIR: dataDir,
      TRUSTLAB_SANDBOX: sandbox,
      // bwrap's mounts and sockets live here rather than under /run, shared with other servers.
      TRUSTLAB_RUNTIME_DIR: path.join(scratch, 'run'),
      TRUSTLAB_MODE: 'self-paced',
      TRUSTLAB_INSTRUCTOR_PASSWORD: INSTRUCTOR_PASSWORD,
      NEXT_TELEMETRY_DISABLED: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  const url = `http://localhost:${port}`;

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited(child);
      clearTimeout(timer);
    }
    log.end();
    try {
      rmSync(scratch, { recursive: true, force: true });
    } catch (error) {
      console.warn(`[e2e] could not remove ${scratch}: ${(error as Error).message}`);
    }
  };

  // Up once the health route says the web app, the terminal server and the hub all are.
  const deadline = Date.now() + 240_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`the server exited with ${child.exitCode} before it was up; see ${logFile}`);
    }
    try {
      const response = await fetch(`${url}/api/health`);
      if (response.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server was not healthy within 4 minutes; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return { url, dataDir, sandbox, logFile, stop };
}
