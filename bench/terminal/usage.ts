/**
 * CPU time, memory and event-loop delay of a benchmark's server process, on
 * its parent's request over the fork IPC channel. Both servers in the
 * terminal benchmark answer the same way, so their figures are taken
 * identically.
 *
 * The event-loop delay (perf_hooks' histogram, 1 ms resolution) says how
 * long the server could not run a callback it was due to run: the time a
 * keystroke may wait before it is even looked at; garbage collection pauses
 * are one cause, reported beside it. Both cover the span since the previous
 * request that asked for `reset`.
 */
import { readFileSync } from 'node:fs';
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

export interface UsageReport {
  type: 'usage';
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssBytes: number;
  /** Memory the JavaScript heap has reserved, used or not. */
  heapTotalBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  /** Resident memory of the JavaScript heap's spaces, live objects and free space alike. */
  heapResidentBytes: number;
  /** Event-loop delay since the last reset: 99th percentile and maximum, milliseconds. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Garbage collection pauses since the last reset: their total and the longest, milliseconds. */
  gcPauseTotalMs: number;
  gcPauseMaxMs: number;
  /** Read and write system calls since the process started (Linux /proc/self/io; 0 elsewhere). */
  readCalls: number;
  writeCalls: number;
}

function systemCalls(): { readCalls: number; writeCalls: number } {
  try {
    const io = readFileSync('/proc/self/io', 'utf8');
    return {
      readCalls: Number(/^syscr: (\d+)$/m.exec(io)?.[1] ?? 0),
      writeCalls: Number(/^syscw: (\d+)$/m.exec(io)?.[1] ?? 0),
    };
  } catch {
    return { readCalls: 0, writeCalls: 0 };
  }
}

export interface UsageRequest {
  type: 'usage';
  /** Run a full GC first (for memory figures; it would show up as a delay otherwise). */
  gc?: boolean;
  /** Start a new event-loop delay window after answering. */
  reset?: boolean;
}

export function answerUsageRequests(): void {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const gc = { totalMs: 0, maxMs: 0 };
  new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) {
      gc.totalMs += entry.duration;
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', async (message: Partial<UsageRequest>) => {
    if (message?.type !== 'usage') return;
    // Read before a GC, whose pause would otherwise count as the server's.
    const loopDelayP99Ms = delay.count > 0 ? delay.percentile(99) / 1e6 : 0;
    const loopDelayMaxMs = delay.count > 0 ? delay.max / 1e6 : 0;
    const { totalMs: gcPauseTotalMs, maxMs: gcPauseMaxMs } = gc;
    const collect = (globalThis as { gc?: () => void }).gc;
    if (message.gc && collect) {
      collect();
      collect();
      // V8 hands the pages a collection emptied back to the system from a background thread;
      // read RSS once it has, or it swings by megabytes with the timing.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const report: UsageReport = {
      type: 'usage',
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBytes: memory.rss,
      heapTotalBytes: memory.heapTotal,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external + memory.arrayBuffers,
      heapResidentBytes: getHeapSpaceStatistics().reduce((sum, space) => sum + space.physical_space_size, 0),
      loopDelayP99Ms,
      loopDelayMaxMs,
      gcPauseTotalMs,
      gcPauseMaxMs,
      ...systemCalls(),
    };
    if (message.reset) {
      delay.reset();
      gc.totalMs = 0;
      gc.maxMs = 0;
    }
    process.send?.(report);
  });
}
