/**
 * Host uids for attendees. Each home keeps the uid it was first given (the
 * table `homeKey → uid` is saved under the data dir), so the files in the
 * home keep their owner across sessions and server restarts. When every uid
 * of the pool has been handed out, the least recently used home that is not
 * live gives its uid up; that home is re-owned when it next mounts.
 *
 * Invariants:
 * - A uid belongs to at most one home at a time, and a live home's uid is
 *   never reclaimed.
 * - A uid that runs host processes this driver did not start (another
 *   server sharing the pool by mistake, a leftover process) is not handed
 *   out: two attendees must never share a uid.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

import { BwrapDriverError } from './errors.js';
import { processesByUid } from './host.js';

const tableSchema = z.object({
  version: z.literal(1),
  homes: z.record(z.string(), z.object({ uid: z.number().int(), lastUsed: z.number() })),
});

type Table = z.infer<typeof tableSchema>;

export interface UidPoolOptions {
  /** The saved table (JSON, root only). */
  readonly file: string;
  readonly first: number;
  readonly last: number;
  /** Which uids of the pool run host processes (injectable for tests). */
  readonly processesByUid?: (first: number, last: number) => Promise<Map<number, number[]>>;
  readonly now?: () => number;
}

export class UidPool {
  private table: Table | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private saving: Promise<unknown> = Promise.resolve();
  /** Requests made so far, numbered in order. */
  private requests = 0;
  /** The latest scan of host processes, and how many requests had been made when it started. */
  private scan: { readonly after: number; readonly result: Promise<Map<number, number[]>> } | undefined;

  constructor(private readonly options: UidPoolOptions) {}

  /**
   * The uid of `homeKey`, assigned now if it has none. `isLive(key)` says
   * whether a home is in use by a live session of this driver: its uid is
   * neither reclaimed nor checked for foreign processes.
   */
  acquire(homeKey: string, isLive: (homeKey: string) => boolean): Promise<number> {
    const request = ++this.requests;
    const run = this.queue.then(() => this.acquireNow(homeKey, isLive, request));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Host processes by uid, from a scan that started after `request` was
   * made. Requests queued together (many attendees connecting at once)
   * share one scan instead of reading all of /proc once each.
   */
  private busyUids(request: number): Promise<Map<number, number[]>> {
    if (this.scan === undefined || this.scan.after < request) {
      const { first, last } = this.options;
      this.scan = {
        after: this.requests,
        result: (this.options.processesByUid ?? processesByUid)(first, last),
      };
      const current = this.scan;
      current.result.catch(() => {
        if (this.scan === current) this.scan = undefined;
      });
    }
    return this.scan.result;
  }

  private async acquireNow(
    homeKey: string,
    isLive: (homeKey: string) => boolean,
    request: number,
  ): Promise<number> {
    const table = await this.load();
    const { first, last } = this.options;
    const now = (this.options.now ?? Date.now)();
    if (isLive(homeKey)) {
      const entry = table.homes[homeKey];
      if (entry) return entry.uid;
    }
    const busy = await this.busyUids(request);
    const existing = table.homes[homeKey];
    if (existing && existing.uid >= first && existing.uid <= last) {
      const pids = busy.get(existing.uid);
      if (pids) {
        throw new BwrapDriverError(
          'UID_IN_USE',
          `uid ${existing.uid} of home ${homeKey} runs processes this driver did not start (pids ${pids.join(' ')})`,
          { suggestion: 'Give each lab server its own uid pool, and stop leftover sandbox processes.' },
        );
      }
      existing.lastUsed = now;
      this.saveBehind(table);
      return existing.uid;
    }
    const taken = new Set(Object.values(table.homes).map((entry) => entry.uid));
    let uid: number | undefined;
    for (let candidate = first; candidate <= last; candidate += 1) {
      if (!taken.has(candidate) && !busy.has(candidate)) {
        uid = candidate;
        break;
      }
    }
    if (uid === undefined) {
      const reclaimable = Object.entries(table.homes)
        .filter(([key, entry]) => !isLive(key) && key !== homeKey && !busy.has(entry.uid))
        .filter(([, entry]) => entry.uid >= first && entry.uid <= last)
        .sort(([, a], [, b]) => a.lastUsed - b.lastUsed);
      const oldest = reclaimable[0];
      if (oldest === undefined) {
        throw new BwrapDriverError(
          'UID_POOL_EXHAUSTED',
          `all ${last - first + 1} uids of the pool ${first}-${last} belong to live sessions`,
          { suggestion: 'Enlarge uidPool in the terminal server configuration, or end idle sessions.' },
        );
      }
      delete table.homes[oldest[0]];
      uid = oldest[1].uid;
    }
    table.homes[homeKey] = { uid, lastUsed: now };
    this.saveBehind(table);
    return uid;
  }

  /**
   * Saves without making the attendee wait: the write shares the thread
   * pool with every other step of their sandbox's start and took tens of
   * milliseconds on a busy host. Losing it to a crash is harmless: the
   * uids of a lost assignment are handed out again, and a home whose uid
   * changed is re-owned when it next mounts (home.ts), before anything runs
   * in it. A failed save is retried by the next one, which writes the
   * whole table; `flush` waits for them.
   */
  private saveBehind(table: Table): void {
    this.save(table).catch(() => undefined);
  }

  private async load(): Promise<Table> {
    if (this.table) return this.table;
    let text: string | undefined;
    try {
      text = await readFile(this.options.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (text === undefined) {
      this.table = { version: 1, homes: {} };
    } else {
      try {
        this.table = tableSchema.parse(JSON.parse(text));
      } catch (error) {
        throw new BwrapDriverError('INVALID_CONFIG', `the uid table ${this.options.file} is not readable`, {
          cause: error,
          suggestion:
            'Restore the file from a backup, or remove it: homes are re-owned when they next mount.',
        });
      }
    }
    return this.table;
  }

  /** Waits until the table as it is now has been written. */
  async flush(): Promise<void> {
    await this.saving;
  }

  /** Writes the table as it is now, after any save still in progress (so the last one wins). */
  private save(table: Table): Promise<void> {
    const text = `${JSON.stringify(table, null, 2)}\n`;
    const run = this.saving.then(async () => {
      await mkdir(path.dirname(this.options.file), { recursive: true, mode: 0o700 });
      const temporary = `${this.options.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, text, { mode: 0o600 });
        await rename(temporary, this.options.file);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    });
    this.saving = run.catch(() => undefined);
    return run;
  }
}
