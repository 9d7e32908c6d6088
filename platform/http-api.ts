/**
 * The logic behind app/app/api/**: Web Request in, Response out, so Next's
 * route handlers stay one line each and this is tested without Next.
 *
 * Who may call what:
 * - every route but health checks `Host` against the app's own names (DNS
 *   rebinding: a page on another site, resolved to this address, must not
 *   reach the API, even though the cookie would not follow it);
 * - state-changing routes (POST) need an `Origin` that is one of the app's
 *   origins: browsers send it on every cross-origin and same-origin POST,
 *   so a missing one is refused too (CSRF);
 * - reads that return a learner's data (their login, their task stream)
 *   refuse a `Sec-Fetch-Site` other than same-origin or none, and an
 *   `Origin` from elsewhere;
 * - everything about a learner needs their cookie, and none of these routes
 *   creates a learner: pages under /labs/ have set the cookie already.
 * Answers carrying anything of the learner's are `no-store`.
 */
import { isTerminalError } from '../terminal-server/src/index.js';
import type { Learner, PlatformApi, PlatformHttp, TaskState } from './api.js';
import type { RequestPolicy } from './request-policy.js';
import { learnerTokenFrom } from './learners.js';

/** A comment line every so often keeps proxies and browsers from closing an idle stream. */
export const SSE_HEARTBEAT_MS = 15_000;
/** How long a browser waits before reconnecting a dropped stream. */
const SSE_RETRY_MS = 3000;

export interface HttpApiDeps {
  api: Omit<PlatformApi, 'http'>;
  policy: RequestPolicy;
  /** The learner holding the cookie token; never creates one. */
  findLearner(token: string | undefined): Promise<Learner | undefined>;
  heartbeatMs?: number;
}

type ErrorCode =
  'FORBIDDEN_HOST' | 'CROSS_ORIGIN' | 'NO_LEARNER' | 'UNKNOWN_LAB' | 'UNAVAILABLE' | 'METHOD_NOT_ALLOWED';

const NO_STORE = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...NO_STORE, ...headers },
  });
}

function refuse(
  status: number,
  code: ErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return json(status, { error: { code, message } }, headers);
}

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  // no-transform: compression (Next's included) would hold events back to fill a block.
  'Cache-Control': 'no-store, no-transform',
  'X-Accel-Buffering': 'no',
  'X-Content-Type-Options': 'nosniff',
};

interface TaskStreamSource {
  subscribe(listener: (states: readonly TaskState[]) => void): () => void;
  snapshot(): Promise<readonly TaskState[]>;
  heartbeatMs: number;
  /** The client went away. */
  signal: AbortSignal;
  /** Keeps `ending` to call at shutdown; returns its removal. */
  register(ending: () => void): () => void;
}

/**
 * One learner's task states as Server-Sent Events: `retry`, then a `tasks`
 * event with every state, then one per change, a comment line as heartbeat,
 * and `end` when the platform stops. Everything it holds (subscription,
 * timer, listeners) is released once, whichever way it ends: the client
 * leaves, the reader cancels, or the platform stops.
 */
function taskStream(source: TaskStreamSource): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let release = () => {};
  return new ReadableStream<Uint8Array>({
    start(controller) {
      let open = true;
      const send = (text: string) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          release();
        }
      };
      const sendStates = (states: readonly TaskState[]) =>
        send(`event: tasks\ndata: ${JSON.stringify(states)}\n\n`);
      // Subscribed before the snapshot is read, so no change falls between them.
      const unsubscribe = source.subscribe(sendStates);
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), source.heartbeatMs);
      const onAbort = () => release();
      const unregister = source.register(() => {
        // Said, so that the page does not take the end for a network failure.
        send('event: end\ndata: {}\n\n');
        release();
      });
      release = () => {
        if (!open) return;
        open = false;
        unsubscribe();
        clearInterval(heartbeat);
        source.signal.removeEventListener('abort', onAbort);
        unregister();
        try {
          controller.close();
        } catch {
          // The reader cancelled first.
        }
      };
      source.signal.addEventListener('abort', onAbort);
      if (source.signal.aborted) return release();
      send(`retry: ${SSE_RETRY_MS}\n\n`);
      source.snapshot().then(sendStates, () => release());
    },
    cancel() {
      release();
    },
  });
}

export interface OpenStreams {
  /** Ends every open event stream (the platform is stopping). */
  closeAll(): void;
  readonly size: number;
}

export function createHttpApi(deps: HttpApiDeps): PlatformHttp & { streams: OpenStreams } {
  const { api, policy } = deps;
  const heartbeatMs = deps.heartbeatMs ?? SSE_HEARTBEAT_MS;
  const stops = new Set<() => void>();

  /** Host, then the origin rule for the method; a Response when refused. */
  function guard(request: Request, kind: 'read' | 'write'): Response | undefined {
    if (!policy.hostAllowed(request.headers.get('host'))) {
      return refuse(403, 'FORBIDDEN_HOST', 'this address is not one the lab is served on');
    }
    const origin = request.headers.get('origin');
    const site = request.headers.get('sec-fetch-site');
    if (kind === 'write' && (origin === null || !policy.originAllowed(origin))) {
      return refuse(403, 'CROSS_ORIGIN', 'this request must come from the lab page itself');
    }
    if (origin !== null && !policy.originAllowed(origin)) {
      return refuse(403, 'CROSS_ORIGIN', 'this request must come from the lab page itself');
    }
    if (site !== null && site !== 'same-origin' && site !== 'none') {
      return refuse(403, 'CROSS_ORIGIN', 'this request must come from the lab page itself');
    }
    return undefined;
  }

  async function learnerOf(request: Request): Promise<Learner | Response> {
    const learner = await deps.findLearner(learnerTokenFrom(request.headers.get('cookie')));
    return learner ?? refuse(401, 'NO_LEARNER', 'no learner session: open the lab page first');
  }

  function method(request: Request, expected: 'GET' | 'POST'): Response | undefined {
    const allowed = expected === 'GET' ? ['GET', 'HEAD'] : ['POST'];
    return allowed.includes(request.method)
      ? undefined
      : refuse(405, 'METHOD_NOT_ALLOWED', `use ${expected}`, { Allow: allowed.join(', ') });
  }

  return {
    health(_request) {
      const health = api.health();
      return json(health.ok ? 200 : 503, health);
    },

    async terminalTicket(request) {
      const refused = method(request, 'POST') ?? guard(request, 'write');
      if (refused) return refused;
      const learner = await learnerOf(request);
      if (learner instanceof Response) return learner;
      try {
        return json(200, api.terminalTicket(learner));
      } catch (error) {
        if (isTerminalError(error)) {
          // Shutting down, or too many tickets outstanding: both pass.
          return refuse(503, 'UNAVAILABLE', 'the terminal cannot be opened right now; try again shortly', {
            'Retry-After': '2',
          });
        }
        throw error;
      }
    },

    async labStatus(request, labId) {
      const refused = method(request, 'GET') ?? guard(request, 'read');
      if (refused) return refused;
      const learner = await learnerOf(request);
      if (learner instanceof Response) return learner;
      if (!api.labs().some((lab) => lab.id === labId)) return refuse(404, 'UNKNOWN_LAB', `no lab ${labId}`);
      if (request.method === 'HEAD') return new Response(null, { status: 200, headers: SSE_HEADERS });
      const stream = taskStream({
        subscribe: (listener) => api.watchTasks(labId, learner, listener),
        snapshot: () => api.taskStates(labId, learner),
        heartbeatMs,
        signal: request.signal,
        register: (ending) => {
          stops.add(ending);
          return () => stops.delete(ending);
        },
      });
      return new Response(stream, { status: 200, headers: SSE_HEADERS });
    },

    async labCheck(request, labId) {
      const refused = method(request, 'POST') ?? guard(request, 'write');
      if (refused) return refused;
      const learner = await learnerOf(request);
      if (learner instanceof Response) return learner;
      if (!api.labs().some((lab) => lab.id === labId)) return refuse(404, 'UNKNOWN_LAB', `no lab ${labId}`);
      return json(200, { tasks: await api.recheck(labId, learner) });
    },

    async session(request) {
      const refused = method(request, 'GET') ?? guard(request, 'read');
      if (refused) return refused;
      const learner = await learnerOf(request);
      if (learner instanceof Response) return learner;
      return json(200, { username: learner.username, password: learner.password });
    },

    streams: {
      closeAll() {
        for (const ending of [...stops]) ending();
      },
      get size() {
        return stops.size;
      },
    },
  };
}
