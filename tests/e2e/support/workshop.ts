/**
 * The Content Trust workshop's commands, typed into the lab page's terminal
 * the way the lab text tells a newcomer to (content/content-trust/lab.md).
 * Each step waits for what docker prints when it is done, and returns that
 * output so the test can check it said the right thing.
 */
import type { Page } from '@playwright/test';
import { LabTerminal } from './lab-terminal.js';

export const LAB_PATH = '/labs/content-trust';

export interface HubLogin {
  username: string;
  password: string;
}

/** The login the page shows (the first element of each contract hook holds it). */
export async function shownLogin(page: Page): Promise<HubLogin> {
  const read = async (name: 'username' | 'password') => {
    const text = (await page.locator(`[data-credential="${name}"]`).first().textContent())?.trim() ?? '';
    if (text === '') throw new Error(`the page shows no ${name} in [data-credential="${name}"]`);
    return text;
  };
  return { username: await read('username'), password: await read('password') };
}

export class Workshop {
  readonly terminal: LabTerminal;

  constructor(
    readonly page: Page,
    readonly login: HubLogin,
  ) {
    this.terminal = new LabTerminal(page);
  }

  get repository(): string {
    return `${this.login.username}/dctrust`;
  }

  /** `docker login`, answering its two questions with the login the page shows. */
  async dockerLogin(): Promise<string> {
    const { terminal } = this;
    await terminal.start('docker login');
    await terminal.answer(/Username: ?$/, this.login.username);
    await terminal.answer(/Password: ?$/, this.login.password);
    return terminal.finish();
  }

  pullBusybox(): Promise<string> {
    return this.terminal.run('docker pull busybox');
  }

  tag(tag: 'latest' | 'signed'): Promise<string> {
    return this.terminal.run(`docker tag busybox ${this.repository}:${tag}`);
  }

  pushUnsigned(): Promise<string> {
    return this.terminal.run(`docker push ${this.repository}:latest`);
  }

  enableTrust(): Promise<string> {
    return this.terminal.run('export DOCKER_CONTENT_TRUST=1');
  }

  pull(tag: 'latest' | 'signed', options: { disableTrust?: boolean } = {}): Promise<string> {
    const flag = options.disableTrust ? '--disable-content-trust ' : '';
    return this.terminal.run(`docker pull ${flag}${this.repository}:${tag}`);
  }

  /**
   * The first signed push (content trust on): docker asks for a new root key
   * passphrase and a new repository key passphrase, each twice.
   */
  async pushSigned(
    passphrases: { root: string; repository: string },
    tag: 'latest' | 'signed' = 'signed',
  ): Promise<string> {
    const { terminal } = this;
    await terminal.start(`docker push ${this.repository}:${tag}`);
    await terminal.answer(/Enter passphrase for new root key with ID \w+: ?$/i, passphrases.root);
    await terminal.answer(/Repeat passphrase for new root key with ID \w+: ?$/i, passphrases.root);
    await terminal.answer(
      /Enter passphrase for new repository key with ID \w+.*: ?$/i,
      passphrases.repository,
    );
    await terminal.answer(
      /Repeat passphrase for new repository key with ID \w+.*: ?$/i,
      passphrases.repository,
    );
    return terminal.finish();
  }
}
