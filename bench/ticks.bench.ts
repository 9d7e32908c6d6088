/**
 * Tick latency: how long after a learner's command finishes does the lab
 * page learn that its task is done? The goal is under 500 ms at p95.
 *
 * The whole platform runs as `npm start` runs it (hub, terminal server with
 * the bwrap sandbox when this runs as root with bubblewrap, the local driver
 * otherwise, lab engine, and the web app's production build, made first if
 * missing). Each learner is opened as the page opens one: a first visit
 * sets the learner cookie, the terminal comes from a ticket and the
 * WebSocket, and the task states from the page's event stream
 * (`/api/labs/content-trust/status`, through Next).
 *
 * Each learner types the workshop's commands. For the four commands that
 * finish a task (the unsigned push, the refused pull with trust on, the
 * signed push, the last pull of tasks 4) the latency is the time from the
 * command's end marker reaching the terminal to the first `tasks` event
 * with that task done. A tick can reach the page before the prompt does
 * (the check runs on the hub's records and the client's event, both
 * complete before the command exits): it then counts as 0 ms and the count
 * of such early ticks is printed.
 *
 * Reference, measured in the same sessions: the round trip of `true` in
 * the same terminal (typed to its end marker), the latency a learner sees
 * for a command that does nothing.
 *
 * Run: npm run bench:ticks   (BENCH_LEARNERS=12, one after the other;
 * BENCH_TIMEOUT_S=900 bound on the whole benchmark)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { APP_DIR, prepareClient, prepareWebApp } from '../bin/build.js';
import { createPlatform, type Platform } from '../platform/index.js';
import { nextWebApp } from '../platform/next-app.js';
import type { Settings } from '../platform/settings.js';
import { TerminalClient } from '../terminal-server/src/index.js';
import { hasBinary } from '../tests/support/binaries.js';
import { percentile } from './hub/stats.js';
import { formatTable } from './support.js';

const LAB = 'content-trust';
const LEARNERS = Number(process.env.BENCH_LEARNERS ?? 12);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 900);
const GOAL_P95_MS = 500;

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The learner's terminal, with the arrival time of every end marker. */
class Terminal {
  text = '';
  readonly markers = new Map<number, { at: number; code: number }>();
  #next = 1;
  readonly #decoder = new TextDecoder();
  client!: TerminalClient;

  static async open(origin: string, port: number, cookie: string): Promise<Terminal> {
    const answer = await fetch(`${origin}/api/terminal/ticket`, {
      method: 'POST',
      headers: { Origin: origin, Cookie: cookie },
    });
    if (answer.status !== 200) throw new Error(`ticket refused: ${answer.status} ${await answer.text()}`);
    const { ticket } = (await answer.json()) as { ticket: string };
    const terminal = new Terminal();
    const take = (data: Uint8Array) => {
      const at = performance.now();
      terminal.text += terminal.#decoder.decode(data, { stream: true });
      // The marker is computed by the shell (`$((n + 1))`), so the echoed command line never matches.
      for (const match of terminal.text.slice(-4096).matchAll(/tick-end-(\d+)-(\d+)/g)) {
        const id = Number(match[1]) - 1;
        if (!terminal.markers.has(id)) terminal.markers.set(id, { at, code: Number(match[2]) });
      }
    };
    terminal.client = await TerminalClient.connect({
      url: `ws://127.0.0.1:${port}/terminal`,
      ticket,
      origin,
      cols: 200,
      rows: 50,
      onReplay: (replay) => take(replay.data),
      onOutput: take,
    });
    return terminal;
  }

  /** Types `command`; resolves with when its end marker arrived. */
  async run(command: string, timeoutMs = 120_000): Promise<number> {
    const id = this.#next++;
    this.client.input(`${command}; echo "tick-end-$((${id} + 1))-$?"\r`);
    const marker = await waitFor(
      () => this.markers.get(id),
      timeoutMs,
      () => `${command} did not finish; the screen ends:\n${this.text.slice(-1500)}`,
    );
    if (marker.code !== 0 && !command.includes('|| true'))
      throw new Error(`${command} exited with ${marker.code}:\n${this.text.slice(-1500)}`);
    return marker.at;
  }

  async answer(prompt: RegExp, text: string, timeoutMs = 60_000): Promise<void> {
    const from = this.text.length;
    await waitFor(
      () => (prompt.test(this.text.slice(from - 200)) ? true : undefined),
      timeoutMs,
      () => `${String(prompt)} never appeared:\n${this.text.slice(-1500)}`,
    );
    this.client.input(`${text}\r`);
  }

  close(): void {
    this.client.close();
  }
}

/** The page's event stream: when each task was first seen done. */
class TaskStream {
  readonly doneAt = new Map<string, number>();
  readonly #controller = new AbortController();

  static async open(origin: string, cookie: string): Promise<TaskStream> {
    const stream = new TaskStream();
    const response = await fetch(`${origin}/api/labs/${LAB}/status`, {
      headers: { Cookie: cookie, 'Sec-Fetch-Site': 'same-origin', Accept: 'text/event-stream' },
      signal: stream.#controller.signal,
    });
    if (response.status !== 200) throw new Error(`status stream refused: ${response.status}`);
    const reader = response.body!.getReader();
    void (async () => {
      const decoder = new TextDecoder();
      let buffered = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          const at = performance.now();
          buffered += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffered.indexOf('\n\n')) !== -1) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            if (/^event: tasks$/m.test(block)) {
              const states = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Array<{
                taskId: string;
                status: string;
              }>;
              for (const state of states)
                if (state.status === 'done' && !stream.doneAt.has(state.taskId))
                  stream.doneAt.set(state.taskId, at);
            }
          }
        }
      } catch {
        // Closed by the benchmark.
      }
    })();
    return stream;
  }

  close(): void {
    this.#controller.abort();
  }
}

interface LearnerResult {
  ticks: Array<{ task: string; latency: number }>;
  noop: number[];
}

async function oneLearner(platform: Platform, origin: string): Promise<LearnerResult> {
  const visit = await fetch(`${origin}/labs/${LAB}`);
  await visit.arrayBuffer();
  const cookie = visit.headers.getSetCookie()[0]?.split(';')[0];
  if (visit.status !== 200 || cookie === undefined) throw new Error(`the lab page answered ${visit.status}`);
  const { learner } = await platform.api.learner(cookie.split('=')[1]);
  const stream = await TaskStream.open(origin, cookie);
  const terminal = await Terminal.open(origin, platform.port, cookie);
  const result: LearnerResult = { ticks: [], noop: [] };
  const repo = `${learner.username}/dctrust`;
  const ticked = async (task: string, finished: number) => {
    const at = await waitFor(
      () => stream.doneAt.get(task),
      30_000,
      () => `${task} never ticked`,
    );
    result.ticks.push({ task, latency: at - finished });
  };
  const noop = async () => {
    const typed = performance.now();
    result.noop.push((await terminal.run('true')) - typed);
  };
  try {
    await terminal.run('stty -echo');
    for (let i = 0; i < 3; i++) await noop();
    terminal.client.input('docker login\r');
    await terminal.answer(/Username: ?$/, learner.username);
    await terminal.answer(/Password: ?$/, learner.password);
    // Type nothing ahead of the prompt: the login reads its answers from the terminal.
    await terminal.answer(/Login Succeeded[\s\S]*\$ $/, 'true');
    await terminal.run('docker pull busybox');
    await terminal.run(`docker tag busybox ${repo}:latest && docker tag busybox ${repo}:signed`);
    await ticked('create-repo', await terminal.run(`docker push ${repo}:latest`));
    await noop();
    await terminal.run('export DOCKER_CONTENT_TRUST=1');
    await ticked('enable-trust', await terminal.run(`docker pull ${repo}:latest || true`));
    await noop();
    await ticked(
      'push-signed',
      await terminal.run(
        `DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=root-pass-123 DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE=repo-pass-123 docker push ${repo}:signed`,
      ),
    );
    await noop();
    await terminal.run(`docker pull ${repo}:latest || true`);
    await terminal.run(`docker pull ${repo}:signed`);
    await terminal.run(`docker pull --disable-content-trust ${repo}:latest`);
    await ticked('pull-images', await terminal.run(`docker pull --disable-content-trust ${repo}:signed`));
    await noop();
    return result;
  } finally {
    terminal.close();
    stream.close();
  }
}

async function main(): Promise<void> {
  await prepareClient(true);
  await prepareWebApp();
  const sandbox = process.getuid?.() === 0 && hasBinary('bwrap') ? 'bwrap' : 'local';
  const dataDir = await mkdtemp(path.join(tmpdir(), 'trustlab-ticks-'));
  const { createServer } = await import('node:net');
  const hubPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const settings: Settings = {
    dataDir,
    hubPort,
    hubHost: '127.0.0.1',
    hubHostnames: [],
    webPort: 0,
    webHost: '127.0.0.1',
    publicOrigin: undefined,
    sandbox,
    mode: 'self-paced',
    runtimeDir: undefined,
  };
  const quiet = { info: () => undefined, warn: () => undefined, error: console.error };
  const platform = await createPlatform(settings, { web: nextWebApp(APP_DIR), logger: quiet });
  const origin = `http://127.0.0.1:${platform.port}`;
  console.log(
    `tick latency: ${LEARNERS} learners, one after the other; sandbox ${sandbox}; web app: Next build`,
  );
  const ticks: Array<{ task: string; latency: number }> = [];
  const noop: number[] = [];
  try {
    for (let i = 0; i < LEARNERS; i++) {
      const result = await oneLearner(platform, origin);
      ticks.push(...result.ticks);
      noop.push(...result.noop);
      process.stdout.write(
        `  learner ${i + 1}: ${result.ticks.map((t) => `${t.task} ${t.latency.toFixed(1)} ms`).join(', ')}\n`,
      );
    }
  } finally {
    await platform.close();
    await rm(dataDir, { recursive: true, force: true });
  }

  const rows: string[][] = [];
  const row = (name: string, samples: number[]) => {
    const clamped = samples.map((value) => Math.max(0, value));
    rows.push([
      name,
      String(samples.length),
      percentile(clamped, 50).toFixed(1),
      percentile(clamped, 95).toFixed(1),
      Math.max(...clamped).toFixed(1),
      String(samples.filter((value) => value < 0).length),
    ]);
  };
  for (const task of ['create-repo', 'enable-trust', 'push-signed', 'pull-images'])
    row(
      `tick: ${task}`,
      ticks.filter((t) => t.task === task).map((t) => t.latency),
    );
  row(
    'tick: all tasks',
    ticks.map((t) => t.latency),
  );
  row('reference: `true` round trip', noop);
  console.log('');
  console.log(formatTable(['measure (ms)', 'n', 'p50', 'p95', 'max', 'before prompt'], rows));
  const p95 = percentile(
    ticks.map((t) => Math.max(0, t.latency)),
    95,
  );
  console.log('');
  console.log(
    `tick latency p95 ${p95.toFixed(1)} ms (goal < ${GOAL_P95_MS} ms: ${p95 < GOAL_P95_MS ? 'met' : 'MISSED'}); ` +
      `reference p95 ${percentile(noop, 95).toFixed(1)} ms`,
  );
}

const bound = setTimeout(() => {
  console.error(`BENCHMARK FAILED (no result): still running after ${TIMEOUT_S} s`);
  process.exit(1);
}, TIMEOUT_S * 1000);
bound.unref();
main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`BENCHMARK FAILED (no result): ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
