/**
 * What the YubiKey tests share: a learner on a test platform, a pairing
 * code from the page's API, and a real helper process (bin/yubikey-helper)
 * on a SoftHSM2 token, whose output is kept and whose stdin answers its PIN
 * prompts.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { YubikeyPairing } from '../../platform/api.js';
import { LAB, waitUntil, type Screen, type TestPlatform } from '../platform/support.js';
import type { SoftToken } from '../support/softhsm.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface TestLearner {
  cookie: string;
  id: string;
  username: string;
  password: string;
}

/** A learner as a first visit to the lab page makes one. */
export async function newLearner(test: TestPlatform): Promise<TestLearner> {
  const response = await fetch(`${test.origin}/labs/${LAB}`);
  await response.arrayBuffer();
  const cookie = response.headers.getSetCookie()[0]!.split(';')[0]!;
  const { learner } = await test.platform.api.learner(cookie.split('=')[1]);
  return { cookie, ...learner };
}

/** POST /api/session/yubikey as the lab page does. */
export async function pairingCode(test: TestPlatform, learner: TestLearner): Promise<YubikeyPairing> {
  const response = await fetch(`${test.origin}/api/session/yubikey`, {
    method: 'POST',
    headers: { Cookie: learner.cookie, Origin: test.origin },
  });
  if (response.status !== 200)
    throw new Error(`pairing refused: ${response.status} ${await response.text()}`);
  return (await response.json()) as YubikeyPairing;
}

export class Helper {
  output = '';
  exit: Promise<number | null>;
  readonly process: ChildProcessWithoutNullStreams;

  constructor(args: string[], env: Record<string, string>) {
    this.process = spawn(path.join(ROOT, 'bin/yubikey-helper'), args, {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.process.stdout.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.process.stderr.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exit = new Promise((resolve) => this.process.on('exit', (code) => resolve(code)));
  }

  /** bin/yubikey-helper --server <origin> --code <code> --module <token's module>. */
  static start(test: TestPlatform, code: string, token: SoftToken): Helper {
    return new Helper(['--server', test.origin, '--code', code, '--module', token.module], token.env);
  }

  async waitFor(needle: string, timeout = 30_000): Promise<void> {
    await waitUntil(
      () => this.output.includes(needle),
      timeout,
      () => `the helper never printed ${JSON.stringify(needle)}; it printed:\n${this.output}`,
    );
  }

  /** Text the helper printed after `mark` (a length of `output` taken earlier). */
  since(mark: number): string {
    return this.output.slice(mark);
  }

  answer(line: string): void {
    this.process.stdin.write(`${line}\n`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    await this.exit;
  }
}

/** Whether the hub holds trust data for `<user>/<name>` (as the hub browser reads it). */
export async function hubHasTrustData(test: TestPlatform, repository: string): Promise<boolean> {
  return (await test.platform.api.hubTrust(repository)) !== undefined;
}

/**
 * Answers notary's two prompts for the passphrase of a new key (`Enter…`, then `Repeat…`), as
 * docker and notary ask them for a root or a repository key; `id` narrows them to one key.
 */
export async function chooseNewPassphrase(
  screen: Screen,
  key: 'root' | 'repository',
  passphrase: string,
  id = '',
): Promise<void> {
  await screen.waitFor(`Enter passphrase for new ${key} key with ID ${id.slice(0, 7)}`);
  screen.client.input(`${passphrase}\r`);
  await screen.waitFor(`Repeat passphrase for new ${key} key with ID ${id.slice(0, 7)}`);
  screen.client.input(`${passphrase}\r`);
}
