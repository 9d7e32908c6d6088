/**
 * TrustLab's terminal server as a benchmark target: the child from
 * trustlab-server.ts, spoken to with the reference client of the terminal
 * protocol (terminal-server/src/client), which acknowledges output as it
 * processes it, as the lab page does.
 */
import { TerminalClient } from '../../terminal-server/src/index.js';
import type { TerminalConnection, TerminalTarget } from './measure.js';
import { forkServer, nextMessage, requestUsage, stopChild } from './targets.js';

const ORIGIN = 'http://127.0.0.1:3000';

export async function startTrustLab(): Promise<TerminalTarget & { driver: string }> {
  const child = forkServer('trustlab-server.ts');
  const { port, driver } = await nextMessage(
    child,
    (m): m is { port: number; driver: string } => typeof (m as { port?: unknown })?.port === 'number',
  );
  return {
    name: `TrustLab (${driver})`,
    driver,
    async open(): Promise<TerminalConnection> {
      const answer = nextMessage(
        child,
        (m): m is { type: 'ticket'; ticket: string } => (m as { type?: string })?.type === 'ticket',
      );
      child.send({ type: 'ticket' });
      const { ticket } = await answer;
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
        close: () => void client.close(),
      };
    },
    usage: () => requestUsage(child),
    stop: () => stopChild(child),
  };
}
