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
 *   creates a learner: pages under /labs/ have set the cookie already (the
 *   one exception is joining a workshop, platform/workshops/http.ts, which
 *   also holds the instructor's routes and their rules).
 * Answers carrying anything of the learner's are `no-store`.
 */
import { isTerminalError } from '../terminal-server/src/index.js';
import type { Learner, PlatformApi, PlatformHttp } from './api.js';
import { eventStream, OpenStreams, SSE_HEADERS, SSE_HEARTBEAT_MS, type StreamEvent } from './event-stream.js';
import { json, methodRefusal, originRefusal, refuse } from './http-answers.js';
import { learnerTokenFrom } from './learners.js';
import type { RequestPolicy } from './request-policy.js';
import { PlatformError } from './errors.js';
import { createWorkshopHttp, type WorkshopHttpDeps } from './workshops/index.js';

export { OpenStreams, SSE_HEARTBEAT_MS } from './event-stream.js';

export interface HttpApiDeps {
  api: Omit<PlatformApi, 'http'>;
  policy: RequestPolicy;
  /** The learner holding the cookie token; never creates one. */
  findLearner(token: string | undefined): Promise<Learner | undefined>;
  /** The instructor's and attendees' routes (platform/workshops/http.ts). */
  workshops: Omit<WorkshopHttpDeps, 'policy' | 'streams' | 'heartbeatMs' | 'findLearner'>;
  heartbeatMs?: number;
}

export function createHttpApi(deps: HttpApiDeps): PlatformHttp & { streams: OpenStreams } {
  const { api, policy } = deps;
  const heartbeatMs = deps.heartbeatMs ?? SSE_HEARTBEAT_MS;
  const streams = new OpenStreams();
  const guard = (request: Request, kind: 'read' | 'write') => originRefusal(policy, request, kind);

  async function learnerOf(request: Request): Promise<Learner | Response> {
    const learner = await deps.findLearner(learnerTokenFrom(request.headers.get('cookie')));
    return learner ?? refuse(401, 'NO_LEARNER', 'no learner session: open the lab page first');
  }

  const method = (request: Request, expected: 'GET' | 'POST') => methodRefusal(request, [expected]);

  return {
    ...createWorkshopHttp({
      ...deps.workshops,
      findLearner: (token) => deps.findLearner(token),
      policy,
      streams,
      heartbeatMs,
    }),

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
            headers: { 'Retry-After': '2' },
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
      const stream = eventStream({
        subscribe: (send) => {
          const unwatchTasks = api.watchTasks(labId, learner, (states) =>
            send({ event: 'tasks', data: states }),
          );
          const unwatchBroadcasts = api.watchBroadcasts(learner, (broadcast) =>
            send({ event: 'broadcast', data: broadcast }),
          );
          const unwatchRequests = api.watchControlRequests(learner, (controlRequest) =>
            send({ event: 'control-request', data: controlRequest }),
          );
          const unwatchYubikey = api.watchYubikey(learner, (status) =>
            send({ event: 'yubikey', data: status }),
          );
          return () => {
            unwatchTasks();
            unwatchBroadcasts();
            unwatchRequests();
            unwatchYubikey();
          };
        },
        opening: async () => {
          const events: StreamEvent[] = [{ event: 'tasks', data: await api.taskStates(labId, learner) }];
          // A page opened after the instructor spoke still shows what they said last.
          const broadcast = api.latestBroadcast(learner);
          if (broadcast !== undefined) events.push({ event: 'broadcast', data: broadcast });
          // A page reloaded while an instructor waits for an answer still asks it.
          const pending = api.pendingControlRequest(learner);
          if (pending !== undefined) events.push({ event: 'control-request', data: pending });
          events.push({ event: 'yubikey', data: api.yubikeyStatus(learner) });
          return events;
        },
        heartbeatMs,
        signal: request.signal,
        register: (ending) => streams.add(ending),
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
      const workshop = api.workshopOf(learner);
      return json(200, {
        username: learner.username,
        password: learner.password,
        ...(workshop !== undefined ? { workshop } : {}),
      });
    },

    async sessionYubikey(request) {
      const refused =
        methodRefusal(request, ['GET', 'POST']) ??
        guard(request, request.method === 'POST' ? 'write' : 'read');
      if (refused) return refused;
      const learner = await learnerOf(request);
      if (learner instanceof Response) return learner;
      if (request.method === 'GET') return json(200, { status: api.yubikeyStatus(learner) });
      try {
        return json(200, api.pairYubikey(learner));
      } catch (error) {
        if (error instanceof PlatformError && error.code === 'LOCAL_TOKEN') {
          return refuse(409, 'LOCAL_TOKEN', error.message);
        }
        if (error instanceof PlatformError && error.code === 'CLOSED') {
          return refuse(503, 'UNAVAILABLE', 'the lab server is stopping');
        }
        throw error;
      }
    },

    streams,
  };
}
