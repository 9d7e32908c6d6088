import { afterEach, describe, expect, it, vi } from 'vitest';
import { InputPump, type InputSink } from './input-pump.js';

/** A pty that accepts at most `room` bytes until `drain` is called, like a full kernel buffer. */
class FakeSink implements InputSink {
  readonly written: number[] = [];
  calls = 0;
  room: number;
  dead = false;
  constructor(room = Number.POSITIVE_INFINITY) {
    this.room = room;
  }
  writeSome(data: Uint8Array): number {
    this.calls++;
    if (this.dead) throw new Error('gone');
    const count = Math.min(this.room, data.byteLength);
    this.room -= count;
    this.written.push(...data.subarray(0, count));
    return count;
  }
}

function pump(overrides: Partial<ConstructorParameters<typeof InputPump>[0]> = {}) {
  const pressure: boolean[] = [];
  const errors: unknown[] = [];
  const input = new InputPump({
    highWater: 100,
    lowWater: 20,
    maxPending: 1000,
    onPressure: (high) => pressure.push(high),
    onError: (error) => errors.push(error),
    ...overrides,
  });
  return { input, pressure, errors };
}

const bytes = (from: number, count: number) => new Uint8Array(count).map((_, i) => (from + i) & 0xff);

afterEach(() => {
  vi.useRealTimers();
});

describe('InputPump', () => {
  it('keeps input that arrives before the shell, and writes it in order once there is one', () => {
    const { input } = pump();
    input.push(bytes(0, 10));
    input.push(bytes(10, 10));
    expect(input.pending).toBe(20);
    const sink = new FakeSink();
    input.setSink(sink);
    expect(sink.written).toEqual([...bytes(0, 20)]);
    expect(input.pending).toBe(0);
  });

  it('waits with growing delays when the pty is full, without spinning, and loses nothing', () => {
    vi.useFakeTimers();
    const { input, pressure } = pump();
    const sink = new FakeSink(30);
    input.setSink(sink);
    input.push(bytes(0, 150));
    expect(sink.written.length).toBe(30);
    expect(pressure).toEqual([true]);
    const callsWhileFull = sink.calls;
    vi.advanceTimersByTime(100);
    // Retries at 2, 4, 8, 16, 20, 20... ms: a handful of calls, not one per event loop turn.
    expect(sink.calls - callsWhileFull).toBeLessThanOrEqual(8);
    sink.room = Number.POSITIVE_INFINITY;
    vi.advanceTimersByTime(20);
    expect(sink.written).toEqual([...bytes(0, 150)]);
    expect(pressure).toEqual([true, false]);
  });

  it('refuses input beyond maxPending and keeps what it had', () => {
    const { input } = pump({ maxPending: 50 });
    expect(input.push(bytes(0, 40))).toBe(true);
    expect(input.push(bytes(40, 20))).toBe(false);
    expect(input.pending).toBe(40);
  });

  it('drops everything and reports when the pty fails', () => {
    const { input, errors } = pump();
    const sink = new FakeSink();
    sink.dead = true;
    input.push(bytes(0, 10));
    input.setSink(sink);
    expect(errors).toHaveLength(1);
    expect(input.pending).toBe(0);
    expect(input.push(bytes(0, 10))).toBe(true);
    expect(input.pending).toBe(0);
  });
});
