import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PromptAborted, Terminal } from './terminal.js';

function pipe(text: string) {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d: Buffer) => (shown += d.toString()));
  input.end(text);
  return { terminal: new Terminal(input, output), shown: () => shown };
}

describe('Terminal', () => {
  it('answers several prompts from piped lines', async () => {
    const { terminal, shown } = pipe('alice\nsecret-pass\r\n');
    await expect(terminal.ask('Username: ')).resolves.toBe('alice');
    await expect(terminal.ask('Password: ', { hidden: true })).resolves.toBe('secret-pass');
    expect(shown()).toBe('Username: Password: ');
  });

  it('gives EOF when input runs out', async () => {
    const { terminal } = pipe('');
    await expect(terminal.ask('Passphrase: ', { hidden: true })).rejects.toBeInstanceOf(PromptAborted);
  });

  it('reads hidden input in raw mode on a terminal, with backspace', async () => {
    const input = Object.assign(new PassThrough(), { isTTY: true, modes: [] as boolean[] });
    const tty = Object.assign(input, {
      setRawMode(mode: boolean) {
        input.modes.push(mode);
        return input;
      },
    });
    const output = new PassThrough();
    let shown = '';
    output.on('data', (d: Buffer) => (shown += d.toString()));
    const terminal = new Terminal(tty, output);
    const answer = terminal.ask('Passphrase: ', { hidden: true });
    tty.write('pasx\u007fs\r');
    await expect(answer).resolves.toBe('pass');
    expect(tty.modes).toEqual([true, false]);
    expect(shown).toBe('Passphrase: \n');
  });
});
