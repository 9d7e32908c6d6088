/**
 * Keystrokes and pastes on their way to the shell, in order.
 *
 * Input is queued from the moment a client sends it: before the shell
 * exists (the sandbox is still being created), the queue simply waits for
 * a sink. Once there is one, bytes are written as fast as the pty accepts
 * them; when its kernel buffer is full (the program is not reading, or a
 * 100 KB paste outruns `cat`), writing stops and is retried after a short,
 * growing delay instead of spinning, so a stalled shell costs nothing.
 *
 * The queue is bounded: above `highWater` pending bytes the owner is told
 * to stop reading the WebSocket (TCP back-pressure to the client), below
 * `lowWater` to read again; `push` refuses input beyond `maxPending`.
 */

export interface InputSink {
  /** Writes what can be written without blocking; returns the count, 0 when full. Throws when the pty is gone. */
  writeSome(data: Uint8Array): number;
}

export interface InputPumpOptions {
  readonly highWater: number;
  readonly lowWater: number;
  readonly maxPending: number;
  /** true: stop reading input from the client; false: read again. */
  readonly onPressure: (high: boolean) => void;
  /** The sink failed; pending input was dropped. */
  readonly onError: (error: unknown) => void;
}

const FIRST_RETRY_MS = 2;
const LAST_RETRY_MS = 20;

export class InputPump {
  readonly #options: InputPumpOptions;
  readonly #queue: Uint8Array[] = [];
  #pending = 0;
  #sink: InputSink | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #retryDelay = FIRST_RETRY_MS;
  #pressure = false;
  #disposed = false;

  constructor(options: InputPumpOptions) {
    this.#options = options;
  }

  /** Bytes received and not yet written to the pty. */
  get pending(): number {
    return this.#pending;
  }

  get underPressure(): boolean {
    return this.#pressure;
  }

  /** Queues `data` after everything already queued; false (and nothing queued) beyond maxPending. */
  push(data: Uint8Array): boolean {
    if (this.#disposed) return true;
    if (this.#pending + data.byteLength > this.#options.maxPending) return false;
    this.#queue.push(data);
    this.#pending += data.byteLength;
    this.#updatePressure();
    if (this.#retry === undefined) this.#drain();
    return true;
  }

  setSink(sink: InputSink): void {
    this.#sink = sink;
    this.#drain();
  }

  /** Drops what is queued and stops; later pushes are ignored. */
  dispose(): void {
    this.#disposed = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#queue.length = 0;
    this.#pending = 0;
    this.#sink = undefined;
  }

  #drain(): void {
    this.#retry = undefined;
    const sink = this.#sink;
    if (sink === undefined || this.#disposed) return;
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      let written: number;
      try {
        written = sink.writeSome(head);
      } catch (error) {
        this.dispose();
        this.#options.onError(error);
        return;
      }
      if (written === 0) {
        this.#retry = setTimeout(() => this.#drain(), this.#retryDelay);
        this.#retry.unref();
        this.#retryDelay = Math.min(this.#retryDelay * 2, LAST_RETRY_MS);
        break;
      }
      this.#retryDelay = FIRST_RETRY_MS;
      this.#pending -= written;
      if (written >= head.byteLength) this.#queue.shift();
      else this.#queue[0] = head.subarray(written);
    }
    this.#updatePressure();
  }

  #updatePressure(): void {
    if (!this.#pressure && this.#pending > this.#options.highWater) {
      this.#pressure = true;
      this.#options.onPressure(true);
    } else if (this.#pressure && this.#pending <= this.#options.lowWater) {
      this.#pressure = false;
      this.#options.onPressure(false);
    }
  }
}
