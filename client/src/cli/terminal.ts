/**
 * Questions and answers on the command's terminal, as docker and notary ask
 * them: prompts go to stdout; a passphrase is read with echo off when stdin
 * is a terminal (golang.org/x/term ReadPassword), and line by line from a
 * pipe otherwise, so scripts can answer with `printf 'pass\npass\n' | …`.
 *
 * One Terminal reads stdin for the whole command, so several prompts in a
 * row each get their own line.
 */
import type { Readable, Writable } from 'node:stream';

export class PromptAborted extends Error {
  constructor(readonly reason: 'eof' | 'interrupt') {
    super(reason === 'eof' ? 'EOF' : 'interrupted');
  }
}

interface TtyInput extends Readable {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

export class Terminal {
  private buffered = '';
  private ended = false;
  private waiting: (() => void) | undefined;
  private listening = false;

  constructor(
    private readonly input: TtyInput = process.stdin,
    private readonly output: Writable = process.stdout,
  ) {}

  get interactive(): boolean {
    return this.input.isTTY === true;
  }

  write(text: string): void {
    this.output.write(text);
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.input.setEncoding('utf8');
    this.input.on('data', (chunk: string) => {
      this.buffered += chunk;
      this.waiting?.();
    });
    this.input.on('end', () => {
      this.ended = true;
      this.waiting?.();
    });
    this.input.on('error', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  private async nextChunk(): Promise<void> {
    this.input.resume();
    await new Promise<void>((resolve) => (this.waiting = resolve));
    this.waiting = undefined;
  }

  /** Ask and read one line; with `hidden`, nothing typed is echoed. */
  async ask(question: string, options: { hidden?: boolean } = {}): Promise<string> {
    this.listen();
    const raw = options.hidden === true && this.interactive && typeof this.input.setRawMode === 'function';
    // Echo goes off before the prompt shows, so nothing typed as soon as it appears is echoed.
    if (raw) this.input.setRawMode!(true);
    this.output.write(question);
    try {
      return raw ? await this.readHidden() : await this.readLine();
    } finally {
      if (raw) {
        this.input.setRawMode!(false);
        this.output.write('\n');
      }
      this.input.pause();
    }
  }

  private async readLine(): Promise<string> {
    for (;;) {
      const newline = this.buffered.indexOf('\n');
      if (newline >= 0) {
        const line = this.buffered.slice(0, newline).replace(/\r$/, '');
        this.buffered = this.buffered.slice(newline + 1);
        return line;
      }
      if (this.ended) {
        if (this.buffered.length > 0) {
          const line = this.buffered;
          this.buffered = '';
          return line;
        }
        throw new PromptAborted('eof');
      }
      await this.nextChunk();
    }
  }

  /** Raw mode: handle Enter, backspace, Ctrl-C and Ctrl-D ourselves. */
  private async readHidden(): Promise<string> {
    let value = '';
    for (;;) {
      while (this.buffered.length > 0) {
        const ch = this.buffered[0]!;
        this.buffered = this.buffered.slice(1);
        if (ch === '\r' || ch === '\n') return value;
        if (ch === '\u0003') throw new PromptAborted('interrupt');
        if (ch === '\u0004') {
          if (value === '') throw new PromptAborted('eof');
          return value;
        }
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value += ch;
      }
      if (this.ended) throw new PromptAborted('eof');
      await this.nextChunk();
    }
  }
}
