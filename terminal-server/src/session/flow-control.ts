/**
 * Output flow control for one session: decides when the pty must stop
 * being read and when it may be read again.
 *
 * The client acknowledges, by absolute offset, the output it has processed
 * (rendered, for a browser). Bytes sent but not acknowledged are in flight
 * somewhere: in ws's send buffer, the kernel, the network, the client's
 * queue. Above the high watermark the pty is paused, which with node-pty
 * stops reading its fd, so a flooding program blocks in write(2) and costs
 * nothing; below the low watermark it resumes. The gap between the two
 * keeps it from toggling on every frame.
 *
 * `bufferedAmount` (bytes ws has not yet handed to the kernel) is checked as
 * well, so a client that acknowledges bytes it never read still cannot make
 * the server buffer without bound.
 *
 * While no client is attached, output still fills the replay buffer; once
 * `detachedLimit` bytes have arrived since the detach, the pty is paused
 * too: the replay buffer then holds the newest screen and a flood costs no
 * CPU until someone comes back.
 */

export interface FlowControlOptions {
  readonly highWater: number;
  readonly lowWater: number;
  readonly detachedLimit: number;
}

export interface FlowState {
  /** Offset of the last output byte produced. */
  readonly produced: number;
  /** Offset the client has acknowledged, or the offset at detach when detached. */
  readonly acknowledged: number;
  /** ws's bufferedAmount, 0 when detached. */
  readonly buffered: number;
  readonly attached: boolean;
}

export class FlowControl {
  readonly #options: FlowControlOptions;
  #paused = false;

  constructor(options: FlowControlOptions) {
    if (!(options.lowWater < options.highWater)) throw new RangeError('lowWater must be below highWater');
    this.#options = options;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Re-evaluates after any change (output, ack, send completion, attach,
   * detach). Returns 'pause' or 'resume' when the pty must change state.
   */
  update(state: FlowState): 'pause' | 'resume' | undefined {
    const inFlight = state.produced - state.acknowledged;
    if (!state.attached) {
      if (!this.#paused && inFlight >= this.#options.detachedLimit) return this.#set(true);
      return undefined;
    }
    if (!this.#paused && (inFlight > this.#options.highWater || state.buffered > this.#options.highWater)) {
      return this.#set(true);
    }
    if (this.#paused && inFlight <= this.#options.lowWater && state.buffered <= this.#options.lowWater) {
      return this.#set(false);
    }
    return undefined;
  }

  #set(paused: boolean): 'pause' | 'resume' {
    this.#paused = paused;
    return paused ? 'pause' : 'resume';
  }
}
