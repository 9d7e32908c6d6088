/**
 * Where session facts come from in the running server: the hub's request
 * records, the session's client events (lines from its events socket) and
 * the attendee's home, put together as one SessionFacts.
 */
import { EventEmitter } from 'node:events';
import type { Hub } from '../../hub/src/index.js';
import type { ClientEvent, FactRecordQuery, HubRecord, SessionFacts, TrustDataFacts } from './facts.js';
import { eventFromFields, parseEventLine } from './facts.js';
import type { HomeReader } from './home-reader.js';

/** The part of the hub's records the engine uses (`hub.records`). */
export type RecordSource = Pick<Hub['records'], 'query' | 'on' | 'off'>;

/** The hub answers at most this many records per query (hub/src/records/records.ts). */
const MAX_RECORDS = 10_000;

export interface SessionRecords {
  records(query?: FactRecordQuery): Promise<readonly HubRecord[]>;
  watch(listener: () => void): () => void;
}

/** The records of one session, oldest first, and a signal for each new one. */
export function hubSessionRecords(source: RecordSource, session: string): SessionRecords {
  return {
    records(query = {}) {
      // The hub answers newest first; checks read history forwards.
      const rows = source.query({ ...query, session, limit: MAX_RECORDS });
      return Promise.resolve(rows.slice().reverse());
    },
    watch(listener) {
      const onRecord = (record: HubRecord) => {
        if (record.session === session) listener();
      };
      source.on('record', onRecord);
      return () => source.off('record', onRecord);
    },
  };
}

export interface ClientEventLogOptions {
  /** Most events kept; the oldest are dropped beyond it (a flood from the sandbox cannot grow memory). */
  maxEvents?: number;
  /** The server's clock, which stamps each event on arrival. */
  now?: () => number;
}

/**
 * One session's client events. The terminal server feeds it each line read
 * from the session's events socket; lines that are not a well-formed event
 * are dropped.
 */
export class ClientEventLog extends EventEmitter<{ event: [ClientEvent] }> {
  private readonly entries: ClientEvent[] = [];
  private readonly maxEvents: number;
  private readonly now: () => number;
  private seq = 0;

  constructor(options: ClientEventLogOptions = {}) {
    super();
    this.maxEvents = options.maxEvents ?? 2000;
    this.now = options.now ?? Date.now;
  }

  /** One line as read from the socket. */
  append(line: string): ClientEvent | undefined {
    return this.keep(parseEventLine(line.trim(), this.now(), this.seq + 1));
  }

  /**
   * One event already split and parsed by whoever reads the socket (the
   * terminal server's `clientEvent`), with the server time it arrived at.
   */
  add(fields: unknown, receivedAt: number = this.now()): ClientEvent | undefined {
    return this.keep(eventFromFields(fields, receivedAt, this.seq + 1));
  }

  private keep(event: ClientEvent | undefined): ClientEvent | undefined {
    if (event === undefined) return undefined;
    this.seq = event.seq;
    this.entries.push(event);
    if (this.entries.length > this.maxEvents) this.entries.splice(0, this.entries.length - this.maxEvents);
    this.emit('event', event);
    return event;
  }

  list(): ClientEvent[] {
    return this.entries.slice();
  }
}

export interface SessionFactsParts {
  session: string;
  records: SessionRecords;
  events: ClientEventLog;
  /** Undefined when the session has no home on this server (checks then see no files). */
  home: HomeReader | undefined;
  trustData: (gun: string) => Promise<TrustDataFacts>;
}

export function createSessionFacts(parts: SessionFactsParts): SessionFacts {
  const { session, records, events, home, trustData } = parts;
  return {
    session,
    records: (query) => records.records(query),
    events: () => Promise.resolve(events.list()),
    readHomeFile: (rel) => (home ? home.readFile(rel) : Promise.resolve(undefined)),
    listHomeDir: (rel) => (home ? home.listDir(rel) : Promise.resolve(undefined)),
    trustData,
    watch(listener) {
      const stopRecords = records.watch(listener);
      events.on('event', listener);
      return () => {
        stopRecords();
        events.off('event', listener);
      };
    },
  };
}
