import { describe, expect, it } from 'vitest';
import { spawnNodePty, type PtyExit } from './pty.js';

const command = (script: string) => ({
  file: '/bin/sh',
  args: ['-c', script],
  env: { PATH: '/usr/bin:/bin', TERM: 'xterm-256color' },
  cwd: '/',
});

function collect(pty: ReturnType<typeof spawnNodePty>) {
  const chunks: Buffer[] = [];
  const exited = new Promise<PtyExit>((resolve) => pty.onExit(resolve));
  pty.onData((data) => chunks.push(Buffer.from(data)));
  return { text: () => Buffer.concat(chunks).toString('utf8'), exited };
}

describe('spawnNodePty', () => {
  // pty.ts writes input on node-pty's fd and relies on two of its internals;
  // this fails when a node-pty upgrade changes them.
  it('writes input on the pty fd (node-pty internals as expected)', async () => {
    const pty = spawnNodePty(command('read line; echo "got:$line"'), { cols: 80, rows: 24 });
    const { text, exited } = collect(pty);
    expect(pty.inputPath).toBe('fd');
    let written = 0;
    const input = new TextEncoder().encode('hello\n');
    while (written < input.byteLength) written += pty.writeSome(input.subarray(written));
    expect((await exited).exitCode).toBe(0);
    expect(text()).toContain('got:hello');
  });

  it('reports a full pty as 0 bytes written instead of blocking', async () => {
    const pty = spawnNodePty(command('stty -echo; sleep 30'), { cols: 80, rows: 24 });
    const { exited } = collect(pty);
    const chunk = new Uint8Array(4096).fill(0x61);
    let accepted = 0;
    let zero = false;
    // The kernel's buffers hold a few KiB; far less than 4 MiB.
    for (let i = 0; i < 1024 && !zero; i++) {
      const count = pty.writeSome(chunk);
      accepted += count;
      zero = count === 0;
    }
    expect(zero).toBe(true);
    expect(accepted).toBeLessThan(4 * 1024 * 1024);
    pty.kill('SIGKILL');
    await exited;
    expect(() => pty.writeSome(chunk)).toThrow(/closed/);
  });

  it('gives the pty the requested size and resizes it', async () => {
    const pty = spawnNodePty(command('stty size; read x; stty size'), { cols: 91, rows: 27 });
    const { text, exited } = collect(pty);
    await expect.poll(text).toContain('27 91');
    pty.resize(120, 40);
    pty.writeSome(new TextEncoder().encode('\n'));
    await exited;
    expect(text()).toContain('40 120');
  });
});
