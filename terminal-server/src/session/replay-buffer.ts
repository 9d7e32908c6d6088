/**
 * The last `capacity` bytes of a session's output, numbered by absolute
 * offset since the shell started, for restoring a screen on reconnect.
 *
 * A byte ring: storage is allocated with the first output, grows by
 * doubling up to `capacity` (most sessions print far less than the cap, an
 * idle one little more than its prompt) and then wraps. Invariants:
 * - `end` counts every byte ever appended; `start` is the offset of the
 *   oldest byte kept, `end - start <= capacity`;
 * - `start` never falls inside a UTF-8 sequence: when trimming would cut one,
 *   the rest of that character is dropped too, so a replay always begins
 *   with a whole character (a terminal fed from `start` draws no U+FFFD).
 */

/** Shared by every buffer that has not stored anything yet. */
const EMPTY = new Uint8Array(0);

/** The first allocation: a prompt and a few short answers. */
const INITIAL_BYTES = 1024;

export class ReplayBuffer {
  readonly capacity: number;
  #storage: Uint8Array;
  /** Index in #storage of the byte at offset `start`. */
  #head = 0;
  #length = 0;
  #end = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 4)
      throw new RangeError('replay capacity must be an integer >= 4');
    this.capacity = capacity;
    this.#storage = EMPTY;
  }

  /** Offset of the oldest byte kept. */
  get start(): number {
    return this.#end - this.#length;
  }

  /** Offset just past the newest byte (total bytes ever appended). */
  get end(): number {
    return this.#end;
  }

  /** Bytes of storage currently allocated (for health figures and tests). */
  get allocated(): number {
    return this.#storage.byteLength;
  }

  append(data: Uint8Array): void {
    if (data.byteLength === 0) return;
    this.#end += data.byteLength;
    let bytes = data;
    if (bytes.byteLength >= this.capacity) {
      // Only the tail can survive; the previous content is gone entirely.
      bytes = bytes.subarray(bytes.byteLength - this.capacity);
      this.#grow(this.capacity);
      this.#storage.set(bytes, 0);
      this.#head = 0;
      this.#length = bytes.byteLength;
      this.#alignStart();
      return;
    }
    const needed = this.#length + bytes.byteLength;
    if (needed > this.#storage.byteLength && this.#storage.byteLength < this.capacity) {
      this.#grow(Math.min(this.capacity, Math.max(needed, this.#storage.byteLength * 2, INITIAL_BYTES)));
    }
    const size = this.#storage.byteLength;
    let trimmed = false;
    if (needed > size) {
      const drop = needed - size;
      this.#head = (this.#head + drop) % size;
      this.#length -= drop;
      trimmed = true;
    }
    const tail = (this.#head + this.#length) % size;
    const first = Math.min(bytes.byteLength, size - tail);
    this.#storage.set(bytes.subarray(0, first), tail);
    if (first < bytes.byteLength) this.#storage.set(bytes.subarray(first), 0);
    this.#length += bytes.byteLength;
    if (trimmed) this.#alignStart();
  }

  /**
   * A copy of the bytes from `from` (default `start`) to `end`; undefined
   * when `from` is no longer kept (older than `start`) or beyond `end`.
   */
  read(from: number = this.start): Uint8Array | undefined {
    if (from < this.start || from > this.#end) return undefined;
    const skip = from - this.start;
    const count = this.#length - skip;
    const out = new Uint8Array(count);
    if (count === 0) return out;
    const size = this.#storage.byteLength;
    const begin = (this.#head + skip) % size;
    const first = Math.min(count, size - begin);
    out.set(this.#storage.subarray(begin, begin + first), 0);
    if (first < count) out.set(this.#storage.subarray(0, count - first), first);
    return out;
  }

  #grow(size: number): void {
    if (size <= this.#storage.byteLength) return;
    const next = new Uint8Array(size);
    const current = this.read() ?? new Uint8Array(0);
    next.set(current, 0);
    this.#storage = next;
    this.#head = 0;
  }

  /** Drops continuation bytes (10xxxxxx) at the front: at most three, the tail of one character. */
  #alignStart(): void {
    const size = this.#storage.byteLength;
    for (let i = 0; i < 3 && this.#length > 0; i++) {
      if ((this.#storage[this.#head]! & 0xc0) !== 0x80) return;
      this.#head = (this.#head + 1) % size;
      this.#length--;
    }
  }
}
