/**
 * The terminal benchmark's measurements, written once against a small
 * adapter so that TrustLab's terminal server and the reference bridge are
 * driven by exactly the same code.
 */
import { performance } from 'node:perf_hooks';
import type { UsageReport, UsageRequest } from './usage.js';

export interface TerminalConnection {
  /** Keystrokes or a command line, as a browser would send them. */
  send(text: string): void;
  /** Every chunk of terminal output, in order (the adapter acknowledges it if its protocol wants). */
  onOutput(listener: (chunk: Buffer) => void): void;
  /** Settles once the server has closed the connection (after the shell exited, say). */
  readonly closed: Promise<void>;
  close(): void;
}

export interface TerminalTarget {
  readonly name: string;
  /**
   * Does what comes before the learner's page connects (TrustLab: the web
   * app's ticket for `attendee`), untimed, and returns the connect step:
   * connect, authenticate and attach (resolves once the socket is usable).
   */
  prepare(attendee: string): Promise<() => Promise<TerminalConnection>>;
  usage(request?: Omit<UsageRequest, 'type'>): Promise<UsageReport>;
  stop(): Promise<void>;
}

/** Output seen so far on one connection, with a way to wait for a pattern in what arrives next. */
export class Transcript {
  private text = '';
  private bytes = 0;
  private waiter: { test: (text: string) => boolean; resolve: () => void } | undefined;

  constructor(readonly connection: TerminalConnection) {
    connection.onOutput((chunk) => {
      this.bytes += chunk.length;
      // Keep only a tail: enough to find markers, bounded for bulk output.
      this.text = (this.text + chunk.toString('latin1')).slice(-4096);
      if (this.waiter?.test(this.text)) {
        const { resolve } = this.waiter;
        this.waiter = undefined;
        resolve();
      }
    });
  }

  get received(): number {
    return this.bytes;
  }

  /** Forget what was seen, so the next wait only matches new output. */
  reset(): void {
    this.text = '';
  }

  waitFor(test: string | RegExp, timeoutMs = 30_000): Promise<void> {
    const matches = (text: string) => (typeof test === 'string' ? text.includes(test) : test.test(text));
    if (matches(this.text)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no ${String(test)} in the terminal output within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        test: matches,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  }
}

/** Prompts end in `$ ` (TrustLab's friendly prompt and the reference's PS1 both do), or `# ` for root (`local` run as root). */
export const PROMPT = /[$#] $/;

/** Connect → first prompt for `attendee`: the time from connecting to the prompt on screen. */
export async function openToPrompt(
  target: TerminalTarget,
  attendee: string,
): Promise<{ transcript: Transcript; ms: number }> {
  const connect = await target.prepare(attendee);
  const start = performance.now();
  const connection = await connect();
  const transcript = new Transcript(connection);
  await transcript.waitFor(PROMPT);
  return { transcript, ms: performance.now() - start };
}

/** Ends the shell the way a learner does, and waits until the server has closed the connection. */
export async function exitShell(transcript: Transcript, timeoutMs = 30_000): Promise<void> {
  transcript.connection.send('exit\r');
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    transcript.connection.closed,
    new Promise((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the connection stayed open ${timeoutMs} ms after exit`)),
        timeoutMs,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Keystroke echo round trips: type a letter and wait until readline echoes
 * it, then Backspace and wait for its erase (`\b`), and so on; both are
 * keystrokes a learner types, and the line never grows.
 */
export async function echoRoundTrips(
  transcript: Transcript,
  samples: number,
  warmup = 20,
): Promise<number[]> {
  const times: number[] = [];
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i < samples + warmup; i++) {
    const typing = i % 2 === 0;
    const key = typing ? letters[(i / 2) % letters.length]! : '\x7f';
    const echo = typing ? key : '\b';
    transcript.reset();
    const start = performance.now();
    transcript.connection.send(key);
    await transcript.waitFor(echo);
    if (i >= warmup) times.push(performance.now() - start);
  }
  if ((samples + warmup) % 2 === 1) {
    transcript.reset();
    transcript.connection.send('\x7f');
    await transcript.waitFor('\b');
  }
  return times;
}

/** Bulk output: the shell prints `megabytes` MB, then a marker; MB/s of what arrived. */
export async function bulkOutput(
  transcript: Transcript,
  megabytes: number,
): Promise<{ bytes: number; seconds: number }> {
  transcript.reset();
  const before = transcript.received;
  const start = performance.now();
  // The marker is split in the command line so that its echo does not match.
  transcript.connection.send(
    `head -c ${megabytes * 1_000_000} /dev/zero | tr '\\0' a; echo; echo BULK""DONE\r`,
  );
  await transcript.waitFor('BULKDONE', 600_000);
  const seconds = (performance.now() - start) / 1000;
  await transcript.waitFor(PROMPT);
  return { bytes: transcript.received - before, seconds };
}

export function startFlood(transcript: Transcript): void {
  transcript.connection.send('yes\r');
}

export async function stopFlood(transcript: Transcript): Promise<void> {
  transcript.connection.send('\x03');
  transcript.reset();
  await transcript.waitFor(PROMPT, 60_000);
}
