/**
 * Command events for the lab engine, shared by the lab's `docker` and
 * `notary`: when TRUSTLAB_EVENTS names a unix socket, one JSON line per
 * command is written to it. Best effort: a bounded wait, every error
 * ignored, so a command's result never depends on it. Callers put nothing
 * secret in an event (no credentials, passphrases, tokens or key material).
 */
import net from 'node:net';

export type EventFields = Record<string, string | number | boolean | null | undefined>;

/**
 * Send `{...fields, time}` as one line; resolves when sent, failed or timed out.
 *
 * The line is queued before the connection is made, so it leaves the moment
 * the connection does. The timeout only bounds a listener that never reads:
 * when it fires, the I/O that was ready meanwhile is handled first
 * (setImmediate runs after the poll phase), since a process starved of CPU
 * finds its timer expired and its connection done in the same turn, and
 * the event must not be dropped for that.
 */
export function sendEventLine(
  socketPath: string | undefined,
  fields: EventFields,
  timeoutMs = 1000,
): Promise<void> {
  if (!socketPath) return Promise.resolve();
  const payload: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) payload[key] = value;
  payload.time = new Date().toISOString();
  const line = JSON.stringify(payload) + '\n';
  return new Promise<void>((resolve) => {
    let done = false;
    const socket = net.createConnection(socketPath);
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(() => setImmediate(finish), timeoutMs);
    socket.on('error', finish);
    socket.on('close', finish);
    socket.end(line, finish);
  });
}
