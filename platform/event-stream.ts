/**
 * Server-Sent Events as the API routes send them: the learner's task
 * stream and the instructor's dashboard stream share this.
 *
 * A stream says `retry` first, then its opening events, then one event per
 * change, a comment line as heartbeat, and `end` when the platform stops.
 * Changes are subscribed to before the opening events are computed, and
 * the changes that arrive before those are sent are dropped: the opening
 * events were computed after them and already hold them, while sending
 * them afterwards would show something older than what is on the page.
 * Everything a stream holds (subscription, timer, listeners) is released
 * once, whichever way it ends: the client leaves, the reader cancels, or
 * the platform stops.
 */

/** A comment line every so often keeps proxies and browsers from closing an idle stream. */
export const SSE_HEARTBEAT_MS = 15_000;
/** How long a browser waits before reconnecting a dropped stream. */
export const SSE_RETRY_MS = 3000;

export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  // no-transform: compression (Next's included) would hold events back to fill a block.
  'Cache-Control': 'no-store, no-transform',
  'X-Accel-Buffering': 'no',
  'X-Content-Type-Options': 'nosniff',
};

export interface StreamEvent {
  readonly event: string;
  /** Sent as one line of JSON. */
  readonly data: unknown;
}

export type SendEvent = (event: StreamEvent) => void;

export interface EventStreamSource {
  /** Subscribes to changes; returns the unsubscribe. */
  subscribe(send: SendEvent): () => void;
  /** The events that open the stream, computed after `subscribe`. */
  opening(): Promise<readonly StreamEvent[]>;
  heartbeatMs: number;
  /** The client went away. */
  signal: AbortSignal;
  /** Keeps `ending` to call at shutdown; returns its removal. */
  register(ending: () => void): () => void;
}

/** The streams open now, ended together when the platform stops. */
export class OpenStreams {
  private readonly endings = new Set<() => void>();

  add(ending: () => void): () => void {
    this.endings.add(ending);
    return () => this.endings.delete(ending);
  }

  /** Ends every open event stream (the platform is stopping). */
  closeAll(): void {
    for (const ending of [...this.endings]) ending();
  }

  get size(): number {
    return this.endings.size;
  }
}

function frame(event: StreamEvent): string {
  return `event: ${event.event}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

export function eventStream(source: EventStreamSource): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let release = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      let opened = false;
      const send = (text: string) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          release();
        }
      };
      const unsubscribe = source.subscribe((event) => {
        if (opened) send(frame(event));
      });
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), source.heartbeatMs);
      const onAbort = () => release();
      const unregister = source.register(() => {
        // Said, so that the page does not take the end for a network failure.
        send(frame({ event: 'end', data: {} }));
        release();
      });
      release = () => {
        if (!open) return;
        open = false;
        unsubscribe();
        clearInterval(heartbeat);
        source.signal.removeEventListener('abort', onAbort);
        unregister();
        try {
          controller.close();
        } catch {
          // The reader cancelled first.
        }
      };
      source.signal.addEventListener('abort', onAbort);
      if (source.signal.aborted) return release();
      send(`retry: ${SSE_RETRY_MS}\n\n`);
      source.opening().then(
        (events) => {
          for (const event of events) send(frame(event));
          opened = true;
        },
        () => release(),
      );
    },
    cancel() {
      release();
    },
  });
}
