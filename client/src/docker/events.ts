/**
 * Command events for the lab engine: after each command, when
 * TRUSTLAB_EVENTS names a unix socket, one JSON line
 * `{command, trust, outcome, reference, digest?, time}` is sent to it.
 * Best effort (client/src/cli/events.ts, shared with `notary`): a short
 * timeout, errors ignored, the command's result never depends on it. Nothing secret goes in (no credentials, passphrases or
 * tokens: only what the command was about and how it ended).
 */
import { sendEventLine } from '../cli/events.js';

export type EventOutcome =
  | 'OK'
  | 'LOGGED_IN'
  | 'LOGGED_OUT'
  | 'PULLED'
  | 'VERIFIED'
  | 'PUSHED'
  | 'SIGNED'
  | 'TAGGED'
  | 'REMOVED'
  | 'TRUST_DATA_MISSING'
  | 'TAG_NOT_SIGNED'
  | 'TAMPERED'
  | 'TRUST_ERROR'
  | 'UNSUPPORTED'
  | 'ERROR';

export interface CommandEvent {
  command: string;
  trust: boolean;
  outcome: EventOutcome;
  reference?: string;
  digest?: string;
}

/** One line `{command, trust, outcome, reference, digest?, time}` through the shared sender. */
export function sendEvent(
  socketPath: string | undefined,
  event: CommandEvent,
  timeoutMs?: number,
): Promise<void> {
  return sendEventLine(
    socketPath,
    {
      command: event.command,
      trust: event.trust,
      outcome: event.outcome,
      reference: event.reference ?? null,
      digest: event.digest,
    },
    timeoutMs,
  );
}
