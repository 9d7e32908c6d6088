import { describe, expect, it } from 'vitest';
import { ReplayBuffer } from './replay-buffer.js';

const text = (bytes: Uint8Array | undefined) =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
const utf8 = (value: string) => new TextEncoder().encode(value);

describe('ReplayBuffer', () => {
  it('keeps everything below the cap, numbered from 0', () => {
    const buffer = new ReplayBuffer(64);
    buffer.append(utf8('hello '));
    buffer.append(utf8('world'));
    expect([buffer.start, buffer.end]).toEqual([0, 11]);
    expect(text(buffer.read())).toBe('hello world');
    expect(text(buffer.read(6))).toBe('world');
    expect(text(buffer.read(11))).toBe('');
    expect(buffer.read(12)).toBeUndefined();
  });

  it('keeps the newest `capacity` bytes as it wraps', () => {
    const buffer = new ReplayBuffer(10);
    let all = '';
    for (let i = 0; i < 50; i++) {
      const chunk = String.fromCharCode(97 + (i % 26)).repeat((i % 4) + 1);
      all += chunk;
      buffer.append(utf8(chunk));
      expect(buffer.end).toBe(all.length);
      expect(text(buffer.read())).toBe(all.slice(buffer.start));
      expect(buffer.end - buffer.start).toBeLessThanOrEqual(10);
    }
    expect(buffer.start).toBe(all.length - 10);
    expect(buffer.read(buffer.start - 1)).toBeUndefined();
    expect(text(buffer.read(all.length - 3))).toBe(all.slice(-3));
  });

  it('takes only the tail of a chunk larger than the cap', () => {
    const buffer = new ReplayBuffer(8);
    buffer.append(utf8('abc'));
    buffer.append(utf8('0123456789ABCDEF'));
    expect([buffer.start, buffer.end]).toEqual([11, 19]);
    expect(text(buffer.read())).toBe('89ABCDEF');
  });

  it('grows its storage lazily up to the cap', () => {
    const buffer = new ReplayBuffer(1 << 20);
    expect(buffer.allocated).toBe(0); // nothing before the first output
    expect(buffer.read()!.byteLength).toBe(0);
    buffer.append(new Uint8Array(100));
    expect(buffer.allocated).toBeLessThanOrEqual(1024);
    buffer.append(new Uint8Array(10_000));
    expect(buffer.allocated).toBeGreaterThanOrEqual(10_100);
    expect(buffer.allocated).toBeLessThan(1 << 20);
    expect(buffer.read()!.byteLength).toBe(10_100);
  });

  it('never starts inside a UTF-8 sequence', () => {
    // '€' is 3 bytes, '😀' 4: trimming at any byte must land on a character start.
    for (let capacity = 4; capacity < 24; capacity++) {
      const buffer = new ReplayBuffer(capacity);
      let all = '';
      for (const piece of ['a€', '😀', 'bc', '€€', '😀x', 'é']) {
        all += piece;
        buffer.append(utf8(piece));
        const kept = buffer.read()!;
        expect(kept[0] === undefined || (kept[0] & 0xc0) !== 0x80).toBe(true);
        // What is kept decodes cleanly and is a suffix of everything written.
        const decoded = new TextDecoder('utf-8', { fatal: true }).decode(kept);
        expect(all.endsWith(decoded)).toBe(true);
        expect(kept.byteLength).toBeGreaterThanOrEqual(Math.min(capacity - 3, Buffer.byteLength(all)));
      }
    }
  });

  it('keeps a UTF-8 sequence split across appends whole', () => {
    const buffer = new ReplayBuffer(6);
    const euro = utf8('€');
    buffer.append(utf8('abcd'));
    buffer.append(euro.subarray(0, 1));
    buffer.append(euro.subarray(1));
    // 7 bytes written, cap 6: dropping 'a' is enough, nothing of '€' is cut.
    expect(text(buffer.read())).toBe('bcd€');
    buffer.append(utf8('xyz'));
    expect(text(buffer.read())).toBe('€xyz');
    expect(buffer.start).toBe(4);
    buffer.append(utf8('w'));
    // Trimming one more byte would cut into '€'; its remaining bytes go too.
    expect(text(buffer.read())).toBe('xyzw');
    expect(buffer.start).toBe(7);
  });
});
