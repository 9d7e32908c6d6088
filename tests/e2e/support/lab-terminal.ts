/**
 * Driving the lab page's terminal as a learner does: keystrokes into
 * xterm.js, and reading what the screen shows. The screen is read from
 * xterm's rows (the visible part only), so each command starts on a cleared
 * screen (Ctrl+L, bash's own clear-screen key) and what it prints stays in
 * view.
 */
import type { Locator, Page } from '@playwright/test';

/** A bash prompt line: `user@host:dir$` with or without a command after it. */
const PROMPT_LINE = /^[\w.-]+@[\w.-]+:\S*[$#](?: |$)/;
const BARE_PROMPT = /^[\w.-]+@[\w.-]+:\S*[$#]$/;

export interface WaitOptions {
  timeoutMs?: number;
}

export class LabTerminal {
  readonly container: Locator;

  constructor(readonly page: Page) {
    this.container = page.locator('[data-terminal]');
  }

  /** The visible screen, one string per row, without trailing blanks. */
  async lines(): Promise<string[]> {
    const text = await this.container.locator('.xterm-rows').innerText();
    const lines = text
      .replace(/\u00a0/g, ' ')
      .split('\n')
      .map((line) => line.trimEnd());
    while (lines.length > 0 && lines.at(-1) === '') lines.pop();
    return lines;
  }

  async screen(): Promise<string> {
    return (await this.lines()).join('\n');
  }

  /** Polls `condition` on the screen until it holds; fails with the screen in the message. */
  async waitForScreen(
    what: string,
    condition: (lines: string[]) => boolean,
    { timeoutMs = 60_000 }: WaitOptions = {},
  ): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = await this.lines();
      if (condition(lines)) return lines;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms waiting for ${what}; the screen shows:\n${lines.join('\n')}`,
        );
      }
      await this.page.waitForTimeout(200);
    }
  }

  /** The shell is attached and waiting at its prompt. */
  async waitForShell(options?: WaitOptions): Promise<void> {
    // xterm.js draws nothing while it is out of view (stacked below the steps on a narrow screen).
    await this.container.scrollIntoViewIfNeeded();
    await this.page
      .locator('[data-terminal-state="ready"]')
      .waitFor({ timeout: options?.timeoutMs ?? 90_000 });
    await this.waitForScreen('the shell prompt', (lines) => BARE_PROMPT.test(lines.at(-1) ?? ''), options);
  }

  async focus(): Promise<void> {
    await this.container.click();
  }

  /** Keystrokes as typed; no Enter. */
  async type(text: string): Promise<void> {
    await this.page.keyboard.type(text);
  }

  async enter(text = ''): Promise<void> {
    if (text !== '') await this.page.keyboard.type(text);
    await this.page.keyboard.press('Enter');
  }

  /** Clears the screen with bash's Ctrl+L, leaving only the prompt. */
  async clear(): Promise<void> {
    await this.focus();
    await this.page.keyboard.press('Control+l');
    await this.waitForScreen(
      'a cleared screen',
      (lines) => lines.length === 1 && BARE_PROMPT.test(lines[0]!),
    );
  }

  /**
   * Types `command` on a cleared screen and waits until it is over: a new
   * prompt below it. Returns what the command printed.
   */
  async run(command: string, options?: WaitOptions): Promise<string> {
    await this.clear();
    await this.enter(command);
    const lines = await this.waitForScreen(
      `\`${command}\` to finish`,
      (current) =>
        current.filter((line) => PROMPT_LINE.test(line)).length >= 2 &&
        BARE_PROMPT.test(current.at(-1) ?? ''),
      { timeoutMs: options?.timeoutMs ?? 120_000 },
    );
    return lines.slice(1, -1).join('\n');
  }

  /** Types `command` and leaves it running (it will prompt for input). */
  async start(command: string): Promise<void> {
    await this.clear();
    await this.enter(command);
  }

  /**
   * Waits until the screen ends with `prompt` (a question the command asks),
   * then answers it. A long question wraps over the last rows, which are
   * joined back together before matching.
   */
  async answer(prompt: RegExp, reply: string, options?: WaitOptions): Promise<void> {
    await this.waitForScreen(
      `the question ${prompt}`,
      (lines) => [1, 2, 3].some((rows) => prompt.test(lines.slice(-rows).join(''))),
      options,
    );
    await this.enter(reply);
  }

  /** Waits for the prompt after a command started with `start()`; returns the screen. */
  async finish(options?: WaitOptions): Promise<string> {
    const lines = await this.waitForScreen(
      'the command to finish',
      (current) => BARE_PROMPT.test(current.at(-1) ?? '') && current.length > 1,
      { timeoutMs: options?.timeoutMs ?? 120_000 },
    );
    return lines.join('\n');
  }
}

/** Output as one string without line breaks: xterm wraps long lines, which splits what a test looks for. */
export function unwrapped(output: string): string {
  return output.replace(/\n/g, '');
}
