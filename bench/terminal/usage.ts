/**
 * CPU time and memory of a benchmark's server process, on its parent's
 * request over the fork IPC channel. Both servers in the terminal benchmark
 * answer the same way, so their figures are taken identically.
 */
export interface UsageReport {
  type: 'usage';
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
}

export function answerUsageRequests(): void {
  process.on('message', (message: { type?: string }) => {
    if (message?.type !== 'usage') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc) {
      gc();
      gc();
    }
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const report: UsageReport = {
      type: 'usage',
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external + memory.arrayBuffers,
    };
    process.send?.(report);
  });
}
