/**
 * Synthetic session facts for tests of checks: records, events, home files
 * and trust data put together by hand, on a clock that only moves forward,
 * so a test can play any sequence, including ones a real client would
 * never produce (forged events, files written by hand).
 */
import type {
  ClientEvent,
  FactRecordQuery,
  HomeEntry,
  HomeFile,
  HubRecord,
  SessionFacts,
  TrustDataFacts,
} from './facts.js';

export type RecordFields = Partial<Omit<HubRecord, 'id' | 'time'>> & Pick<HubRecord, 'method' | 'path'>;
export type EventFields = Partial<Omit<ClientEvent, 'seq' | 'receivedAt'>> & Pick<ClientEvent, 'command'>;

export class FakeSessionFacts implements SessionFacts {
  readonly session: string;
  private readonly log: HubRecord[] = [];
  private readonly eventLog: ClientEvent[] = [];
  private readonly files = new Map<string, HomeFile>();
  private readonly trust = new Map<string, TrustDataFacts>();
  private readonly listeners = new Set<() => void>();
  private clock = 1_700_000_000_000;

  constructor(session = 'session-1') {
    this.session = session;
  }

  /** Moves the clock on (each record and event also moves it by a few ms). */
  wait(ms: number): void {
    this.clock += ms;
  }

  record(fields: RecordFields): HubRecord {
    this.clock += 3;
    const record: HubRecord = {
      id: this.log.length + 1,
      time: this.clock,
      session: this.session,
      account: undefined,
      status: 200,
      repository: undefined,
      reference: undefined,
      digest: undefined,
      gun: undefined,
      role: undefined,
      ...fields,
    };
    this.log.push(record);
    this.changed();
    return record;
  }

  event(fields: EventFields): ClientEvent {
    this.clock += 3;
    const event: ClientEvent = {
      seq: this.eventLog.length + 1,
      receivedAt: this.clock,
      trust: false,
      outcome: 'OK',
      reference: undefined,
      digest: undefined,
      gun: undefined,
      role: undefined,
      ...fields,
    };
    this.eventLog.push(event);
    this.changed();
    return event;
  }

  writeFile(rel: string, content: string | Uint8Array, mode = 0o600): void {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    this.files.set(rel, { size: bytes.length, mode, bytes });
  }

  setTrustData(gun: string, facts: TrustDataFacts): void {
    this.trust.set(gun, facts);
  }

  /** Undefined until `setTokenKeys`: a lab server without YubiKey support. */
  tokenKeys?: () => Promise<readonly string[]>;

  /** The root keys the attendee's paired token says it holds. */
  setTokenKeys(keys: readonly string[]): void {
    this.tokenKeys = () => Promise.resolve(keys.slice());
    this.changed();
  }

  records(query: FactRecordQuery = {}): Promise<readonly HubRecord[]> {
    const since = query.since instanceof Date ? query.since.getTime() : query.since;
    return Promise.resolve(
      this.log.filter(
        (r) =>
          (query.repository === undefined || r.repository === query.repository) &&
          (query.gun === undefined || r.gun === query.gun) &&
          (since === undefined || r.time >= since),
      ),
    );
  }

  events(): Promise<readonly ClientEvent[]> {
    return Promise.resolve(this.eventLog.slice());
  }

  readHomeFile(rel: string): Promise<HomeFile | undefined> {
    return Promise.resolve(this.files.get(rel));
  }

  listHomeDir(rel: string): Promise<readonly HomeEntry[] | undefined> {
    const prefix = `${rel.replace(/\/$/, '')}/`;
    const names = new Map<string, HomeEntry['kind']>();
    for (const path of this.files.keys()) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length).split('/');
      names.set(rest[0]!, rest.length > 1 ? 'directory' : 'file');
    }
    if (names.size === 0) return Promise.resolve(undefined);
    return Promise.resolve(
      [...names].map(([name, kind]) => ({ name, kind })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
  }

  trustData(gun: string): Promise<TrustDataFacts> {
    return Promise.resolve(this.trust.get(gun) ?? { state: 'missing' });
  }

  watch(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
