/**
 * A workshop under load, at the protocol level (no browser): N attendees
 * join one workshop and do Tasks 1 to 4 of the content-trust lab in their
 * terminals at once, while the instructor's dashboard stream is read.
 * `bench/workshop.bench.ts` (N=100) and `tests/platform/workshop-load.test.ts`
 * (N=10) both run it.
 *
 * What runs: the platform in this process (`createPlatform`: hub, terminal
 * server, lab engine, progress store), with the bwrap sandbox when this
 * runs as root with bubblewrap (each run with its own runtime root, uid
 * range and cgroup prefix), the local driver otherwise. The web side is
 * the test router of tests/platform/support.ts: the same handlers
 * app/app/api/** delegates to, without Next (no build needed).
 *
 * What it does:
 * 1. signs the instructor in (the password set in Settings) and, for each
 *    phase, creates a workshop (capacity = its attendees) and opens its
 *    dashboard stream (`/api/instructor/workshops/<id>/events`), read
 *    throughout the phase;
 * 2. solo phases first (default 2: a warm-up, then the reference: one
 *    attendee alone, no concurrency), then the load phase: N attendees,
 *    at most `concurrency` at once, started `staggerMs` apart. Each joins
 *    (`POST /api/workshops/join`, its own cookie), reads its hub login from
 *    `GET /api/session`, opens its own lab status stream, a terminal
 *    (ticket + WebSocket), and types: `docker login`, pull busybox, tag,
 *    unsigned push (create-repo), the refused pull with
 *    DOCKER_CONTENT_TRUST=1 (enable-trust), the signed push with the
 *    passphrase variables (push-signed), the pulls of Task 4 with trust
 *    (latest refused, signed pulled) and with --disable-content-trust (both
 *    pulled) (pull-images). Every command's exit status is checked, and a
 *    refused pull must be refused by content trust. After each task's
 *    command the attendee waits for the tick on its own stream;
 * 3. checks, per phase: every task of every attendee done on its own stream
 *    and on the dashboard stream; the dashboard's final state (every
 *    attendee's task states, the totals, the set of attendees) equals the
 *    attendees' own, and a fresh `GET` of the dashboard snapshot says the
 *    same;
 * 4. closes everything, then looks for leftovers (bwrap: cgroups, mounts,
 *    loop devices) and removes its temporary directories.
 *
 * Nothing is swallowed: every failed command, unexpected HTTP answer,
 * terminal close or STATUS, stream ended by the server, platform log line
 * at warn or error level (the local driver's fixed warning aside, listed
 * apart), missed wait and leftover is in `errors`. Waits are event-driven
 * and bounded by `livenessMs` only; nothing here asserts a speed.
 */
import { percentile } from '../hub/stats.js';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { prepareClient } from '../../bin/build.js';
import type { JoinResult, TaskState, WorkshopSnapshot, WorkshopView } from '../../platform/api.js';
import { createPlatform, type Platform } from '../../platform/index.js';
import type { Settings } from '../../platform/settings.js';
import { LOCAL_DRIVER_WARNING } from '../../terminal-server/src/index.js';
import { apiRouter, freePort } from '../../tests/platform/support.js';
import { hasBinary } from '../../tests/support/binaries.js';
import { AttendeeTerminal, call, Changes, cookieOf, SseReader, type SseEvent } from './clients.js';
import { startCpuAccount, type CpuAccount } from './cpu-accounting.js';
import { sweepLeftovers, unmounted } from '../sandbox-leftovers.js';

export const LAB = 'content-trust';
/** The tasks the simulation does, in order; the lab's fifth (yubikey) stays pending. */
export const TASKS = ['create-repo', 'enable-trust', 'push-signed', 'pull-images'] as const;
export type SimulatedTask = (typeof TASKS)[number];
export const WEB_SIDE = 'test router (the API handlers app/app/api/** calls, without Next)';

export interface SimulationOptions {
  /** Attendees of the load phase. */
  attendees: number;
  /** Attendees working at once (default: all). */
  concurrency?: number;
  /** Between two attendees' starts, ms (default 50). */
  staggerMs?: number;
  /** Attendees alone before the load, one after the other; the last is the reference (default 2). */
  soloRuns?: number;
  /** Default: bwrap as root with bubblewrap, else local. */
  sandbox?: 'bwrap' | 'local';
  /** Bound on any one wait for an event (a command's end, a tick, the dashboard), ms (default 180 000). */
  livenessMs?: number;
  /** Stops every wait; the run then cleans up and returns what it has. */
  signal?: AbortSignal;
  /** Progress lines. */
  progress?: (line: string) => void;
}

export interface AttendeeFigures {
  readonly label: string;
  username?: string;
  /** performance.now() when the join request went out, and when the last task ticked on its own stream. */
  joinedAt?: number;
  lastTickAt?: number;
  /** Join to last tick, ms. */
  wallMs?: number;
  /** Milliseconds per step (HTTP calls, terminal opening, each command to its end marker). */
  readonly steps: Record<string, number>;
  /** Command end marker to the tick on the attendee's own stream, ms (negative: the tick came first). */
  readonly tickLatency: Partial<Record<SimulatedTask, number>>;
  readonly ownDoneAt: Partial<Record<SimulatedTask, number>>;
  readonly dashboardDoneAt: Partial<Record<SimulatedTask, number>>;
  /** The error that stopped this attendee, if any (it is in `errors` too). */
  failed?: string;
}

export interface PhaseFigures {
  readonly label: string;
  readonly attendees: AttendeeFigures[];
  /** First join to the last attendee's last tick, ms. */
  wallMs: number;
  /** Own stream to dashboard stream, per tick, ms (negative: the dashboard showed it first). */
  readonly dashboardLagMs: number[];
  /** CPU of this process during the phase, ms. */
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Event-loop delay of this process during the phase, ms. */
  eventLoopDelay: { p50: number; p99: number; max: number };
  /** Dashboard events received (snapshot, attendee, ...). */
  dashboardEvents: number;
}

export interface SimulationResult {
  readonly sandbox: 'bwrap' | 'local';
  readonly webSide: string;
  readonly attendees: number;
  readonly concurrency: number;
  readonly staggerMs: number;
  readonly livenessMs: number;
  readonly solo: PhaseFigures[];
  /** The last solo phase: one attendee alone. */
  reference?: PhaseFigures;
  load?: PhaseFigures;
  readonly errors: string[];
  /** Log lines at warn level that are expected (the local driver's fixed warning). */
  readonly expectedWarnings: string[];
  readonly resources: {
    /** Peak resident set of this process over the whole run (platform + the simulated clients), MiB. */
    peakRssMiB: number;
    /** CPU of this process over the whole run, s. */
    cpuUserS: number;
    cpuSystemS: number;
    /**
     * CPU of every process started during the run (the sandboxes' shells and docker clients, mount,
     * mkfs, losetup), from a cgroup v1 cpuacct group holding this process and its descendants, minus
     * this process's own; read after the platform closed. Undefined where that is not available
     * (not root, no v1 cpuacct hierarchy): see cpu-accounting.ts.
     */
    childrenCpuS: number | undefined;
  };
  /** Whole run, ms: platform start to cleanup done. */
  totalMs: number;
}

interface Phase {
  readonly label: string;
  readonly attendees: number;
  readonly concurrency: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The dashboard as the instructor's page holds it: one entry per attendee, from the snapshot and each change. */
class DashboardState {
  readonly tasks = new Map<string, Record<string, string>>();
  readonly doneAt = new Map<string, Partial<Record<string, number>>>();
  totals: WorkshopSnapshot['totals'] = [];
  events = 0;
  snapshot = false;
  readonly changes = new Changes();

  take(event: SseEvent): void {
    this.events++;
    if (event.event === 'snapshot') {
      const snapshot = event.data as WorkshopSnapshot;
      for (const attendee of snapshot.attendees) this.#entry(attendee.hubUsername, attendee.tasks, event.at);
      this.totals = snapshot.totals;
      this.snapshot = true;
    } else if (event.event === 'attendee') {
      const change = event.data as {
        attendee: WorkshopSnapshot['attendees'][number];
        totals: WorkshopSnapshot['totals'];
      };
      this.#entry(change.attendee.hubUsername, change.attendee.tasks, event.at);
      this.totals = change.totals;
    }
    this.changes.notify();
  }

  #entry(username: string, cells: Readonly<Record<string, { status: string }>>, at: number): void {
    const states: Record<string, string> = {};
    for (const [task, cell] of Object.entries(cells)) states[task] = cell.status;
    this.tasks.set(username, states);
    const done = this.doneAt.get(username) ?? {};
    for (const [task, status] of Object.entries(states)) if (status === 'done') done[task] ??= at;
    this.doneAt.set(username, done);
  }
}

/** An attendee's own lab status stream: the latest states and when each task was first seen done. */
class OwnState {
  states: Record<string, string> = {};
  readonly doneAt: Partial<Record<string, number>> = {};
  received = false;
  readonly changes = new Changes();

  take(event: SseEvent): void {
    if (event.event !== 'tasks') return;
    const states = event.data as TaskState[];
    this.states = Object.fromEntries(states.map((state) => [state.taskId, state.status]));
    for (const state of states) if (state.status === 'done') this.doneAt[state.taskId] ??= event.at;
    this.received = true;
    this.changes.notify();
  }
}

const sameStates = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) =>
  a !== undefined &&
  b !== undefined &&
  Object.keys(a).length === Object.keys(b).length &&
  Object.entries(a).every(([task, status]) => b[task] === status);

const describeStates = (states: Record<string, string> | undefined) =>
  states === undefined
    ? 'none'
    : Object.entries(states)
        .map(([task, status]) => `${task}=${status}`)
        .join(' ');

/** Nearest-rank percentile (bench/hub/stats.ts); NaN for no samples, which a failed run can leave. */
function percentileOf(samples: readonly number[], p: number): number {
  return samples.length === 0 ? NaN : percentile(samples, p);
}
export { percentileOf as percentile };

export async function simulateWorkshop(options: SimulationOptions): Promise<SimulationResult> {
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const progress = options.progress ?? (() => undefined);
  const liveness = options.livenessMs ?? 180_000;
  // One abort listener per pending wait, hundreds at once: an internal signal without the listener limit.
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  if (options.signal?.aborted) stop.abort();
  else options.signal?.addEventListener('abort', () => stop.abort(), { once: true });
  const signal = stop.signal;
  const sandbox =
    options.sandbox ??
    (process.getuid?.() === 0 && hasBinary('bwrap') ? ('bwrap' as const) : ('local' as const));
  const result: SimulationResult = {
    sandbox,
    webSide: WEB_SIDE,
    attendees: options.attendees,
    concurrency: Math.max(1, Math.min(options.concurrency ?? options.attendees, options.attendees)),
    staggerMs: options.staggerMs ?? 50,
    livenessMs: liveness,
    solo: [],
    errors: [],
    expectedWarnings: [],
    resources: { peakRssMiB: 0, cpuUserS: 0, cpuSystemS: 0, childrenCpuS: undefined },
    totalMs: 0,
  };
  const errors = result.errors;
  const problem = (line: string) => {
    errors.push(line);
    progress(`error: ${line}`);
  };

  // Unique names: other platforms (and other runs of this one) may share the machine.
  const runtimeRoot = await mkdtemp(path.join(tmpdir(), 'tl-wl-'));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'trustlab-wl-data-'));
  const slot = process.pid % 40;
  const cgroupPrefix = `trustlab-wl${process.pid}-`;
  const cgroupParent = cgroupPrefix.replace(/-+$/, '');
  const password = randomBytes(18).toString('base64url');
  const closers: Array<() => Promise<void>> = [];
  let platform: Platform | undefined;
  let account: CpuAccount | undefined;
  let cpuAtAccount = cpuAtStart;

  try {
    await prepareClient(true);
    // Not named with the cgroup prefix: the sweep of leftovers must never find this process's group.
    account = await startCpuAccount(`trustlab-wlacct${process.pid}`);
    cpuAtAccount = process.cpuUsage();
    const settings: Settings = {
      dataDir,
      hubPort: await freePort(),
      hubHost: '127.0.0.1',
      hubHostnames: [],
      webPort: 0,
      webHost: '127.0.0.1',
      publicOrigin: undefined,
      sandbox,
      // A workshop refuses the local driver: with it, this is a self-paced platform hosting workshops.
      mode: sandbox === 'bwrap' ? 'workshop' : 'self-paced',
      runtimeDir: undefined,
      instructorPassword: password,
    };
    platform = await createPlatform(settings, {
      web: () => Promise.resolve({ handle: apiRouter }),
      logger: {
        info: () => undefined,
        warn: (line, detail) => {
          if (line === LOCAL_DRIVER_WARNING) result.expectedWarnings.push(line);
          else problem(`platform warning: ${line}${detail === undefined ? '' : `: ${message(detail)}`}`);
        },
        error: (line, error) =>
          problem(`platform error: ${line}${error === undefined ? '' : `: ${message(error)}`}`),
      },
      ...(sandbox === 'bwrap'
        ? {
            bwrap: {
              runtimeRoot,
              uidPool: { first: 240_000 + slot * 1000, last: 240_999 + slot * 1000 },
              cgroup: { prefix: cgroupPrefix },
            },
          }
        : {}),
    });
    const origin = `http://127.0.0.1:${platform.port}`;
    const port = platform.port;
    progress(`platform up: sandbox ${sandbox}, web side: ${WEB_SIDE}`);

    // The instructor signs in.
    const signedIn = await call(origin, '/api/instructor/session', { method: 'POST', body: { password } });
    const instructor = {
      cookie: cookieOf(signedIn),
      csrf: ((await signedIn.json()) as { csrfToken: string }).csrfToken,
    };

    const runPhase = async (phase: Phase): Promise<PhaseFigures> => {
      const cpu = process.cpuUsage();
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const figures: PhaseFigures = {
        label: phase.label,
        attendees: [],
        wallMs: NaN,
        dashboardLagMs: [],
        cpuUserMs: 0,
        cpuSystemMs: 0,
        eventLoopDelay: { p50: NaN, p99: NaN, max: NaN },
        dashboardEvents: 0,
      };
      const created = await call(origin, '/api/instructor/workshops', {
        method: 'POST',
        cookie: instructor.cookie,
        csrf: instructor.csrf,
        expect: [201],
        body: {
          lab: LAB,
          title: `${phase.label} workshop`,
          capacity: phase.attendees,
          startsAt: new Date(Date.now() - 60_000).toISOString(),
          endsAt: new Date(Date.now() + 6 * 3600_000).toISOString(),
        },
      });
      const workshop = ((await created.json()) as { workshop: WorkshopView }).workshop;
      const dashboard = new DashboardState();
      const dashboardStream = await SseReader.open(
        origin,
        `/api/instructor/workshops/${workshop.id}/events`,
        instructor.cookie,
        (event) => dashboard.take(event),
        problem,
        `${phase.label} dashboard stream`,
      );
      closers.push(() => dashboardStream.close());
      await dashboard.changes.wait(
        () => (dashboard.snapshot ? true : undefined),
        liveness,
        () => `${phase.label}: the dashboard stream sent no snapshot`,
        signal,
      );

      const own = new Map<string, OwnState>();
      /** For a tick that never came: the commands the platform knows of (from the client's events). */
      const lastCommands = async (username: string): Promise<string> => {
        try {
          const snapshot = (await (
            await call(origin, `/api/instructor/workshops/${workshop.id}`, { cookie: instructor.cookie })
          ).json()) as WorkshopSnapshot;
          const entry = snapshot.attendees.find((attendee) => attendee.hubUsername === username);
          const commands = (entry?.recentCommands ?? [])
            .map((c) => `${c.command} ${c.reference ?? ''} ${c.outcome}`.replace(/\s+/g, ' '))
            .join(' | ');
          return `the platform's last commands of ${username} (newest first, from client events): ${commands || 'none'}`;
        } catch (error) {
          return `(the snapshot for its last commands failed: ${message(error)})`;
        }
      };
      const runAttendee = async (index: number): Promise<AttendeeFigures> => {
        const label = `${phase.label} attendee ${String(index + 1).padStart(3, '0')}`;
        const figures: AttendeeFigures = {
          label,
          steps: {},
          tickLatency: {},
          ownDoneAt: {},
          dashboardDoneAt: {},
        };
        const state = new OwnState();
        const step = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
          const from = performance.now();
          const value = await work();
          figures.steps[name] = performance.now() - from;
          return value;
        };
        try {
          figures.joinedAt = performance.now();
          const joined = await step('join (POST /api/workshops/join)', () =>
            call(origin, '/api/workshops/join', {
              method: 'POST',
              body: { code: workshop.code, displayName: label.replace(/^\S+ /, '') },
              expect: [201],
            }),
          );
          const cookie = cookieOf(joined);
          const join = (await joined.json()) as JoinResult;
          if (join.workshop.id !== workshop.id || join.rejoined)
            throw new Error(`${label}: the join answered ${JSON.stringify(join)}`);
          const session = (await step('GET /api/session', async () =>
            (await call(origin, '/api/session', { cookie })).json(),
          )) as { username: string; password: string; workshop?: { id: string } };
          if (session.workshop?.id !== workshop.id)
            throw new Error(`${label}: /api/session names workshop ${JSON.stringify(session.workshop)}`);
          const username = session.username;
          figures.username = username;
          own.set(username, state);

          await step('own status stream, first tasks event', async () => {
            const reader = await SseReader.open(
              origin,
              `/api/labs/${LAB}/status`,
              cookie,
              (event) => state.take(event),
              problem,
              `${label}'s status stream`,
            );
            closers.push(() => reader.close());
            await state.changes.wait(
              () => (state.received ? true : undefined),
              liveness,
              () => `${label}: no tasks event on its status stream`,
              signal,
            );
          });
          const terminal = await step('terminal: ticket, WebSocket, first command', async () => {
            const opened = await AttendeeTerminal.open({ origin, port, cookie, label, problem, signal });
            closers.push(() => opened.close());
            await opened.run('stty -echo', 'succeeds', liveness);
            return opened;
          });
          const repo = `${username}/dctrust`;
          const command = (name: string, line: string, refused = false) =>
            step(name, () => terminal.run(line, refused ? 'refused by content trust' : 'succeeds', liveness));
          const ticked = async (task: SimulatedTask, endedAt: number) => {
            let at: number;
            try {
              at = await state.changes.wait(
                () => state.doneAt[task],
                liveness,
                () =>
                  `${label}: ${task} never showed done on its own stream (${describeStates(state.states)})`,
                signal,
              );
            } catch (error) {
              throw new Error(`${message(error)}; ${await lastCommands(username)}`, { cause: error });
            }
            figures.tickLatency[task] = at - endedAt;
          };

          await step('docker login', () => terminal.login(username, session.password, liveness));
          await command('docker pull busybox', 'docker pull busybox');
          await command(
            'docker tag (x2)',
            `docker tag busybox ${repo}:latest && docker tag busybox ${repo}:signed`,
          );
          await ticked(
            'create-repo',
            (await command('docker push (unsigned)', `docker push ${repo}:latest`)).endedAt,
          );
          await command('export DOCKER_CONTENT_TRUST=1', 'export DOCKER_CONTENT_TRUST=1');
          await ticked(
            'enable-trust',
            (await command('docker pull :latest, trust on (refused)', `docker pull ${repo}:latest`, true))
              .endedAt,
          );
          await ticked(
            'push-signed',
            (
              await command(
                'docker push (signed)',
                `DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=root-pass-${index}-123 ` +
                  `DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=repo-pass-${index}-123 docker push ${repo}:signed`,
              )
            ).endedAt,
          );
          await command('docker pull :latest, trust on (refused again)', `docker pull ${repo}:latest`, true);
          await command('docker pull :signed, trust on', `docker pull ${repo}:signed`);
          await command(
            'docker pull --disable-content-trust :latest',
            `docker pull --disable-content-trust ${repo}:latest`,
          );
          await ticked(
            'pull-images',
            (
              await command(
                'docker pull --disable-content-trust :signed',
                `docker pull --disable-content-trust ${repo}:signed`,
              )
            ).endedAt,
          );
          figures.lastTickAt = state.doneAt['pull-images'];
          figures.wallMs = figures.lastTickAt! - figures.joinedAt;
        } catch (error) {
          figures.failed = message(error);
          problem(figures.failed.startsWith(label) ? figures.failed : `${label}: ${figures.failed}`);
        }
        return figures;
      };

      // Attendees: at most `concurrency` at once, started `staggerMs` apart.
      const t0 = performance.now();
      let next = 0;
      let finished = 0;
      const worker = async () => {
        for (;;) {
          const index = next++;
          if (index >= phase.attendees || signal?.aborted) return;
          await sleep(t0 + index * result.staggerMs - performance.now());
          const attendee = await runAttendee(index);
          figures.attendees[index] = attendee;
          finished++;
          if (phase.attendees > 1)
            progress(
              `  ${attendee.label}: ${attendee.failed ? 'FAILED' : `done in ${(attendee.wallMs! / 1000).toFixed(1)} s`} (${finished}/${phase.attendees})`,
            );
        }
      };
      await Promise.all(Array.from({ length: Math.min(phase.concurrency, phase.attendees) }, worker));
      const joined = figures.attendees.filter((a) => a?.username !== undefined);

      // The dashboard must catch up with every attendee, and then agree with each one's own stream.
      for (const attendee of joined) {
        const mine = own.get(attendee.username!)!;
        const allDone = (states: Record<string, string> | undefined) =>
          states !== undefined && TASKS.every((task) => states[task] === 'done');
        try {
          await dashboard.changes.wait(
            () => {
              const shown = dashboard.tasks.get(attendee.username!);
              return sameStates(shown, mine.states) && (attendee.failed !== undefined || allDone(shown))
                ? true
                : undefined;
            },
            attendee.failed === undefined ? liveness : Math.min(liveness, 10_000),
            () =>
              `${attendee.label}: the dashboard shows ${describeStates(dashboard.tasks.get(attendee.username!))}, ` +
              `its own stream ${describeStates(mine.states)}`,
            signal,
          );
        } catch (error) {
          problem(message(error));
        }
        for (const task of TASKS) {
          if (mine.states[task] !== 'done')
            problem(`${attendee.label}: ${task} is ${mine.states[task] ?? 'missing'} on its own stream`);
          if (dashboard.tasks.get(attendee.username!)?.[task] !== 'done')
            problem(`${attendee.label}: ${task} is not done on the dashboard stream`);
          const ownAt = mine.doneAt[task];
          const dashboardAt = dashboard.doneAt.get(attendee.username!)?.[task];
          if (ownAt !== undefined) attendee.ownDoneAt[task] = ownAt;
          if (dashboardAt !== undefined) attendee.dashboardDoneAt[task] = dashboardAt;
          if (ownAt !== undefined && dashboardAt !== undefined)
            figures.dashboardLagMs.push(dashboardAt - ownAt);
        }
      }
      if (joined.length !== phase.attendees)
        problem(`${phase.label}: ${joined.length} of ${phase.attendees} attendees joined and signed in`);
      const usernames = new Set(joined.map((a) => a.username!));
      const shown = [...dashboard.tasks.keys()];
      const extra = shown.filter((name) => !usernames.has(name));
      const missing = [...usernames].filter((name) => !dashboard.tasks.has(name));
      if (extra.length > 0 || missing.length > 0)
        problem(
          `${phase.label}: dashboard attendees differ: extra [${extra.join(', ')}], missing [${missing.join(', ')}]`,
        );
      // Totals as the last dashboard event gave them, against the attendees' own streams.
      for (const { taskId, done } of dashboard.totals) {
        const expected = joined.filter((a) => own.get(a.username!)!.states[taskId] === 'done').length;
        if (done !== expected)
          problem(
            `${phase.label}: dashboard totals say ${done} done ${taskId}, the attendees' streams ${expected}`,
          );
      }
      // A fresh snapshot (what a reloaded dashboard shows) agrees with the stream.
      try {
        const fresh = (await (
          await call(origin, `/api/instructor/workshops/${workshop.id}`, { cookie: instructor.cookie })
        ).json()) as WorkshopSnapshot;
        if (fresh.workshop.attendeeCount !== joined.length)
          problem(
            `${phase.label}: the snapshot counts ${fresh.workshop.attendeeCount} attendees, ${joined.length} joined`,
          );
        for (const attendee of fresh.attendees) {
          const states = Object.fromEntries(
            Object.entries(attendee.tasks).map(([task, cell]) => [task, cell.status]),
          );
          if (!sameStates(states, dashboard.tasks.get(attendee.hubUsername)))
            problem(
              `${phase.label}: ${attendee.hubUsername} is ${describeStates(states)} in a fresh snapshot, ` +
                `${describeStates(dashboard.tasks.get(attendee.hubUsername))} on the stream`,
            );
        }
      } catch (error) {
        problem(`${phase.label}: fresh snapshot: ${message(error)}`);
      }

      const ends = joined.map((a) => a.lastTickAt).filter((at): at is number => at !== undefined);
      figures.wallMs = ends.length > 0 ? Math.max(...ends) - t0 : NaN;
      const used = process.cpuUsage(cpu);
      figures.cpuUserMs = used.user / 1000;
      figures.cpuSystemMs = used.system / 1000;
      delay.disable();
      figures.eventLoopDelay = {
        p50: delay.percentile(50) / 1e6,
        p99: delay.percentile(99) / 1e6,
        max: delay.max / 1e6,
      };
      figures.dashboardEvents = dashboard.events;
      return figures;
    };

    const soloRuns = options.soloRuns ?? 2;
    for (let i = 0; i < soloRuns && !signal?.aborted; i++) {
      const label = i === soloRuns - 1 ? 'reference' : `warm-up${soloRuns > 2 ? ` ${i + 1}` : ''}`;
      progress(`${label}: one attendee alone`);
      const solo = await runPhase({ label, attendees: 1, concurrency: 1 });
      result.solo.push(solo);
      const one = solo.attendees[0];
      progress(`  ${label}: ${one?.wallMs !== undefined ? `${(one.wallMs / 1000).toFixed(1)} s` : 'FAILED'}`);
    }
    result.reference = soloRuns > 0 ? result.solo.at(-1) : undefined;
    if (!signal?.aborted) {
      progress(
        `load: ${options.attendees} attendees, ${result.concurrency} at once, started ${result.staggerMs} ms apart`,
      );
      result.load = await runPhase({
        label: 'load',
        attendees: options.attendees,
        concurrency: result.concurrency,
      });
    }
  } catch (error) {
    problem(`simulation: ${message(error)}`);
  } finally {
    // Pages first (terminals and streams), then the platform, each bounded.
    const settled = await Promise.allSettled(closers.map((close) => close()));
    for (const outcome of settled)
      if (outcome.status === 'rejected') problem(`closing a client: ${message(outcome.reason)}`);
    if (platform !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const closed = await Promise.race([
        platform.close().then(
          () => true,
          (error: unknown) => {
            problem(`platform.close(): ${message(error)}`);
            return true;
          },
        ),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 120_000))),
      ]);
      clearTimeout(timer);
      if (!closed) problem('platform.close() did not finish within 120 s');
    }
    if (account !== undefined) {
      const own = process.cpuUsage(cpuAtAccount);
      result.resources.childrenCpuS = (await account.usedSeconds()) - (own.user + own.system) / 1e6;
      await account.stop();
    }
    if (sandbox === 'bwrap') {
      for (const leftover of await sweepLeftovers({
        dirs: [runtimeRoot, dataDir],
        cgroupPrefix,
        cgroupParent,
      }))
        problem(`left after platform.close(): ${leftover}`);
    }
    // Never delete through a mount: a home image still mounted would lose its files.
    for (const dir of [runtimeRoot, dataDir]) {
      if (await unmounted(dir)) await rm(dir, { recursive: true, force: true });
      else problem(`${dir} kept: it still has mounts`);
    }
    const cpu = process.cpuUsage(cpuAtStart);
    result.resources.peakRssMiB = process.resourceUsage().maxRSS / 1024;
    result.resources.cpuUserS = cpu.user / 1e6;
    result.resources.cpuSystemS = cpu.system / 1e6;
    result.totalMs = performance.now() - started;
  }
  return result;
}
