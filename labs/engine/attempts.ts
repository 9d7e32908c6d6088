/**
 * Cutting a session's hub records into attempts, one per command.
 *
 * The hub cannot tell where one `docker` command ends and the next begins.
 * The client's event, sent when a command ends, can: every record of a
 * command is written before its event arrives, and the next command's
 * records after. So an attempt is the records after the previous event up
 * to this one, labelled with the event that closed it.
 *
 * The event stays a claim: a forged event can only split or label records
 * differently, never add a record. Checks therefore look for the proof in
 * `records` and read `event` only to know which command the attempt was.
 */
import type { ClientEvent, HubRecord } from './facts.js';
import { isManifestPush, isTrustPublish } from './hub-requests.js';

export interface Attempt {
  /** The event that closed the attempt. */
  event: ClientEvent;
  /** The hub's records of the attempt, oldest first. */
  records: readonly HubRecord[];
}

export function attemptsOf(records: readonly HubRecord[], events: readonly ClientEvent[]): Attempt[] {
  const ordered = [...events].sort((a, b) => a.receivedAt - b.receivedAt || a.seq - b.seq);
  const byId = [...records].sort((a, b) => a.id - b.id);
  const attempts: Attempt[] = [];
  let next = 0;
  for (const event of ordered) {
    const inside: HubRecord[] = [];
    while (next < byId.length && byId[next]!.time <= event.receivedAt) inside.push(byId[next++]!);
    attempts.push({ event, records: inside });
  }
  return attempts;
}

/** The first event that arrived at or after `time` (the end of the command running then), if any. */
export function eventClosing(time: number, events: readonly ClientEvent[]): ClientEvent | undefined {
  let best: ClientEvent | undefined;
  for (const event of events) {
    if (event.receivedAt < time) continue;
    if (best === undefined || event.receivedAt < best.receivedAt) best = event;
  }
  return best;
}

export interface PushAttempt {
  /** Position of the manifest PUT in the records given. */
  index: number;
  put: HubRecord;
  /** Whether the command is over: its event arrived, or the session pushed another manifest since. */
  closed: boolean;
  /** The hub accepted new trust data for the GUN before the command was over (`docker push` with trust). */
  signed: boolean;
}

/**
 * Every manifest push of `repository:tag` in `records` (the session's
 * records of that repository, oldest first), and whether it was signed.
 * A signed `docker push` stores the manifest and then publishes trust data
 * in the same command; an unsigned one publishes nothing. A push still
 * running (passphrase prompts can take a while) is not closed yet, so no
 * check can mistake the pause before signing for an unsigned push.
 */
export function pushAttempts(
  records: readonly HubRecord[],
  events: readonly ClientEvent[],
  repository: string,
  gun: string,
  tag: string,
): PushAttempt[] {
  const out: PushAttempt[] = [];
  records.forEach((put, index) => {
    if (!isManifestPush(put, repository, tag)) return;
    const event = eventClosing(put.time, events);
    let end = records.length;
    for (let i = index + 1; i < records.length; i++) {
      const record = records[i]!;
      if (isManifestPush(record, repository) || (event !== undefined && record.time > event.receivedAt)) {
        end = i;
        break;
      }
    }
    const closed = event !== undefined || end < records.length;
    const signed = records.slice(index + 1, end).some((record) => isTrustPublish(record, gun));
    out.push({ index, put, closed, signed });
  });
  return out;
}
