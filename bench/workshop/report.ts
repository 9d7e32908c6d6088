/** The simulation's figures as tables (bench/workshop.bench.ts prints them). */
import { formatTable } from '../support.js';
import {
  percentile,
  TASKS,
  type AttendeeFigures,
  type PhaseFigures,
  type SimulationResult,
} from './simulate.js';

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

function row(
  name: string,
  load: readonly number[],
  alone: readonly number[],
  scale: number,
  digits: number,
): string[] {
  const loadP50 = percentile(load, 50);
  const aloneP50 = percentile(alone, 50);
  return [
    name,
    String(load.length),
    fixed(loadP50 / scale, digits),
    fixed(percentile(load, 95) / scale, digits),
    fixed(load.length > 0 ? Math.max(...load) / scale : NaN, digits),
    fixed(aloneP50 / scale, digits),
    alone.length > 0 && aloneP50 > 0 ? fixed(loadP50 / aloneP50, 2) : '-',
  ];
}

const done = (phase: PhaseFigures | undefined): AttendeeFigures[] =>
  (phase?.attendees ?? []).filter((a) => a !== undefined && a.failed === undefined);

export function formatReport(result: SimulationResult): string {
  const load = done(result.load);
  const alone = done(result.reference);
  const lines: string[] = [];
  const header = ['measure', 'n', 'p50', 'p95', 'max', 'alone', 'load p50 / alone'];

  const perAttendee: string[][] = [
    row(
      'join -> last tick',
      load.map((a) => a.wallMs!),
      alone.map((a) => a.wallMs!),
      1000,
      2,
    ),
  ];
  const steps = Object.keys(load[0]?.steps ?? alone[0]?.steps ?? {});
  for (const step of steps)
    perAttendee.push(
      row(
        `  ${step}`,
        load.map((a) => a.steps[step]!).filter((v) => v !== undefined),
        alone.map((a) => a.steps[step]!).filter((v) => v !== undefined),
        1000,
        2,
      ),
    );
  lines.push('Per attendee (seconds; a step is from typing to the end marker, ticks waited for apart):');
  lines.push(formatTable(header, perAttendee));
  lines.push('');

  const ticks: string[][] = [];
  const latency = (phase: AttendeeFigures[], task?: string) =>
    phase.flatMap((a) =>
      (task === undefined ? [...TASKS] : [task as (typeof TASKS)[number]])
        .map((t) => a.tickLatency[t])
        .filter((v): v is number => v !== undefined)
        .map((v) => Math.max(0, v)),
    );
  for (const task of TASKS) ticks.push(row(`tick ${task}`, latency(load, task), latency(alone, task), 1, 1));
  ticks.push(row('tick, all four tasks', latency(load), latency(alone), 1, 1));
  ticks.push(
    row(
      'dashboard lag (own stream -> dashboard)',
      result.load?.dashboardLagMs ?? [],
      result.reference?.dashboardLagMs ?? [],
      1,
      1,
    ),
  );
  lines.push(
    "Ticks (ms): command end marker -> the task done on the attendee's own stream (before the prompt counts 0);",
  );
  lines.push('dashboard lag: when the own stream showed a tick -> when the dashboard stream showed it.');
  lines.push(formatTable(header, ticks));
  const early = (result.load?.dashboardLagMs ?? []).filter((v) => v < 0).length;
  if (early > 0) lines.push(`(the dashboard showed ${early} ticks before the attendee's own stream did)`);
  lines.push('');

  const phase = result.load;
  if (phase !== undefined) {
    const tickCount = load.length * TASKS.length;
    const wallS = phase.wallMs / 1000;
    lines.push(`total wall time, first join -> last attendee's last tick: ${fixed(wallS, 1)} s`);
    lines.push(
      `throughput: ${fixed((load.length / wallS) * 60, 1)} attendees/min, ${fixed(tickCount / wallS, 2)} ticks/s ` +
        `(${load.length} attendees done, ${tickCount} ticks)`,
    );
    lines.push(
      `this process (platform + simulated clients), load phase: CPU ${fixed((phase.cpuUserMs + phase.cpuSystemMs) / 1000, 1)} s ` +
        `(user ${fixed(phase.cpuUserMs / 1000, 1)}, system ${fixed(phase.cpuSystemMs / 1000, 1)}), ` +
        `${fixed((phase.cpuUserMs + phase.cpuSystemMs) / phase.wallMs, 2)} cores on average; ` +
        `event-loop delay p50 ${fixed(phase.eventLoopDelay.p50, 1)} ms, p99 ${fixed(phase.eventLoopDelay.p99, 1)} ms, ` +
        `max ${fixed(phase.eventLoopDelay.max, 1)} ms; dashboard events ${phase.dashboardEvents}`,
    );
  }
  const ref = result.reference;
  if (ref !== undefined)
    lines.push(
      `this process, reference phase (one attendee alone): CPU ${fixed((ref.cpuUserMs + ref.cpuSystemMs) / 1000, 1)} s; ` +
        `event-loop delay p99 ${fixed(ref.eventLoopDelay.p99, 1)} ms`,
    );
  const r = result.resources;
  lines.push(
    `this process, whole run: peak RSS ${fixed(r.peakRssMiB, 0)} MiB, CPU ${fixed(r.cpuUserS + r.cpuSystemS, 1)} s ` +
      `(user ${fixed(r.cpuUserS, 1)}, system ${fixed(r.cpuSystemS, 1)})`,
  );
  lines.push(
    `sandboxes and helpers, whole run (CPU of every process started: shells, docker clients, mount/mkfs/losetup; ` +
      `solo phases included; cgroup cpuacct): ${r.childrenCpuS === undefined ? 'not available' : `${fixed(r.childrenCpuS, 1)} s`}`,
  );
  lines.push(`whole run, platform start to clean-up done: ${fixed(result.totalMs / 1000, 1)} s`);
  return lines.join('\n');
}
