/**
 * TrustLab's terminal server as a benchmark target: the child from
 * trustlab-server.ts, spoken to with the reference client of the terminal
 * protocol (terminal-server/src/client), which acknowledges output as it
 * processes it, as the lab page does.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TerminalClient } from '../../terminal-server/src/index.js';
import { sweepLeftovers } from './leftovers.js';
import type { TerminalConnection, TerminalTarget } from './measure.js';
import type { TimingsReport } from './trustlab-server.js';
import { forkServer, nextMessage, requestUsage, stopChild } from './targets.js';

const ORIGIN = 'http://127.0.0.1:3000';

export interface TrustLabTarget extends TerminalTarget {
  readonly driver: string;
  /** Mean step times of sandbox creation (bwrap), for new and for returning homes. */
  timings(): Promise<TimingsReport>;
  /** What `stop` found left on the host and removed (empty when the server cleaned up after itself). */
  readonly leftovers: string[];
}

export async function startTrustLab(): Promise<TrustLabTarget> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'trustlab-terminal-bench-'));
  const child = forkServer('trustlab-server.ts', { BENCH_DATA_DIR: dataDir });
  const leftovers: string[] = [];
  const stop = async () => {
    // Tearing down a few hundred sandboxes takes a while on a busy machine; then sweep whatever remains.
    await stopChild(child, 180_000);
    leftovers.push(...(await sweepLeftovers(dataDir)));
  };
  let ready: { port: number; driver: string };
  try {
    ready = await nextMessage(
      child,
      (m): m is { port: number; driver: string } => typeof (m as { port?: unknown })?.port === 'number',
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const { port, driver } = ready;
  return {
    name: `TrustLab (${driver})`,
    driver,
    leftovers,
    async prepare(attendee: string) {
      const answer = nextMessage(
        child,
        (m): m is { type: 'ticket'; ticket: string } =>
          (m as { type?: string; attendee?: string })?.type === 'ticket' &&
          (m as { attendee?: string }).attendee === attendee,
      );
      child.send({ type: 'ticket', attendee });
      const { ticket } = await answer;
      return async (): Promise<TerminalConnection> => {
        const listeners: Array<(chunk: Buffer) => void> = [];
        const deliver = (data: Uint8Array) => {
          const chunk = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
          for (const listener of listeners) listener(chunk);
        };
        const client = await TerminalClient.connect({
          url: `ws://127.0.0.1:${port}/terminal`,
          ticket,
          origin: ORIGIN,
          onReplay: (replay) => deliver(replay.data),
          onOutput: deliver,
        });
        return {
          send: (text) => client.input(text),
          onOutput: (listener) => listeners.push(listener),
          closed: client.closed.then(() => undefined),
          close: () => void client.close(),
        };
      };
    },
    usage: (request) => requestUsage(child, request),
    timings: () => {
      const answer = nextMessage(
        child,
        (m): m is TimingsReport => (m as { type?: string })?.type === 'timings',
      );
      child.send({ type: 'timings' });
      return answer;
    },
    stop,
  };
}
