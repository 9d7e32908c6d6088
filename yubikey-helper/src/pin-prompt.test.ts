/**
 * The helper's PIN prompt read from a pipe (scripts and tests answer it line by line): notary's
 * wording, one line per answer in order, and the token's note about the tries left.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { retriesText, terminalPinSource } from './pin-prompt.js';
import type { PinRequest } from './token/index.js';

const USER_PROMPT = 'Enter the User Pin for the attached Yubikey: ';
const SO_PROMPT = 'Enter the SO Pin for the attached Yubikey: ';

function pipe(): { input: PassThrough; output: PassThrough; printed(): string } {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.setEncoding('utf8');
  output.on('data', (chunk: string) => (printed += chunk));
  return { input, output, printed: () => printed };
}

const ask = (overrides: Partial<PinRequest> = {}): PinRequest => ({
  kind: 'user',
  attempt: 0,
  tokenLabel: 'trustlab',
  retries: 'unknown',
  ...overrides,
});

describe('terminalPinSource from a pipe', () => {
  it('reads one line per prompt, in order, keeping lines written before the prompt', async () => {
    const io = pipe();
    const source = terminalPinSource(io);
    io.input.write('111111\n222222\n');
    expect(await source(ask())).toBe('111111');
    expect(await source(ask({ attempt: 1 }))).toBe('222222');
    expect(io.printed()).toBe(`${USER_PROMPT}\n${USER_PROMPT}\n`);
  });

  it('waits for a line written after the prompt, and joins a line sent in pieces', async () => {
    const io = pipe();
    const source = terminalPinSource(io);
    const answer = source(ask());
    io.input.write('12');
    io.input.write('3456\r\n');
    expect(await answer).toBe('123456');
  });

  it('asks for the SO PIN in notary’s words', async () => {
    const io = pipe();
    const source = terminalPinSource(io);
    io.input.write('010203040506070801020304050607080102030405060708\n');
    expect(await source(ask({ kind: 'so' }))).toBe('010203040506070801020304050607080102030405060708');
    expect(io.printed()).toBe(`${SO_PROMPT}\n`);
  });

  it('gives up (undefined) on an empty line', async () => {
    const io = pipe();
    const source = terminalPinSource(io);
    io.input.write('\n654321\n');
    expect(await source(ask())).toBeUndefined();
    expect(await source(ask())).toBe('654321');
  });

  it('gives up (undefined) at the end of input, and takes a last line without newline first', async () => {
    const io = pipe();
    const source = terminalPinSource(io);
    io.input.end('123456');
    expect(await source(ask())).toBe('123456');
    expect(await source(ask())).toBeUndefined();
    expect(await source(ask())).toBeUndefined();
  });

  it('gives up on end of input while a prompt waits', async () => {
    const io = pipe();
    const source = terminalPinSource(io);
    const answer = source(ask());
    io.input.end();
    expect(await answer).toBeUndefined();
  });

  it('does not ask for a locked PIN, and reads nothing', async () => {
    const io = pipe();
    const source = terminalPinSource(io);
    io.input.write('123456\n');
    expect(await source(ask({ retries: 'locked' }))).toBeUndefined();
    expect(io.printed()).toBe('the YubiKey reports that the PIN is locked.\n');
    expect(io.printed()).not.toContain('Enter the');
    // The line is still there for the next prompt.
    expect(await source(ask())).toBe('123456');
  });

  it.each([
    ['low', '(the YubiKey reports few tries left before the PIN locks) '],
    ['final-try', '(the YubiKey reports that this is the last try before the PIN locks) '],
  ] as const)('says what the token reports when the tries are %s', async (retries, note) => {
    const io = pipe();
    const source = terminalPinSource(io);
    io.input.write('123456\n');
    expect(await source(ask({ retries }))).toBe('123456');
    expect(io.printed()).toBe(`${note}${USER_PROMPT}\n`);
  });

  it('adds no note when the token does not say', () => {
    expect(retriesText('unknown')).toBeUndefined();
  });
});
