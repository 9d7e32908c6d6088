/**
 * Session facts: everything a check may look at, behind one interface, so
 * the engine does no I/O of its own and checks are plain functions that
 * tests drive with synthetic facts.
 *
 * How far each kind of fact is believed:
 * - hub records: what the lab's hub answered, attributed to the session by
 *   the server. Authoritative: the proof behind every check.
 * - client events: what `docker`/`notary` in the sandbox report after each
 *   command. The attendee can write to the same socket, so an event is a
 *   claim: checks use events only to cut the records into attempts (one per
 *   command) and to word their messages, never as proof on their own.
 * - home files: the attendee's files as the server reads them. The attendee
 *   controls them, so they only confirm what the records already prove.
 * - trust data: the hub's stored trust data for a GUN, verified with
 *   trust-core by the caller.
 */
import { z } from 'zod';
import type { RecordQuery, RequestRecord } from '../../hub/src/index.js';

/** One request the hub answered (hub/src/records/records.ts). */
export type HubRecord = RequestRecord;

/** A query on the session's own records; the session itself is fixed by the facts. */
export type FactRecordQuery = Pick<RecordQuery, 'repository' | 'gun' | 'since'>;

export interface ClientEvent {
  /** Arrival order in the session's event log. */
  seq: number;
  /**
   * Server clock (ms) when the line arrived on the session's events socket.
   * The client's own `time` is not used: the sandbox's word and clock are
   * not the server's.
   */
  receivedAt: number;
  command: string;
  /** Whether content trust was used (docker's events; notary's have none). */
  trust: boolean | undefined;
  /** Outcome code, e.g. `PUSHED`, `SIGNED`, `VERIFIED`, `TRUST_DATA_MISSING`, `TAG_NOT_SIGNED`. */
  outcome: string;
  reference: string | undefined;
  digest: string | undefined;
  /** notary's events: the GUN and role the command was about. */
  gun: string | undefined;
  role: string | undefined;
}

export interface HomeFile {
  size: number;
  /** Permission bits (`0o600`). */
  mode: number;
  bytes: Uint8Array;
}

export interface HomeEntry {
  name: string;
  kind: 'file' | 'directory' | 'symlink' | 'other';
}

/** A tag as `docker pull` with content trust would resolve it. */
export interface VerifiedTarget {
  name: string;
  /** `targets` or `targets/releases`. */
  role: string;
  /** `sha256:<hex>` of the signed manifest. */
  digest: string;
  length: number;
}

export type TrustDataFacts =
  | { state: 'missing' }
  | { state: 'invalid'; reason: string }
  | {
      state: 'verified';
      targets: readonly VerifiedTarget[];
      /** Key IDs as notary names key files (`<id>.key`): for root, the ID of the key in the certificate. */
      rootKeyIds: readonly string[];
      targetsKeyIds: readonly string[];
    };

export interface SessionFacts {
  readonly session: string;
  /** The session's hub records matching `query`, oldest first. */
  records(query?: FactRecordQuery): Promise<readonly HubRecord[]>;
  /** The session's client events, in arrival order. */
  events(): Promise<readonly ClientEvent[]>;
  /** A regular file under the attendee's home (`rel` relative to it), or undefined when absent or refused. */
  readHomeFile(rel: string): Promise<HomeFile | undefined>;
  /** The entries of a directory under the home, or undefined when absent or refused. */
  listHomeDir(rel: string): Promise<readonly HomeEntry[] | undefined>;
  /** The hub's trust data for `gun`, verified. */
  trustData(gun: string): Promise<TrustDataFacts>;
  /**
   * Canonical IDs of the root keys the attendee's paired token (their
   * YubiKey, through their helper) answered that it holds: the lab server
   * heard it from the token's side, not from the sandbox.
   */
  tokenKeys?(): Promise<readonly string[]>;
  /** Calls `listener` when new facts may have arrived (records or events of this session). */
  watch?(listener: () => void): () => void;
}

/** Longest event line accepted; the client's are well under 1 KiB. */
export const MAX_EVENT_LINE = 4096;

const shortText = (max: number) => z.string().max(max);

/** The wire format of client/src/cli/events.ts, checked field by field (the line comes from the sandbox). */
const eventLineSchema = z.object({
  command: shortText(100).min(1),
  trust: z.boolean().optional(),
  outcome: z.string().regex(/^[A-Z][A-Z_]{0,39}$/),
  reference: shortText(512).nullable().optional(),
  digest: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .optional(),
  gun: shortText(512).nullable().optional(),
  role: shortText(200).nullable().optional(),
});

/** Check one event as parsed from its line (e.g. handed on by the terminal server); undefined when malformed. */
export function eventFromFields(value: unknown, receivedAt: number, seq: number): ClientEvent | undefined {
  const parsed = eventLineSchema.safeParse(value);
  if (!parsed.success) return undefined;
  const fields = parsed.data;
  return {
    seq,
    receivedAt,
    command: fields.command,
    trust: fields.trust,
    outcome: fields.outcome,
    reference: fields.reference ?? undefined,
    digest: fields.digest,
    gun: fields.gun ?? undefined,
    role: fields.role ?? undefined,
  };
}

/** Parse one line from the events socket; undefined for anything malformed. */
export function parseEventLine(line: string, receivedAt: number, seq: number): ClientEvent | undefined {
  if (line.length > MAX_EVENT_LINE) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  return eventFromFields(value, receivedAt, seq);
}
