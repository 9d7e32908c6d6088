/**
 * Asks for a PIN on the helper's own terminal: never through the browser or
 * the lab server. On a terminal the PIN is read with echo off; from a pipe
 * (scripts, tests) one line is one answer. The wording is notary's
 * (`Enter the SO Pin|User Pin for the attached Yubikey:`), followed by what
 * the token says about the tries left, so a learner knows before the PIN
 * locks.
 */
import type { Readable, Writable } from 'node:stream';
import type { PinRequest, PinRetries, PinSource } from './token/index.js';

export interface PromptIo {
  input: Readable & { isTTY?: boolean; setRawMode?(raw: boolean): unknown };
  output: Writable;
}

export function retriesText(retries: PinRetries): string | undefined {
  switch (retries) {
    case 'low':
      return 'the YubiKey reports few tries left before the PIN locks';
    case 'final-try':
      return 'the YubiKey reports that this is the last try before the PIN locks';
    case 'locked':
      return 'the YubiKey reports that the PIN is locked';
    case 'unknown':
      return undefined;
  }
}

/** Reads lines from a stream, one per call, keeping what follows for the next call. */
class LineReader {
  #buffer = '';
  #waiting: ((line: string | undefined) => void) | undefined;
  #ended = false;

  constructor(private readonly input: Readable) {
    input.setEncoding('utf8');
    input.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#deliver();
    });
    input.on('end', () => {
      this.#ended = true;
      this.#deliver();
    });
    input.pause();
  }

  #deliver(): void {
    if (this.#waiting === undefined) return;
    const newline = this.#buffer.indexOf('\n');
    if (newline === -1 && !this.#ended) return;
    const resolve = this.#waiting;
    this.#waiting = undefined;
    this.input.pause();
    if (newline === -1) {
      const rest = this.#buffer;
      this.#buffer = '';
      resolve(rest === '' ? undefined : rest);
      return;
    }
    const line = this.#buffer.slice(0, newline).replace(/\r$/, '');
    this.#buffer = this.#buffer.slice(newline + 1);
    resolve(line);
  }

  next(): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.input.resume();
      this.#deliver();
    });
  }
}

/** Reads one line with echo off; Ctrl-C or Ctrl-D gives up (undefined). */
function readHidden(io: PromptIo): Promise<string | undefined> {
  const { input } = io;
  return new Promise((resolve) => {
    let typed = '';
    input.setEncoding('utf8');
    input.setRawMode!(true);
    const finish = (value: string | undefined) => {
      input.off('data', onData);
      input.setRawMode!(false);
      input.pause();
      io.output.write('\n');
      resolve(value);
    };
    const onData = (chunk: string) => {
      for (const c of chunk) {
        if (c === '\r' || c === '\n') return finish(typed);
        if (c === '\u0003' || c === '\u0004') return finish(undefined);
        if (c === '\u007f' || c === '\b') typed = typed.slice(0, -1);
        else if (c >= ' ') typed += c;
      }
    };
    input.on('data', onData);
    input.resume();
  });
}

export function terminalPinSource(io: PromptIo): PinSource {
  const lines = io.input.isTTY ? undefined : new LineReader(io.input);
  return async (request: PinRequest) => {
    const note = retriesText(request.retries);
    if (request.retries === 'locked') {
      io.output.write(`${note}.\n`);
      return undefined;
    }
    const who = request.kind === 'so' ? 'SO Pin' : 'User Pin';
    io.output.write(`${note ? `(${note}) ` : ''}Enter the ${who} for the attached Yubikey: `);
    const answer = lines ? await lines.next() : await readHidden(io);
    if (lines) io.output.write('\n');
    return answer === undefined || answer === '' ? undefined : answer;
  };
}
