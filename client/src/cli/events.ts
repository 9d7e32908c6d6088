/**
 * Command events for the lab engine, shared by the lab's `docker` and
 * `notary`: when TRUSTLAB_EVENTS names a unix socket, one JSON line per
 * command is written to it. Best effort: a short timeout, every error
 * ignored, so a command's result never depends on it. Callers put nothing
 * secret in an event (no credentials, passphrases, tokens or key material).
 */
import net from 'node:net';

export type EventFields = Record<string, string | number | boolean | null | undefined>;

/** Send `{...fields, time}` as one line; resolves when sent, failed or timed out. */
export function sendEventLine(
  socketPath: string | undefined,
  fields: EventFields,
  timeoutMs = 300,
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
    const timer = setTimeout(finish, timeoutMs);
    socket.on('error', finish);
    socket.on('connect', () => socket.end(line, finish));
    socket.on('close', finish);
  });
}
